"""An agent's own Telegram account (SPEC §8): `agent.telegram_user_id` and `agent.telegram_chat_id` (the private chat
login codes go to), set by `/start <token>` in a private chat with the bot; `agent.telegram_link_hash` and
`agent.telegram_link_expires_at`: the pending one-time link token, stored hashed, with its expiry (epoch seconds)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, DoublePrecision, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agent Telegram account"


def _params(**overrides):
    params = {
        "null": True,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        "default": None,
    }
    params.update(overrides)
    return params


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sohbet", description=DESCRIPTION)
    columns = (
        ("telegram_user_id", "BigInt", BigInt, _params(index=True)),
        ("telegram_chat_id", "Varchar", Varchar, _params(length=40)),
        ("telegram_link_hash", "Varchar", Varchar, _params(length=64, index=True)),
        ("telegram_link_expires_at", "DoublePrecision", DoublePrecision, _params()),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="Agent",
            tablename="agent",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
