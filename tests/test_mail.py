"""Mail delivery (SPEC §9) against a real SMTP server on loopback (tests/fakes/smtp.py): the outbox sends in order,
keeps a temporarily refused mail and sends it once later, sets a permanently refused one aside (visible in /health)
and still sends the rest, and a hostile name or subject cannot add a header. `sohbet mail-test` in a subprocess."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from app.models import MailOutbox as OutboxRow
from app.models.db import write_transaction
from app.services.mail import address, compose
from app.wiring import Services
from tests.fakes.smtp import FakeSmtp
from tests.inprocess import migrated_settings, running_services
from tests.support import base_env, drop_database, sohbet

FROM = "Sohbet Support <chat@example.com>"


@pytest.fixture(scope="module")
def smtp():
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def settings(tmp_path_factory, smtp):
    settings = migrated_settings(tmp_path_factory.mktemp("mail"), SMTP_URL=smtp.url, MAIL_FROM=FROM)
    yield dataclasses.replace(settings, smtp_timeout_seconds=1.0, mail_retry_seconds=(1,))
    drop_database(settings.database_url)


@pytest.fixture
async def services(settings, smtp):
    smtp.clear()
    smtp.raw.clear()
    async with running_services(settings) as s:
        await OutboxRow.delete(force=True)
        yield s


async def eventually(check, timeout: float = 5.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


async def queue(
    s: Services, subject: str, to: str = "visitor@example.com", name: str = "Ayşe", site: str = "Sohbet"
) -> int:
    t = {"mail.test.body": "Hello"}.get
    message = compose(
        s.jinja,
        "test",
        {"t": t, "lang": "en", "site_name": site, "subject": subject},
        mail_from=s.settings.mail_from,
        to=address(to, name),
        subject=subject,
    )
    async with write_transaction(s.engine):
        return await s.mail.queue(message, kind="test")


async def test_the_outbox_sends_in_order_once(services, smtp):
    for n in range(3):
        await queue(services, f"Mail {n}")
    assert await services.mail.send_pending() == services.mail.IDLE_SECONDS
    assert [m["Subject"] for m in smtp.messages] == ["Mail 0", "Mail 1", "Mail 2"]
    assert smtp.envelopes[0] == ("chat@example.com", ["visitor@example.com"])
    assert await services.mail.send_pending() == services.mail.IDLE_SECONDS and len(smtp.raw) == 3
    assert (await services.health.report()).checks["mail"]["status"] == "ok"
    sent = smtp.messages[0]
    assert sent.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in sent.iter_parts()] == ["text/plain", "text/html"]


async def test_a_queued_row_is_encrypted_at_rest(services):
    await queue(services, "Secret subject", to="hidden@example.com")
    raw = await OutboxRow.raw("SELECT recipient, body FROM mail_outbox")
    assert "hidden@example.com" not in str(raw) and "Secret subject" not in str(raw)


async def test_a_temporary_failure_is_retried_and_delivered_once(services, smtp):
    smtp.fail(451, times=1)
    await queue(services, "Later")
    wait = await services.mail.send_pending()
    assert 0 < wait <= 1 and smtp.raw == []
    mail = (await services.health.report()).checks["mail"]
    assert mail["status"] == "failing" and mail["failing"] == 1 and mail["last_error"].startswith("451")
    assert await services.mail.send_pending() > 0 and smtp.raw == []  # not due yet: nothing sent
    await asyncio.sleep(wait + 0.05)
    await services.mail.send_pending()
    assert [m["Subject"] for m in smtp.messages] == ["Later"]
    assert (await services.health.report()).checks["mail"]["status"] == "ok"


async def test_a_permanent_refusal_is_set_aside_and_the_rest_still_go(services, smtp):
    smtp.refuse(550, "5.1.1 <nobody@example.com>: No such user", when="nobody@example.com")
    await queue(services, "Bounce", to="nobody@example.com")
    await queue(services, "Fine")
    await services.mail.send_pending()
    assert [m["Subject"] for m in smtp.messages] == ["Fine"]
    report = await services.health.report()
    assert report.status == "degraded"
    assert report.checks["mail"]["failed"] == 1 and report.checks["mail"]["status"] == "failing"
    assert report.checks["mail"]["last_error"] == "550 5.1.1 <[address]>: No such user"  # no address in sight
    rows = await OutboxRow.select(OutboxRow.failed_at, OutboxRow.sent).order_by(OutboxRow.id)
    assert rows[0]["failed_at"] is not None and rows[1]["sent"] is True


async def test_a_hanging_server_times_out_and_the_mail_waits(services, smtp):
    smtp.hang()
    await queue(services, "Patient")
    wait = await services.mail.send_pending()
    assert wait > 0 and smtp.raw == []
    smtp.release()
    row = await OutboxRow.select().first()
    assert row["attempts"] == 1 and not row["sent"] and "Timeout" in row["last_error"]
    await asyncio.sleep(wait + 0.05)
    await services.mail.send_pending()
    assert [m["Subject"] for m in smtp.messages] == ["Patient"]


async def test_hostile_names_and_subjects_cannot_add_headers(services, smtp):
    await queue(
        services,
        "Hi\r\nBcc: victim@example.com\nX-Injected: yes",
        name='Eve\r\nBcc: victim@example.com\r\n\r\n<script>alert(1)</script>"',
        site='<img src="https://tracker.example/x.png"> & co',
    )
    await services.mail.send_pending()
    (sent,) = smtp.messages
    assert smtp.envelopes[0][1] == ["visitor@example.com"]
    assert sent["Bcc"] is None and sent["X-Injected"] is None
    assert "\n" not in sent["Subject"] and sent["Subject"].startswith("Hi Bcc: victim@example.com X-Injected")
    assert sent["To"].addresses[0].addr_spec == "visitor@example.com"
    text_part, html_part = [part.get_content() for part in sent.iter_parts()]
    assert '<img src="https://tracker.example/x.png"> & co' in text_part  # plain text: as written
    assert "<img" not in html_part and "&lt;img src=&#34;https://tracker.example/x.png&#34;&gt; &amp; co" in html_part
    head = smtp.raw[0].split(b"\r\n\r\n", 1)[0]
    assert not [line for line in head.split(b"\r\n") if line.lower().startswith((b"bcc:", b"x-injected:"))]


async def test_health_says_not_configured_without_smtp(settings):
    async with running_services(dataclasses.replace(settings, smtp=None)) as s:
        assert (await s.health.report()).checks["mail"] == "not configured"
        assert s.mail not in s.workers


def test_mail_test_command_sends_or_says_why_not(smtp, tmp_path):
    smtp.clear()
    smtp.raw.clear()
    env = {**base_env(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}"), "SMTP_URL": smtp.url, "MAIL_FROM": FROM}
    done = sohbet(env, "mail-test", "ops@example.com")
    assert done.returncode == 0, done.stderr
    assert [m["To"] for m in smtp.messages] == ["ops@example.com"]
    smtp.refuse(554, "5.7.1 Relay access denied")
    refused = sohbet(env, "mail-test", "ops@example.com")
    assert refused.returncode == 1 and "554 5.7.1 Relay access denied" in refused.stderr
    smtp.clear()
    assert sohbet(env, "mail-test", "not an address").returncode == 1
    secret = {**env, "SMTP_URL": f"smtp://mailer:Hunter2secret@127.0.0.1:{smtp.port}"}  # the fake offers no AUTH
    refused = sohbet(secret, "mail-test", "ops@example.com")
    assert refused.returncode == 1 and "Hunter2secret" not in refused.stdout + refused.stderr


async def test_rotate_keys_re_encrypts_the_visitor_email_and_the_outbox(services):
    from cryptography.fernet import Fernet

    from app.models import Conversation
    from app.services.keys import rotate_keys
    from tests.inprocess import bindings_kept

    conversation, _ = await services.visitor_pages.start(
        {"display_name": "Rotated", "email": "rotated@example.com"}, "en"
    )
    await queue(services, "Rotated mail", to="rotated@example.com")
    new_key = Fernet.generate_key().decode()
    rotated = dataclasses.replace(services.settings, encryption_keys=(new_key, *services.settings.encryption_keys))
    with bindings_kept():
        result = await rotate_keys(rotated, report=lambda line: None, warn=lambda line: None)
    assert result.ok
    fernet = Fernet(new_key.encode())
    row = await Conversation.select(Conversation.email).where(Conversation.id == conversation.id).first()
    assert "rotated@example.com" not in row["email"]
    assert fernet.decrypt(row["email"].encode()).decode() == "rotated@example.com"
    outbox = await OutboxRow.select(OutboxRow.recipient, OutboxRow.body).first()
    assert "rotated@example.com" in fernet.decrypt(outbox["recipient"].encode()).decode()
    fernet.decrypt(outbox["body"].encode())


async def test_ask_email_follows_the_setting_and_whether_support_is_online(services):
    from app.services.visitor_email import VisitorEmails

    presence = services.presence
    cipher = services.conversations._cipher
    conversation, _ = await services.visitor_pages.start({"display_name": "Asked"}, "en")
    with_email, _ = await services.visitor_pages.start({"display_name": "Has one", "email": "has@example.com"}, "en")
    emails = {mode: VisitorEmails(services.engine, cipher, presence, mode) for mode in ("never", "always", "away")}
    assert not await emails["never"].asks(conversation)
    assert await emails["always"].asks(conversation) and not await emails["always"].asks(with_email)
    assert await emails["away"].asks(conversation)  # nobody has the dashboard open
    from app.services.presence import ADMIN

    await presence.enter(ADMIN)  # an agent's dashboard stream opens: support is online
    try:
        assert await eventually(lambda: presence.is_online(ADMIN))
        assert not await emails["away"].asks(conversation) and await emails["always"].asks(conversation)
    finally:
        await presence.leave(ADMIN)
    assert with_email.email == "has@example.com"


async def test_health_warns_when_mail_links_have_no_public_url(settings):
    """SMTP_URL without PUBLIC_URL: checks.mail carries the warning (links in mail need PUBLIC_URL)."""
    async with running_services(dataclasses.replace(settings, public_url="")) as s:
        assert "PUBLIC_URL" in (await s.health.report()).checks["mail"]["warning"]
    async with running_services(dataclasses.replace(settings, public_url="https://chat.example.com")) as s:
        assert "warning" not in (await s.health.report()).checks["mail"]
