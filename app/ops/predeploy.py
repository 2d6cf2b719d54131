"""`sohbet predeploy`, the pre-deploy command: check-env, migrate, security-check (production only), a database
round-trip; one PASS/FAIL/SKIP line per step, stopping at the first failure."""

from __future__ import annotations

import asyncio
import contextlib
import io
import secrets
import time

from app.clock import now
from app.models import Conversation, KeyValue
from app.models.db import bind_tables, close_engine, make_engine, migrate, open_engine
from app.ops.check_env import check_env, scrub_password
from app.ops.findings import FAIL, PASS, WARN, Report, failed
from app.ops.security_audit import security_audit
from app.settings import Settings, SettingsError


async def database_round_trip(settings: Settings) -> str:
    """Write a row, read it back and delete it (key_value), and read the conversation table."""
    engine = make_engine(settings.database_url)
    bind_tables(engine)
    await open_engine(engine, pool_size=1)
    started = time.monotonic()
    key = f"sohbet:predeploy:{secrets.token_hex(8)}"
    value = secrets.token_bytes(16)
    try:
        async with asyncio.timeout(30):
            await KeyValue.insert(KeyValue(key=key, value=value, expires_at=now() + 60))
            try:
                row = await KeyValue.select(KeyValue.value).where(KeyValue.key == key).first()
            finally:
                await KeyValue.delete().where(KeyValue.key == key)
            if row is None or bytes(row["value"]) != value:
                raise RuntimeError("the row written was not read back")
            conversations = await Conversation.count()
    finally:
        await close_engine(engine)
    took = round((time.monotonic() - started) * 1000)
    return f"wrote, read back and deleted a key_value row; {conversations} conversation(s) ({took} ms)"


def predeploy(report: Report, environ: dict[str, str] | None = None) -> int:
    """check-env (a FAIL stops), migrate, security-check (production only; a FAIL stops), database round-trip.
    Returns the exit status: 0 all passed, 2 a malformed setting, 1 any other failure."""

    def step(level: str, name: str, text: str) -> None:
        report(f"{level:<4} {name}" + (f": {text}" if text else ""))

    try:
        env_report = asyncio.run(check_env(environ))
    except SettingsError as exc:
        step(FAIL, "check-env", f"configuration error: {exc}")
        report("predeploy: stopped at check-env")
        return 2
    for finding in env_report.findings:
        if finding.level in (WARN, FAIL):
            report(f"    {finding}")
    problems = failed(env_report.findings)
    if problems:
        step(FAIL, "check-env", f"{len(problems)} problem(s): " + ", ".join(f.check for f in problems))
        report("predeploy: stopped at check-env")
        return 1
    warnings = sum(1 for f in env_report.findings if f.level == WARN)
    step(PASS, "check-env", f"{warnings} warning(s)" if warnings else "")
    settings = env_report.settings

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            messages = asyncio.run(migrate(settings.database_url))
    except Exception as exc:
        for line in printed.getvalue().splitlines():
            report(f"    {line}")
        step(FAIL, "migrate", scrub_password(f"{type(exc).__name__}: {exc}", settings)[:500])
        report("predeploy: stopped at migrate")
        return 1
    step(PASS, "migrate", "; ".join(m.strip() for m in messages if m.strip()))

    if settings.is_production:
        findings = security_audit(settings)
        for finding in findings:
            if finding.level in (WARN, FAIL):
                report(f"    {finding}")
        problems = failed(findings)
        if problems:
            step(FAIL, "security-check", f"{len(problems)} finding(s): " + ", ".join(f.check for f in problems))
            report("predeploy: stopped at security-check")
            return 1
        step(PASS, "security-check", "")
    else:
        step("SKIP", "security-check", "development (it runs in production only)")

    try:
        text = asyncio.run(database_round_trip(settings))
    except Exception as exc:
        step(FAIL, "database round-trip", scrub_password(f"{type(exc).__name__}: {exc}", settings)[:500])
        report("predeploy: stopped at the database round-trip")
        return 1
    step(PASS, "database round-trip", text)
    report("predeploy: ready")
    return 0
