"""Transcripts (app/services/transcripts.py; SPEC §9, §14): the service in process (every message in order, no
agent notes, system lines translated, attachments as links, the ended page's one-hour token), then over HTTP on a
real server: GET /chat/transcript by cookie or token (text download, ?format=html), its refusals (400, 403, 410),
and GET /admin/threads/<id>/transcript for agents."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.clock import now
from app.models import Message
from app.services.crypto import Cipher, Signer
from app.services.transcripts import BATCH, TranscriptRefused
from tests import media_files
from tests.inprocess import migrated_settings, running_services
from tests.support import Browser, drop_database, find_thread, login_admin, start_visitor

# -- the service, in process -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = migrated_settings(tmp_path_factory.mktemp("transcripts"))
    yield settings
    drop_database(settings.database_url)


async def add_note(settings, conversation_id: int, seq: int, text: str) -> None:
    """An agent's private note as SPEC §10 stores it (sender "note"), written straight into the table."""
    body = Cipher(settings.encryption_keys).encrypt(text)
    await Message.insert(
        Message(conversation=conversation_id, seq=seq, sender="note", body=body, created_at=datetime.now(UTC))
    )


async def test_every_message_in_order_without_notes(settings):
    async with running_services(settings) as s:
        thread, token = await s.conversations.start("Ayşe <b>", "en")
        await s.conversations.post(thread.id, "visitor", "Hello, my order #12 & more")
        await s.conversations.post(thread.id, "admin", "See https://example.com/help?a=1&b=2")
        await s.conversations.post(thread.id, "admin", "Anything else?")
        await s.conversations.end(thread.id, "chat.closed_note")
        thread = await s.conversations.get(thread.id)
        await add_note(settings, thread.id, thread.last_seq + 1, "secret agent note")

        text = await s.transcripts.render(thread, "text", lang="en", base_url="https://chat.example.test")
        assert text.media_type.startswith("text/plain") and text.as_download
        assert text.filename == f"sohbet-transcript-{thread.id}.txt"
        body = text.body
        assert body.startswith("Sohbet\nConversation with Ayşe <b>\n")  # the default site name heads it
        order = [body.index(x) for x in ("Hello, my order #12 & more", "https://example.com/help?a=1&b=2", "Anything")]
        assert order == sorted(order)
        assert "Ayşe <b>:\nHello" in body and "Support:\nSee https" in body
        assert "secret agent note" not in body
        assert "&amp;" not in body and "&lt;" not in body  # plain text, not HTML
        assert re.search(r"\[\d{4}-\d\d-\d\d \d\d:\d\d\] \* ", body)  # the system line, translated below
        assert "chat.closed_note" not in body

        turkish = await s.transcripts.render(thread, "text", lang="tr", base_url="")
        assert turkish.body.startswith("Sohbet\nAyşe <b> ile sohbet") and "Destek:" in turkish.body

        html = await s.transcripts.render(thread, "html", lang="en", base_url="")
        assert html.media_type.startswith("text/html") and not html.as_download
        assert "Ayşe &lt;b&gt;" in html.body and "<b>" not in html.body.replace("<body", "")
        assert 'href="https://example.com/help?a=1&amp;b=2"' in html.body
        assert "secret agent note" not in html.body and "<script" not in html.body
        assert html.body.count('data-sender="visitor"') == 1 and html.body.count('data-sender="admin"') == 2

        by_cookie = await s.transcripts.for_visitor(token, None, "text", lang="en", base_url="")
        assert "Hello, my order #12 & more" in by_cookie.body and "secret agent note" not in by_cookie.body

        await s.agents.create("sam", "Sam Kaya", "agent")  # SPEC §8: the author's display name, as the visitor sees it
        other, _ = await s.conversations.start("Bora", "en")
        await s.conversations.post(other.id, "admin", "Old reply")
        await s.conversations.post(other.id, "admin", "Sam here", author="sam")
        authored = await s.transcripts.render(await s.conversations.get(other.id), "text", lang="en", base_url="")
        assert "Sam Kaya:\nSam here" in authored.body and "Support:\nOld reply" in authored.body

        await s.brand.workspace.save({"site_name": "Acme <Shop>"})  # SPEC §14: transcripts use the branding
        branded = await s.transcripts.render(thread, "text", lang="en", base_url="")
        assert branded.body.startswith("Acme <Shop>\nConversation with")
        page = await s.transcripts.render(thread, "html", lang="en", base_url="")
        assert "<title>Conversation with Ayşe &lt;b&gt; · Acme &lt;Shop&gt;</title>" in page.body
        await s.brand.workspace.save({"site_name": ""})


async def test_a_long_conversation_is_whole_and_attachments_are_links(settings):
    async with running_services(settings) as s:
        thread, _ = await s.conversations.start("Long", "en")
        for number in range(BATCH + 7):
            await s.conversations.post(thread.id, "visitor", f"line {number:04d}")
        staged = await s.messaging.send(thread.id, "admin", "the receipt", upload=PngUpload())
        assert staged.attachment is not None
        thread = await s.conversations.get(thread.id)
        body = (await s.transcripts.render(thread, "text", lang="en", base_url="https://chat.example.test/")).body
        lines = re.findall(r"line (\d{4})", body)
        assert lines == [f"{n:04d}" for n in range(BATCH + 7)]
        link = f"<https://chat.example.test/media/{staged.attachment.public_id}>"
        assert f"Image: receipt.png {link}\nthe receipt" in body
        html = (await s.transcripts.render(thread, "html", lang="en", base_url="")).body
        assert f'href="/media/{staged.attachment.public_id}"' in html


