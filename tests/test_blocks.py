"""Blocks (app/services/blocks.py) in process on a fixed clock: what a block refuses and until when, the durations
and ranges an agent may type, and that a block made in one process reaches another's memory."""

from __future__ import annotations

import pytest

from app.services.blocks import BlockRefused, Blocks, parse_duration, parse_network
from app.services.crypto import token_hash
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database

HOUR = 3600


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("blocks"))
    yield settings
    drop_database(settings.database_url)


def test_durations_and_networks():
    assert parse_duration("forever", 100.0) is None and parse_duration("", 100.0) is None
    assert parse_duration("24h", 100.0) == 100.0 + 24 * HOUR
    assert parse_duration("2w", 0.0) == 14 * 24 * HOUR
    for bad in ("0h", "5m", "400d", "soon", "-1d"):
        with pytest.raises(BlockRefused):
            parse_duration(bad, 0.0)
    assert parse_network(" 203.0.113.7 ") == ("ip", parse_network("203.0.113.7/32")[1])
    assert parse_network("203.0.113.9/24")[0] == "cidr" and str(parse_network("203.0.113.9/24")[1]) == "203.0.113.0/24"
    assert parse_network("2001:db8::/32")[0] == "cidr"
    for bad in ("", "example.com", "300.1.1.1", "10.0.0.0/33"):
        with pytest.raises(BlockRefused):
            parse_network(bad)


async def test_a_conversation_block_refuses_its_token_and_address_until_it_ends(settings):
    async with running_services(settings) as s:
        clock = Clock()
        blocks = Blocks(s.engine, s.conversations._cipher, s.broker, s.hub, clock)
        thread, token = await s.visitor_pages.start({"display_name": "Troll"}, "en", ip="198.51.100.23")
        _, other_token = await s.visitor_pages.start({"display_name": "Fine"}, "en", ip="192.0.2.1")
        assert not blocks.refuses(token_hash(token), "198.51.100.23")
        made = await blocks.block_conversation(thread.id, "spam\nlinks", "24h", actor="kim")
        assert {b.kind for b in made} == {"visitor", "ip"} and made[0].reason == "spam links"
        assert blocks.refuses(token_hash(token), "203.0.113.1")  # the cookie, from anywhere
        assert blocks.refuses(None, "198.51.100.23")  # the address, without the cookie
        assert not blocks.refuses(token_hash(other_token), "192.0.2.1")
        clock.now += 24 * HOUR + 1
        assert not blocks.refuses(token_hash(token), "198.51.100.23")  # over by itself
        await blocks.load()
        assert await blocks.active() == [] and not blocks.any
        with pytest.raises(BlockRefused):
            await blocks.block_conversation(999_999, "", "24h", actor="kim")


async def test_ranges_and_unblocking(settings):
    async with running_services(settings) as s:
        blocks = s.blocks
        made = await blocks.block_network("198.51.100.0/24", "abuse", "forever", actor="admin")
        assert blocks.refuses(None, "198.51.100.200") and not blocks.refuses(None, "198.51.101.1")
        assert not blocks.refuses(None, "not an address")
        await blocks.unblock(made.id, actor="admin")
        assert not blocks.refuses(None, "198.51.100.200")
        with pytest.raises(BlockRefused):
            await blocks.unblock(made.id, actor="admin")
