"""The `sohbet` command: serve, migrate, genkey, hash-password, telegram-test, mail-test, rotate-keys, backup, restore,
check-env, security-check, cleanup, healthcheck, predeploy, agent (app/ops/agents.py), reindex (app/ops/reindex.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from typing import Any

from app.ops import agents as agents_cli
from app.ops import reindex as reindex_cli
from app.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        sys.stderr.write(f"sohbet: configuration error: {error}\n")
        raise SystemExit(2) from error


def cmd_migrate(_: argparse.Namespace) -> int:
    from app.models.db import migrate

    settings = _settings()
    for line in asyncio.run(migrate(settings.database_url)):
        print(f"database: {line}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.logs import configure_logging, startup_banner
    from app.models.db import migrate
    from app.server import uvicorn_options

    if args.forwarded_allow_ips is not None:
        os.environ["FORWARDED_ALLOW_IPS"] = args.forwarded_allow_ips  # every worker's app reads it from here
    settings = _settings()
    host = args.host or settings.host
    port = args.port or settings.port
    database = "migrations skipped (--no-migrate)"
    if not args.no_migrate:
        database = "; ".join(asyncio.run(migrate(settings.database_url)))
    if settings.is_postgres is False and args.workers > 1:
        sys.stderr.write("sohbet: SQLite runs in one process; use PostgreSQL for --workers > 1\n")
        return 2
    sys.stdout.write(startup_banner(settings, host, port, database))
    sys.stdout.flush()
    configure_logging(settings.log_level)  # this process's own lines; each worker's app_factory does the same
    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        access_log=False,
        server_header=False,  # bytes on every response, and it names the software
        log_level="info",  # start-up and shutdown lines; no access log
        **uvicorn_options(settings),  # proxy headers (ours), connection limit, header and shutdown timeouts
    )
    return 0


def cmd_genkey(_: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def cmd_hash_password(args: argparse.Namespace) -> int:
    import getpass

    from app.services.auth import hash_password

    password = args.password or getpass.getpass("Password: ")
    if len(password) < 12:
        sys.stderr.write("sohbet: use at least 12 characters\n")
        return 2
    print(hash_password(password))
    return 0


def cmd_telegram_test(args: argparse.Namespace) -> int:
    from app.services.telegram.diagnostics import self_test
    from app.wiring import build_services

    settings = _settings()
    telegram = build_services(settings).telegram if settings.telegram_configured else None
    if telegram is None:
        sys.stderr.write("sohbet: Telegram is not configured: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID\n")
        return 2
    findings = asyncio.run(self_test(telegram.client, settings, send=not args.no_send))
    for finding in findings:
        print(finding)
    failed = [f for f in findings if f.level == "FAIL"]
    print("Telegram: " + (f"{len(failed)} problem(s)" if failed else "ready"))
    return 1 if failed else 0


def cmd_mail_test(args: argparse.Namespace) -> int:
    from app.services.mail.diagnostics import send_test_mail

    problem = asyncio.run(send_test_mail(settings := _settings(), args.address))
    print(f"Mail: sent a test mail to {args.address} through {settings.smtp}") if not problem else None
    _complain(f"sohbet: mail-test: {problem}") if problem else None
    return 1 if problem else 0


def _say(line: str) -> None:
    print(line, flush=True)


def _complain(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _number(kind: Callable[[str], float], ok: Callable[[float], bool], expected: str) -> Callable[[str], float]:
    """An argparse type: `kind(value)` for which `ok` holds, else a usage error saying what was `expected`."""

    def parse(value: str) -> float:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}") from None
        if not ok(number):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}")
        return number

    return parse


_positive_int = _number(int, lambda n: n >= 1, "a whole number of at least 1")
_seconds = _number(float, lambda s: 0 <= s <= 60, "seconds between 0 and 60")
_timeout = _number(float, lambda s: 0 < s <= 300, "seconds above 0 and at most 300")


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    from app.services.keys import RotationError, rotate_keys

    settings = _settings()
    try:
        result = asyncio.run(
            rotate_keys(settings, batch_size=args.batch_size, pause=args.pause, report=_say, warn=_complain)
        )
    except RotationError as error:
        _complain(f"sohbet: rotate-keys: {error}")
        return 1
    _say(
        f"rotate-keys: done: {result.rotated} values re-encrypted under the first key, {result.already} already "
        f"were ({result.checked} checked)"
    )
    if result.unreadable:
        rows = ", ".join(f"{label} id={row_id}" for label, row_id in result.unreadable[:10])
        more = f" and {len(result.unreadable) - 10} more" if len(result.unreadable) > 10 else ""
        _complain(
            f"sohbet: rotate-keys: {len(result.unreadable)} value(s) could not be decrypted with any configured key "
            f"({rows}{more}); every other value was rotated"
        )
    if result.conflicts:
        rows = ", ".join(f"{label} id={row_id}" for label, row_id in result.conflicts[:10])
        _complain(f"sohbet: rotate-keys: rows kept changing while rotating ({rows}); run rotate-keys again")
    return 0 if result.ok else 1


def _archive_job(command: str, job: Any, args: argparse.Namespace) -> tuple[Any, str] | None:
    """Run `create_backup` or `restore_backup` on FILE: (its summary, the rows per table as text), or None once
    the refusal or failure is said."""
    from pathlib import Path

    from app.backup.format import BackupError

    settings = _settings()
    try:
        summary = asyncio.run(job(settings, Path(args.file), force=args.force, report=_say, warn=_complain))
    except BackupError as error:
        _complain(f"sohbet: {command}: {error}")
        return None
    return summary, ", ".join(f"{name}: {count}" for name, count in summary.rows.items())


def cmd_backup(args: argparse.Namespace) -> int:
    from app.backup.dump import create_backup

    done = _archive_job("backup", create_backup, args)
    if done is None:
        return 1
    summary, rows = done
    _say(f"backup: wrote {summary.path} ({summary.size} bytes; rows: {rows}; attachment files: {summary.files})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from app.backup.restore import restore_backup

    done = _archive_job("restore", restore_backup, args)
    if done is None:
        return 1
    summary, rows = done
    made = f"made {summary.manifest.get('created_at')} by Sohbet {summary.manifest.get('app_version')}"
    replaced = " (the previous data was replaced)" if summary.replaced else ""
    _say(f"restore: done{replaced}: {args.file} ({made}); rows: {rows}; attachment files: {summary.files}")
    return 0


def cmd_check_env(args: argparse.Namespace) -> int:
    from app.ops.check_env import check_env
    from app.ops.findings import WARN, failed

    try:
        report = asyncio.run(check_env(db_seconds=args.db_timeout))
    except SettingsError as error:
        _complain(f"sohbet: configuration error: {error}")
        return 2
    settings = report.settings
    _say(f"check-env: {settings.environment} settings (secrets shown only as set/length)")
    width = max(len(name) for name, _ in report.values)
    for name, value in report.values:
        _say(f"  {name:<{width}}  {value}")
    for finding in report.findings:
        _say(str(finding))
    problems = failed(report.findings)
    warnings = sum(1 for finding in report.findings if finding.level == WARN)
    if problems:
        _say(f"check-env: {len(problems)} error(s), {warnings} warning(s)")
        return 1
    _say(f"check-env: ok ({warnings} warning(s))")
    return 0


def cmd_security_check(_: argparse.Namespace) -> int:
    from app.ops.findings import failed
    from app.ops.security_audit import security_audit
    from app.ops.settings_report import configured_settings

    try:
        settings = configured_settings()
    except SettingsError as error:
        _complain(f"sohbet: configuration error: {error}")
        return 2
    findings = security_audit(settings)
    for finding in findings:
        _say(str(finding))
    problems = failed(findings)
    _say(f"security-check: {len(problems)} finding(s)" if problems else "security-check: no findings")
    return 1 if problems else 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    from app.ops.cleanup import CLEANUP_KINDS, CleanupError, cleanup
    from app.ops.findings import mask_url

    settings = _settings()
    try:
        report = asyncio.run(cleanup(settings, dry_run=args.dry_run))
    except CleanupError as error:
        _complain(f"sohbet: cleanup: {error}")
        return 1
    except Exception as error:  # the database is away or not migrated: one clear line, no traceback
        reason = mask_url(settings.database_url)
        _complain(f"sohbet: cleanup: failed ({type(error).__name__}: {str(error)[:300]}) on {reason}")
        return 1
    _say("cleanup: dry run, nothing deleted; would delete:" if report.dry_run else "cleanup: deleted:")
    for kind, count in report.counts.items():
        _say(f"  {kind}: {count} - {CLEANUP_KINDS[kind]}")
    for note in report.notes:
        _say(f"cleanup: note: {note}")
    for failure in report.failures:
        _complain(f"sohbet: cleanup: could not delete {failure}")
    _say(f"cleanup: {'would delete' if report.dry_run else 'deleted'} {report.total} in all")
    return 1 if report.failures else 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    from app.ops.healthcheck import BadURL, healthcheck
    from app.settings import ENV_NAMES

    try:
        # METRICS_TOKEN from the environment, when set, shows the details from another host too.
        token = os.environ.get(ENV_NAMES["metrics_token"], "").strip()
        result = healthcheck(args.url, timeout=args.timeout, ready=args.ready, token=token)
    except BadURL as error:
        _complain(f"sohbet: healthcheck: {error}")
        return 2
    for line in result.lines:
        _say(line)
    return result.exit_code


def cmd_predeploy(_: argparse.Namespace) -> int:
    from app.ops.predeploy import predeploy

    return predeploy(_say)


def _command(
    commands: Any,
    name: str,
    func: Callable[[argparse.Namespace], int],
    help: str,
    description: str = "",
    *,
    wrap: bool = False,
) -> argparse.ArgumentParser:
    """A subcommand running `func`; its `description` keeps its line breaks unless `wrap`."""
    options: dict[str, Any] = {"help": help}
    if description:
        options["description"] = description
        if not wrap:
            options["formatter_class"] = argparse.RawDescriptionHelpFormatter
    parser: argparse.ArgumentParser = commands.add_parser(name, **options)
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sohbet", description="Sohbet live chat")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(commands, "serve", cmd_serve, help="run migrations, then serve HTTP with uvicorn")
    serve.add_argument("--host", help="address to bind (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL only for > 1)")
    serve.add_argument("--no-migrate", action="store_true", help="skip migrations (run `sohbet migrate` first)")
    serve.add_argument(
        "--forwarded-allow-ips",
        help="proxies whose X-Forwarded-For is believed: IPs, CIDR networks or * (default: FORWARDED_ALLOW_IPS)",
    )

    _command(commands, "migrate", cmd_migrate, help="apply database migrations")
    _command(commands, "genkey", cmd_genkey, help="print a new Fernet key for ENCRYPTION_KEYS")
    hashpw = _command(commands, "hash-password", cmd_hash_password, help="print an ADMIN_PASSWORD_HASH for a password")
    hashpw.add_argument("--password", help="the password (prompted when omitted)")

    mail_test = _command(commands, "mail-test", cmd_mail_test, help="send a test mail via SMTP_URL (exit 1: refused)")
    mail_test.add_argument("address", help="where the test mail goes")

    telegram_test = _command(
        commands,
        "telegram-test",
        cmd_telegram_test,
        help="check the Telegram bot: token, chat, mode and webhook, then send a test message",
        description="Checks TELEGRAM_BOT_TOKEN (getMe), TELEGRAM_CHAT_ID (getChat), TELEGRAM_MODE and the webhook "
        "against the Bot API, then sends a test message to the chat. Exits 1 when something is wrong, 2 when "
        "Telegram is not configured.",
        wrap=True,
    )
    telegram_test.add_argument("--no-send", action="store_true", help="check only; send no test message")

    rotate = _command(
        commands,
        "rotate-keys",
        cmd_rotate_keys,
        help="re-encrypt every stored message under the first ENCRYPTION_KEYS key",
        description="Re-encrypts every encrypted value (message bodies, conversation previews) under the FIRST key\n"
        "of ENCRYPTION_KEYS, so that an older key can then be removed from the list.\n\n"
        "  1. put the new key first: ENCRYPTION_KEYS=NEW,OLD (make one with `sohbet genkey`), restart the servers\n"
        "  2. run `sohbet rotate-keys` (safe while the servers run; batch by batch, short transactions)\n"
        "  3. remove OLD from ENCRYPTION_KEYS and restart the servers\n\n"
        "Interrupted? Run it again: values already under the first key are skipped. A value that no configured\n"
        "key decrypts is reported by table and row id (never its content), every other value is still rotated,\n"
        "and the command exits 1.",
    )
    rotate.add_argument(
        "--batch-size", type=_positive_int, default=500, metavar="N", help="rows per transaction (default: 500)"
    )
    rotate.add_argument(
        "--pause",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="sleep between batches, to leave room for a busy live server (default: 0)",
    )

    backup = _command(
        commands,
        "backup",
        cmd_backup,
        help="write a portable backup (database + local attachment files) to FILE",
        description="Writes one zip file holding every conversation, message and attachment (with its file when\n"
        "it is stored on local disk; Cloudinary files stay at Cloudinary) and the Telegram state, as JSON lines\n"
        "with a checksummed manifest. It restores into SQLite or PostgreSQL (`sohbet restore FILE`).\n"
        "Admin sessions, rate limits and presence are not kept. Messages stay encrypted: keep ENCRYPTION_KEYS\n"
        "(and SECRET_KEY, which signs the visitors' cookies) to restore it.\n"
        "Safe while the servers run (one consistent snapshot); FILE appears only once complete.",
    )
    backup.add_argument("file", metavar="FILE", help="where to write the backup (e.g. sohbet-2026-01-31.zip)")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")

    restore = _command(
        commands,
        "restore",
        cmd_restore,
        help="load a backup made by `sohbet backup` into the configured database",
        description="Checks the whole backup first (manifest, checksums, every row, and that the configured\n"
        "ENCRYPTION_KEYS decrypt its messages) and writes nothing if anything is wrong. Then runs the\n"
        "migrations, copies the attachment files into UPLOAD_DIR and inserts every row, ids kept, in one\n"
        "transaction: on any failure nothing is restored. Refuses a database that already holds data\n"
        "(conversations, messages, ...) unless --force. Stop the servers of the target database first.",
    )
    restore.add_argument("file", metavar="FILE", help="a backup written by `sohbet backup`")
    restore.add_argument(
        "--force", action="store_true", help="replace the data of a non-empty database (sessions are kept)"
    )
    check_env = _command(
        commands,
        "check-env",
        cmd_check_env,
        help="print every setting (secrets masked) and check the configuration, database and directories",
        description="Builds the settings from the environment (and .env) as the server does and prints each one\n"
        "with its effective value (secrets only as 'set (N characters)'). Then checks: weak or missing secrets\n"
        "(errors in production, warnings in development, where missing ones are generated), DATABASE_URL\n"
        "(connect and SELECT 1, within --db-timeout), DATA_DIR and UPLOAD_DIR writable, Telegram and\n"
        "Cloudinary configured or not (neither is contacted: see `sohbet telegram-test`).\n\n"
        "Exit status: 0 no errors (warnings allowed), 1 errors, 2 a malformed setting.",
    )
    check_env.add_argument(
        "--db-timeout",
        type=_timeout,
        default=5.0,
        metavar="SECONDS",
        help="how long to wait for the database (default: 5)",
    )

    _command(
        commands,
        "security-check",
        cmd_security_check,
        help="audit the configuration for production; exits 1 on any finding",
        description="A configuration audit, one PASS/WARN/FAIL line per check with how to fix it: ENVIRONMENT is\n"
        "production; secrets are strong; PUBLIC_URL is https; cookies are Secure, HttpOnly and SameSite as the\n"
        "app sets them; the Content-Security-Policy the app sends is strict (frame-ancestors: 'self' and https\n"
        "EMBED_ORIGINS only); HSTS is on; Litestar debug is off; rate limits are sane (WARN above\n"
        "10000/minute); login codes have a channel (Telegram); METRICS_TOKEN, when set, is strong.\n"
        "Nothing is contacted (no database, no Telegram).\n\n"
        "Exit status: 0 no FAIL (WARN lines are advice), 1 any FAIL, 2 a malformed setting.",
    )

    cleanup = _command(
        commands,
        "cleanup",
        cmd_cleanup,
        help="one round of housekeeping: retention, expired sessions and keys, old Telegram rows, orphan files",
        description="Deletes, once: messages and idle conversations older than MESSAGE_RETENTION (when set) and\n"
        "API uploads never sent after a day (as the servers' own retention does); expired admin sessions and\n"
        "old login attempts; expired rate-limit keys; telegram_update rows older than 30 days (the newest is\n"
        "always kept: the poller's offset comes from it); delivered telegram_outbox rows older than 30 days;\n"
        "the due entries of the file-deletion queue; files in UPLOAD_DIR that no attachment refers to and that\n"
        "are over an hour old (names starting with '.' are never touched). Prints a count per kind.\n"
        "Safe while the servers run; meant for cron.\n\n"
        "Exit status: 0 done, 1 the database is unreachable or a file could not be deleted.",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")

    healthcheck = _command(
        commands,
        "healthcheck",
        cmd_healthcheck,
        help="GET URL/health of a running server (for container HEALTHCHECK and cron)",
        description="Requests URL/health (or URL/health/ready with --ready) and prints the status and a short\n"
        "summary of its checks; degraded checks are listed.\n\n"
        "Exit status: 0 ok or degraded, 1 unavailable, an HTTP error, refused or timed out, 2 a bad URL.\n"
        "Example: HEALTHCHECK CMD sohbet healthcheck http://127.0.0.1:8000 --ready",
    )
    healthcheck.add_argument("url", metavar="URL", help="the server's base URL, e.g. http://127.0.0.1:8000")
    healthcheck.add_argument(
        "--timeout", type=_timeout, default=5.0, metavar="SECONDS", help="give up after this long (default: 5)"
    )
    healthcheck.add_argument("--ready", action="store_true", help="ask /health/ready (database and broker only)")

    _command(
        commands,
        "predeploy",
        cmd_predeploy,
        help="before a deploy: check-env, migrate, security-check (production), a database round-trip",
        description="Runs, in order, stopping at the first failure: check-env (errors stop, warnings do not),\n"
        "migrate, security-check (in production only; any finding stops), then a database round-trip (a row\n"
        "written, read back and deleted). One PASS/FAIL/SKIP line per step. Railway runs it as the\n"
        "pre-deploy command.\n\n"
        "Exit status: 0 ready, 1 a step failed, 2 a malformed setting.",
    )
    agents_cli.register(commands, _command, _settings)
    reindex_cli.register(commands, _command, _settings, _positive_int, _seconds)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
