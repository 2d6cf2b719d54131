"""The password rules for agents (SPEC §8): at least 12 characters, at most 200, and not one of the 10,000 most
common passwords.

The list (app/data/common-passwords.txt.gz) is the first 10,000 distinct entries — the most common first — of
`django/contrib/auth/common-passwords.txt.gz` from Django 5.1.4 (BSD-3-Clause licence, Django Software
Foundation), itself Royce Williams' list of the 20,000 most common passwords, lowercased and deduplicated
(https://gist.github.com/roycewilliams/226886fd01572964e1431ac8afc999ce). Compared case-insensitively.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

PASSWORD_MIN = 12
PASSWORD_MAX = 200
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"


class PasswordRefused(ValueError):
    """`code`: `password.short`, `password.long` or `password.common` (app.i18n keys)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def check_new_password(password: str) -> None:
    """Raises PasswordRefused when `password` may not become an agent's password."""
    if len(password) < PASSWORD_MIN:
        raise PasswordRefused("password.short")
    if len(password) > PASSWORD_MAX:
        raise PasswordRefused("password.long")
    if password.lower() in common_passwords() or password.strip().lower() in common_passwords():
        raise PasswordRefused("password.common")