class PngUpload:
    filename = "receipt.png"

    async def read(self) -> bytes:
        return media_files.image("PNG")


async def test_tokens_formats_and_refusals(settings):
    async with running_services(settings) as s:
        thread, token = await s.conversations.start("Tokened", "en")
        await s.conversations.post(thread.id, "visitor", "keep this")
        link = s.transcripts.link_token(thread.id)
        assert "keep this" in (await s.transcripts.for_visitor(None, link, "text", lang="en", base_url="")).body

        signer = Signer(settings.secret_key, "transcript")
        cases = [
            (None, None, "text", 403, "transcript_forbidden"),  # no cookie, no token
            ("not-a-visitor-token", None, "text", 403, "transcript_forbidden"),
            (None, link + "0", "text", 403, "transcript_forbidden"),  # forged
            (None, signer.sign(f"{thread.id}-{int(now()) - 1}"), "text", 410, "transcript_expired"),
            (None, signer.sign(f"{thread.id + 10_000}-{int(now()) + 60}"), "text", 410, "transcript_gone"),
            (token, None, "pdf", 400, "transcript_format"),
            (None, link, "", 400, "transcript_format"),
        ]
        for cookie_token, link_token, fmt, status, code in cases:
            with pytest.raises(TranscriptRefused) as refused:
                await s.transcripts.for_visitor(cookie_token, link_token, fmt, lang="en", base_url="")
            assert (refused.value.status, refused.value.code) == (status, code), (cookie_token, link_token, fmt)
        with pytest.raises(TranscriptRefused) as missing:
            await s.transcripts.for_agent(thread.id + 10_000, "text", lang="en", base_url="")
        assert missing.value.status == 404


# -- over HTTP, on a real server ----------------------------------------------------------------------------------


def transcript_links(page: str) -> list[str]:
    return [x.replace("&amp;", "&") for x in re.findall(r'href="(/chat/transcript\?token=[^"]+)"', page)]


def test_the_visitor_downloads_by_cookie_and_after_ending_by_the_pages_link(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Downloader")
    visitor.post("/chat/messages", {"text": "my question <i>"})
    thread = find_thread(admin, "Downloader")
    admin.post(f"/admin/threads/{thread}/messages", {"text": "our answer"})

    text = visitor.get("/chat/transcript")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert text.headers["content-disposition"] == f'attachment; filename="sohbet-transcript-{thread}.txt"'
    assert text.headers["cache-control"] == "no-store"
    assert "Downloader:\nmy question <i>" in text.text and "Support:\nour answer" in text.text
    html = visitor.get("/chat/transcript?format=html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "my question &lt;i&gt;" in html.text and "content-security-policy" in html.headers
    assert visitor.get("/chat/transcript?format=xml").status_code == 400
    stranger = Browser(server.url)
    refused = stranger.get("/chat/transcript")
    assert refused.status_code == 403 and "no conversation" in refused.text and "<html" in refused.text
    assert stranger.get("/chat/transcript?token=12-99999999999.forged").status_code == 403

    ended = visitor.post("/chat/end", {"confirm": "yes"})
    links = transcript_links(ended.text)
    assert len(links) == 2 and links[1] == links[0] + "&format=html", links
    assert "These links work for one hour." in ended.text
    assert visitor.get("/chat/transcript").status_code == 403  # the cookie is revoked...
    by_link = visitor.get(links[0])  # ...the link still reads it
    assert by_link.status_code == 200 and "my question <i>" in by_link.text and "The visitor ended" in by_link.text
    assert Browser(server.url).get(links[1]).status_code == 200  # the link alone is enough (no cookie)
    assert "our answer" in Browser(server.url).get(links[1]).text

    expired = Signer("test-secret-" + "x" * 40, "transcript").sign(f"{thread}-{int(now()) - 5}")
    gone = visitor.get(f"/chat/transcript?token={expired}")
    assert gone.status_code == 410 and "expired" in gone.text


def test_a_deleted_conversation_is_gone_and_agents_read_any_conversation(make_server):
    server = make_server("transcripts-gone")
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Erased")
    visitor.post("/chat/messages", {"text": "soon gone"})
    upload = visitor.post("/chat/messages", {"text": "a photo"}, files={"file": ("p.png", media_files.image("PNG"))})
    assert upload.status_code == 303
    thread = find_thread(admin, "Erased")

    agent = admin.get(f"/admin/threads/{thread}/transcript")
    assert agent.status_code == 200 and "Erased:\nsoon gone" in agent.text
    media = re.search(r"<(http://[^>]+/media/[^>]+)>", agent.text)
    assert media, agent.text
    path = "/media/" + media.group(1).rsplit("/media/", 1)[1]
    assert visitor.get(path).status_code == 200  # the link keeps the access check
    assert start_visitor(server.url, "Other").get(path).status_code == 404
    assert admin.get(f"/admin/threads/{thread}/transcript?format=html").text.count('data-sender="visitor"') == 2
    assert admin.get(f"/admin/threads/{thread}/transcript?format=doc").status_code == 400
    assert admin.get("/admin/threads/999999/transcript").status_code == 404
    assert f'href="/admin/threads/{thread}/transcript"' in admin.get(f"/admin/threads/{thread}").text
    outsider = visitor.get(f"/admin/threads/{thread}/transcript")
    assert outsider.status_code == 303 and outsider.headers["location"] == "/login"

    ended = visitor.post("/chat/end", {"confirm": "yes"})
    link = transcript_links(ended.text)[0]
    assert admin.post("/admin/clear-all", {"confirm": "yes"}).status_code == 303
    gone = Browser(server.url).get(link)
    assert gone.status_code == 410 and "deleted" in gone.text
