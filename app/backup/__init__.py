"""Portable backups: `sohbet backup FILE` writes one zip file that `sohbet restore FILE` loads into any Sohbet
database, SQLite or PostgreSQL, with the attachment files that live on local disk.

Kept: conversations, messages, attachments (their rows, and the files of those on local disk; a Cloudinary
attachment keeps its storage key and its file stays at Cloudinary), pending file deletions, the Telegram tables
(outbox, message links, forum topics, handled updates, which also give the polling offset), and any table added
later unless it is listed in SKIPPED_TABLES. Skipped: admin sessions and pending logins (admins log in again),
rate-limit counters (`key_value`), presence (rebuilt by live servers within seconds) and job leases (they expire):
short-lived state that means nothing on another database.

The format (and how values travel in JSON) is `format.py`; `dump.py` writes an archive, `validate.py` checks one
without writing anything, `restore.py` loads a checked one, and `limits.py` bounds what a restore reads.
"""
