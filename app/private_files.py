"""Files and directories only the server's own user may read: the database, secrets.json, uploads, backups.

Everything is created with its final mode (0600 for files, 0700 for directories) in the same system call that
creates it, so there is no moment when another local user could open it, whatever the process umask (which can
only take bits away). Existing files and directories keep the mode they have: an operator who chose a group for
them keeps it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def private_dir(path: Path) -> Path:
    """`mkdir -p` where every directory it creates is 0700."""
    missing: list[Path] = []
    current = Path(path)
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIRECTORY_MODE)
        except FileExistsError:
            if not directory.is_dir():
                raise
    return Path(path)


def create_private(path: Path) -> BinaryIO:
    """A new file, open for writing, 0600 from the start; FileExistsError if `path` exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    return os.fdopen(descriptor, "wb")


def touch_private(path: Path) -> None:
    """Create an empty 0600 file unless `path` exists (a SQLite database: SQLite gives its -wal and -shm files
    the database file's mode, and accepts an empty file as a new database)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))
    except FileExistsError:
        pass
