"""`sohbet telegram-test`: is the bot set up right? Token, chat, mode and webhook checked against the real Bot
API, then a test message sent. Each finding is one line; the token never appears in any of them."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.telegram.client import TelegramClient, TelegramError
from app.settings import Settings


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # OK | WARN | FAIL
    text: str

    def __str__(self) -> str:
        return f"{self.level:<4} {self.text}"


def _error(exc: TelegramError) -> str:
    return f"{exc.error_code or 'no answer'} {exc.description}".strip()


async def self_test(client: TelegramClient, settings: Settings, *, send: bool = True) -> list[Finding]:
    """The checks, through the app's own client (its HTTP connection opened here and closed after)."""
    await client.start()
    try:
        return await _checks(client, settings, send)
    finally:
        await client.close()


async def _checks(client: TelegramClient, settings: Settings, send: bool) -> list[Finding]:
    findings: list[Finding] = []
    try:
        me = await client.call("getMe")
        findings.append(Finding("OK", f"token accepted: bot @{me.get('username', '?')}"))
    except TelegramError as exc:
        findings.append(Finding("FAIL", f"TELEGRAM_BOT_TOKEN refused by Telegram ({_error(exc)})"))
        return findings
    try:
        chat = await client.call("getChat", chat_id=settings.telegram_chat_id)
        kind = chat.get("type", "?")
        title = chat.get("title") or chat.get("first_name") or ""
        forum = bool(chat.get("is_forum"))
        findings.append(
            Finding("OK", f"chat found: {kind} {title!r}" + (" (forum: one topic per conversation)" if forum else ""))
        )
        if forum:
            findings.append(Finding("OK", "the bot needs the 'Manage topics' admin right in this group"))
    except TelegramError as exc:
        findings.append(
            Finding(
                "FAIL",
                f"TELEGRAM_CHAT_ID {settings.telegram_chat_id!r} not reachable ({_error(exc)}); "
                "send the bot a message first, or add it to the group",
            )
        )
        return findings
    try:
        info = await client.call("getWebhookInfo")
        url = info.get("url", "") if isinstance(info, dict) else ""
        expected = f"{settings.public_url}/telegram/webhook"
        if settings.telegram_mode == "webhook":
            if url == expected:
                findings.append(Finding("OK", f"mode webhook: set to {url}"))
            elif not url:
                findings.append(Finding("WARN", "mode webhook: not set yet (the server sets it when it starts)"))
            else:
                findings.append(Finding("FAIL", f"mode webhook: points to {url}, expected {expected}"))
            if info.get("last_error_message"):
                findings.append(Finding("WARN", f"Telegram's last webhook error: {info['last_error_message']}"))
        elif url:
            findings.append(
                Finding("WARN", f"mode polling: a webhook is set ({url}); the server removes it when it polls")
            )
        else:
            findings.append(Finding("OK", "mode polling: no webhook set"))
    except TelegramError as exc:
        findings.append(Finding("FAIL", f"getWebhookInfo failed ({_error(exc)})"))
    if send:
        try:
            await client.call(
                "sendMessage",
                chat_id=settings.telegram_chat_id,
                text=f"✅ Sohbet test: this chat will receive visitor messages ({settings.telegram_mode} mode).",
            )
            findings.append(Finding("OK", "test message sent"))
        except TelegramError as exc:
            findings.append(Finding("FAIL", f"could not send a test message ({_error(exc)})"))
    return findings
