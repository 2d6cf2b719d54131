"""app/services/downloads.py in process: an attachment goes to the admin (a live session) and to the visitor of
its conversation — nobody else, and a wrong id, a stranger, an ended session all get the same nothing."""

from __future__ import annotations

import pytest

from tests import media_files
from tests.inprocess import migrated_settings, running_services
from tests.support import drop_database


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("downloads"))
    yield settings
    drop_database(settings.database_url)


async def test_the_admin_and_the_visitor_of_the_conversation_download_nobody_else(settings):
    async with running_services(settings) as s:
        thread, token = await s.conversations.start("Deniz", "en")
        _, stranger = await s.conversations.start("Ece", "en")
        stored = await s.attachments.accept(media_files.image("PNG"), "cat.png")
        message = await s.conversations.post(thread.id, "visitor", "", stored)
        assert message.attachment is not None
        public_id = message.attachment.public_id
        session = await s.auth.create_session("admin")

        mine = await s.downloads.find(public_id, admin_session=None, visitor_token=token)
        assert mine is not None and mine.path is not None and mine.path.read_bytes().startswith(b"\x89PNG")
        assert mine.view.file_name == "cat.png" and mine.url is None
        admin = await s.downloads.find(public_id, admin_session=session, visitor_token=None)
        assert admin is not None and admin.path == mine.path

        assert await s.downloads.find(public_id, admin_session=None, visitor_token=stranger) is None
        assert await s.downloads.find(public_id, admin_session=None, visitor_token=None) is None
        assert await s.downloads.find(public_id, admin_session="forged", visitor_token=None) is None
        assert await s.downloads.find("no-such-id", admin_session=session, visitor_token=token) is None
        await s.auth.end_session(session)
        assert await s.downloads.find(public_id, admin_session=session, visitor_token=None) is None
