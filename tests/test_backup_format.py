"""app/backup/format.py in process: which tables a backup holds and in what order, each column's kind, and the
JSON conversion both ways (what `sohbet backup` writes is what `sohbet restore` reads back)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.backup.format import SKIPPED_TABLES, backup_tables, column_kind, from_json, to_json
from app.models import Attachment, Conversation, KeyValue, Message


def test_tables_come_parents_first_and_short_lived_state_is_left_out():
    names = [table._meta.tablename for table in backup_tables()]
    assert names.index("conversation") < names.index("message") < names.index("attachment")
    assert not set(names) & set(SKIPPED_TABLES)
    assert "key_value" in SKIPPED_TABLES and "admin_session" in SKIPPED_TABLES


def test_column_kinds():
    assert column_kind(Conversation.created_at) == "timestamptz"
    assert column_kind(Message.conversation) == "int"  # a foreign key travels as the id it references
    assert column_kind(KeyValue.value) == "bytes"
    assert column_kind(Attachment.storage_key) == "text"


@pytest.mark.parametrize(
    ("kind", "column", "value"),
    [
        ("int", Message.conversation, 42),
        ("text", Attachment.storage_key, "abc.png"),
        ("bytes", KeyValue.value, b"\x00\xffbytes"),
        ("timestamptz", Conversation.created_at, datetime(2026, 1, 31, 12, 30, tzinfo=UTC)),
    ],
)
def test_values_round_trip_through_json(kind, column, value):
    assert from_json(kind, to_json(kind, value), column) == value


def test_a_naive_timestamp_is_taken_as_utc():
    assert to_json("timestamptz", "2026-01-31T12:30:00") == "2026-01-31T12:30:00+00:00"


@pytest.mark.parametrize(
    ("kind", "column", "value", "problem"),
    [
        ("int", Message.conversation, "42", "is not an integer"),
        ("int", Message.conversation, True, "is not an integer"),
        ("bytes", KeyValue.value, "not base64!", "is not valid base64"),
        ("timestamptz", Conversation.created_at, "yesterday", "is not an ISO 8601 timestamp"),
        ("text", Attachment.storage_key, None, "is null, but the column is NOT NULL"),
    ],
)
def test_a_value_that_does_not_fit_says_why_without_repeating_it(kind, column, value, problem):
    with pytest.raises(ValueError, match=problem):
        from_json(kind, value, column)
