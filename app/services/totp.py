"""Authenticator codes (RFC 6238 through pyotp): 30 s steps, 6 digits, one step of clock drift either way, and
each code accepted once (the caller stores the last accepted step and passes it back). The set-up QR code is drawn
by segno as an inline SVG element (no script, no inline style: the CSP allows it as it is)."""

from __future__ import annotations

import hmac

import pyotp
import segno

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1


def new_secret() -> str:
    """160 random bits, base32 (what authenticator apps expect)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as an `<svg>` element to put in the page."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, title="QR"))


def accepted_step(secret: str, code: str, last_step: int, at: float) -> int | None:
    """The time step `code` belongs to (within ±DRIFT_STEPS of `at`) when it is newer than `last_step`, else None."""
    code = code.strip().replace(" ", "")
    if not secret or len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(at // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
