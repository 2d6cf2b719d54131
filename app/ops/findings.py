"""What every operator report is made of: a `Finding` (one PASS/WARN/FAIL/INFO line with how to fix it), and
the small text helpers the reports share (a masked URL, a byte count for people)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

PASS, WARN, FAIL, INFO = "PASS", "WARN", "FAIL", "INFO"
Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of a report: `level` is PASS, WARN, FAIL or INFO; `check` names what was looked at (a setting's
    name when there is one); `fix` says what to do about a WARN or FAIL."""

    level: str
    check: str
    text: str
    fix: str = ""

    def __str__(self) -> str:
        line = f"{self.level:<4} {self.check}: {self.text}"
        return f"{line} -> {self.fix}" if self.fix and self.level in (WARN, FAIL) else line


def failed(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.level == FAIL]


def mask_url(url: str) -> str:
    """A URL with its password (and any `password=` query value) replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    if parts.password is None and query == parts.query:
        return url  # nothing to hide (and sqlite:/// keeps its three slashes)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def human_size(count: Any) -> str:
    """A byte count as `5 MB`; anything not a number counts as 0."""
    number = float(count) if isinstance(count, int | float) else 0.0
    for unit in ("B", "KB", "MB", "GB"):
        if number < 1024:
            return f"{number:.0f} {unit}"
        number /= 1024
    return f"{number:.1f} TB"
