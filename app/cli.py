"""The `sohbet` command: serve, migrate, genkey, hash-password."""

from __future__ import annotations

import argparse
import asyncio
import sys

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
    asyncio.run(migrate(settings.database_url))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.models.db import migrate

    settings = _settings()
    host = args.host or settings.host
    port = args.port or settings.port
    if not args.no_migrate:
        asyncio.run(migrate(settings.database_url))
    if settings.is_postgres is False and args.workers > 1:
        sys.stderr.write("sohbet: SQLite runs in one process; use PostgreSQL for --workers > 1\n")
        return 2
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - only for the message
    print(f"Sohbet is starting ({settings.environment}, {'PostgreSQL' if settings.is_postgres else 'SQLite'})")
    print(f"  Visitor page:  http://{shown}:{port}/")
    print(f"  Admin login:   http://{shown}:{port}/login")
    if not settings.is_production:
        print(f"  Admin username: {settings.admin_username}")
        if settings.admin_password_generated:
            print(f"  Admin password: {settings.admin_password}  (kept in {settings.data_dir / 'secrets.json'})")
    sys.stdout.flush()
    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        access_log=False,
        timeout_graceful_shutdown=10,
        log_level="warning",
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sohbet", description="Sohbet live chat")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run migrations, then serve HTTP with uvicorn")
    serve.add_argument("--host", help="address to bind (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL only for > 1)")
    serve.add_argument("--no-migrate", action="store_true", help="skip migrations (run `sohbet migrate` first)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1", help="proxies whose X-Forwarded-For is trusted")
    serve.set_defaults(func=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    genkey = commands.add_parser("genkey", help="print a new Fernet key for ENCRYPTION_KEYS")
    genkey.set_defaults(func=cmd_genkey)

    hashpw = commands.add_parser("hash-password", help="print an ADMIN_PASSWORD_HASH for a password")
    hashpw.add_argument("--password", help="the password (prompted when omitted)")
    hashpw.set_defaults(func=cmd_hash_password)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
