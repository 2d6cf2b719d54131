"""Bounds on what `sohbet restore` reads, so a crafted archive cannot exhaust memory or disk.

A zip member states its uncompressed size in the archive's directory and the zip reader never returns more than
that, so those sizes can be judged before a single byte is inflated: a 1 MB archive holding a 300 MB JSON line
(deflate packs repetitive text ~1000:1) is refused by its compression ratio, and a line longer than any row
Sohbet writes is refused while reading it, never held whole. The checks run during validation, before restore
writes anything.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

MiB = 1024 * 1024
GiB = 1024 * MiB


class ArchiveTooLarge(ValueError):
    """A limit was exceeded; the message names the member and the limit."""


@dataclass(frozen=True, slots=True)
class RestoreLimits:
    # The longest row Sohbet writes is a message: 4000 characters, Fernet-encrypted, about 22 KB of JSON.
    line_bytes: int = MiB
    # Backup tables compress about 2-10:1 and attachment files are stored as they are; a member over
    # `ratio_from_bytes` that claims more is a bomb.
    ratio: int = 100
    ratio_from_bytes: int = MiB
    # All table members together, uncompressed (millions of messages).
    table_bytes: int = 4 * GiB


def check_members(archive: zipfile.ZipFile, limits: RestoreLimits, upload_dir: Path) -> None:
    """Refuse an archive whose stated sizes exceed the limits, or whose files would not fit in `upload_dir`."""
    tables = files = 0
    for info in archive.infolist():
        size = info.file_size
        if size > limits.ratio_from_bytes and size > limits.ratio * max(info.compress_size, 1):
            raise ArchiveTooLarge(
                f"member {info.filename} inflates {_size(info.compress_size)} to {_size(size)}, more than the "
                f"{limits.ratio}:1 compression ratio a backup can have (a decompression bomb?)"
            )
        if info.filename.startswith("files/"):
            files += size
        else:
            tables += size
    if tables > limits.table_bytes:
        raise ArchiveTooLarge(
            f"the tables hold {_size(tables)} uncompressed, more than the {_size(limits.table_bytes)} limit"
        )
    if files:
        free = shutil.disk_usage(_existing(upload_dir)).free
        if files > free:
            raise ArchiveTooLarge(f"the attachment files need {_size(files)}, UPLOAD_DIR has {_size(free)} free")


def bounded_lines(handle: IO[bytes], limit: int, member: str) -> Iterator[bytes]:
    """The lines of `handle`, refusing (before holding it whole) any line longer than `limit` bytes."""
    number = 0
    while raw := handle.readline(limit + 1):
        number += 1
        if len(raw) > limit:
            raise ArchiveTooLarge(
                f"{member} line {number} is longer than {_size(limit)}, more than any row Sohbet writes"
            )
        yield raw


def _existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _size(count: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} bytes"
