"""Workspace branding (SPEC §14): site name, logo, accent colour, greeting and the sites allowed to embed the chat.

Read from the workspace settings (app/services/workspace.py), the environment as defaults (EMBED_ORIGINS);
changed by `save_branding`, the one action of /admin/settings, which checks every field and stores nothing when
one is wrong. An accent colour must keep WCAG AA contrast (4.5:1) for white text on it and for itself (links) on
the page background; for the dark colour scheme a lighter shade of it is derived that keeps the same contrast
with dark text and the dark page.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import anyio

from app.services.uploads import IMAGE_FORMATS, ImageBudget, UploadRejected, check, sniff
from app.services.workspace import Snapshot, StoredFile, Workspace

DEFAULT_ACCENT = "#0b5cad"  # app.css --accent (light scheme)
DEFAULT_ACCENT_DARK = "#4493f8"  # app.css --accent (dark scheme)
LIGHT_PAGE = "#f6f7f9"  # app.css --bg (light): the darkest background a link sits on
DARK_PAGE = "#161b22"  # app.css --surface (dark): the lightest background a link sits on
DARK_TEXT = "#0d1117"  # app.css --bg (dark): text on the accent in the dark scheme
AA = 4.5
SITE_NAME_MAX = 60
GREETING_MAX = 200
ORIGINS_MAX = 20
LOGO_MAX_BYTES = 512 * 1024
LOGO_BUDGET = ImageBudget(frame_pixels=2048 * 2048, frames=1, total_pixels=2048 * 2048)
KEYS = ("site_name", "accent", "greeting", "embed_origins")
LOGO = "logo"
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_ORIGIN = re.compile(r"(https?)://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?")


def parse_hex(text: str) -> tuple[int, int, int] | None:
    found = _HEX.fullmatch(text.strip())
    if not found:
        return None
    digits = found.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def to_hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def luminance(color: str) -> float:
    """WCAG 2 relative luminance of a hex colour."""
    rgb = parse_hex(color)
    if rgb is None:
        raise ValueError(f"not a hex colour: {color!r}")

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two hex colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def dark_shade(accent: str) -> str:
    """The accent for the dark scheme: the accent mixed with white, just enough for dark text on it and for it on
    the dark page (4.5:1)."""
    rgb = parse_hex(accent) or (0, 0, 0)
    for step in range(21):
        mixed = tuple(round(c + (255 - c) * step / 20) for c in rgb)
        shade = to_hex((mixed[0], mixed[1], mixed[2]))
        if contrast(shade, DARK_PAGE) >= AA and contrast(shade, DARK_TEXT) >= AA:
            return shade
    return "#ffffff"


@dataclass(frozen=True, slots=True)
class Branding:
    """What the pages show. Empty `site_name`/`greeting`: the translated defaults."""

    site_name: str = ""
    accent: str = DEFAULT_ACCENT
    greeting: str = ""
    embed_origins: tuple[str, ...] = ()
    logo: StoredFile | None = None

    @property
    def custom_accent(self) -> bool:
        return self.accent != DEFAULT_ACCENT

    @property
    def accent_dark(self) -> str:
        return dark_shade(self.accent) if self.custom_accent else DEFAULT_ACCENT_DARK

    @property
    def logo_url(self) -> str | None:
        return f"/brand/logo?v={self.logo.version}" if self.logo else None

    @property
    def css(self) -> str:
        """The stylesheet that sets the accent (served at css_url; only linked when the accent is not the default)."""
        light = f":root{{--accent:{self.accent};--accent-text:#fff}}"
        dark = f"@media (prefers-color-scheme:dark){{:root{{--accent:{self.accent_dark};--accent-text:{DARK_TEXT}}}}}"
        return light + dark + "\n"

    @property
    def css_url(self) -> str | None:
        if not self.custom_accent:
            return None
        return f"/brand.css?v={hashlib.sha256(self.css.encode()).hexdigest()[:12]}"

    def launcher(self) -> dict[str, str]:
        """What the widget's launcher script on the host page needs (it cannot read our pages)."""
        return {"c": self.accent, "n": self.site_name, "g": self.greeting}


def branding_of(snapshot: Snapshot, env_origins: tuple[str, ...]) -> Branding:
    values = snapshot.values
    origins = values.get("embed_origins")
    return Branding(
        site_name=values.get("site_name", ""),
        accent=values.get("accent") or DEFAULT_ACCENT,
        greeting=values.get("greeting", ""),
        embed_origins=tuple(origins.split()) if origins is not None else env_origins,
        logo=snapshot.files.get(LOGO),
    )


class Brand:
    """The current branding of this process, rebuilt whenever the workspace settings reload."""

    def __init__(self, workspace: Workspace, env_origins: tuple[str, ...]) -> None:
        self.workspace = workspace
        self._env_origins = env_origins
        self.current = Branding(embed_origins=env_origins)
        workspace.on_change(self._update)

    def _update(self, snapshot: Snapshot) -> None:
        self.current = branding_of(snapshot, self._env_origins)


@dataclass
class BrandingForm:
    """What the form sent, as typed (kept on the page when something is wrong), and what is wrong, by field
    (i18n keys, and values for their placeholders)."""

    site_name: str = ""
    accent: str = ""
    greeting: str = ""
    embed_origins: str = ""
    remove_logo: bool = False
    errors: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, branding: Branding) -> BrandingForm:
        return cls(branding.site_name, branding.accent, branding.greeting, "\n".join(branding.embed_origins))


def one_line(value: str, limit: int) -> str | None:
    """Text on one line without control characters, at most `limit` characters; None when it is not."""
    value = unicodedata.normalize("NFC", value.strip())
    if len(value) > limit or any(unicodedata.category(c) in {"Cc", "Cf"} for c in value):
        return None
    return value


def accent_problem(color: str) -> tuple[str, dict[str, Any]] | None:
    """Why this accent colour cannot be used (an i18n key and its values), or None."""
    if parse_hex(color) is None:
        return "settings.accent_invalid", {}
    on_accent = contrast(color, "#ffffff")
    if on_accent < AA:
        return "settings.accent_text_contrast", {"ratio": f"{on_accent:.1f}"}
    on_page = contrast(color, LIGHT_PAGE)
    if on_page < AA:
        return "settings.accent_page_contrast", {"ratio": f"{on_page:.1f}"}
    return None


def parse_origins(text: str, *, https_only: bool) -> tuple[tuple[str, ...], tuple[str, dict[str, Any]] | None]:
    """Origins, one a line (or separated by commas or spaces), normalized (lower case, no trailing slash, no
    default port); the first wrong one makes the error."""
    found: list[str] = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        origin = item.rstrip("/").lower()
        match = _ORIGIN.fullmatch(origin)
        if not match:
            return (), ("settings.origin_invalid", {"origin": item[:100]})
        scheme, _, port = match.groups()
        if https_only and scheme != "https":
            return (), ("settings.origin_https", {"origin": item[:100]})
        if port and int(port[1:]) == {"http": 80, "https": 443}[scheme]:
            origin = origin[: -len(port)]
        if port and not 0 < int(port[1:]) < 65536:
            return (), ("settings.origin_invalid", {"origin": item[:100]})
        found.append(origin)
    origins = tuple(dict.fromkeys(found))
    if len(origins) > ORIGINS_MAX:
        return (), ("settings.origins_too_many", {"count": ORIGINS_MAX})
    return origins, None


async def check_logo(data: bytes, file_name: str | None) -> StoredFile:
    """An uploaded logo, checked like an attachment image (type from the bytes, markup refused, size and pixel
    budget before decoding) and re-encoded without metadata. Raises UploadRejected."""
    detected = sniff(data[:256]) if data else None
    if data and detected not in IMAGE_FORMATS:
        raise UploadRejected(415, "upload.type")
    checked = await anyio.to_thread.run_sync(
        lambda: check(data, file_name, max_image_bytes=LOGO_MAX_BYTES, max_audio_bytes=0, budget=LOGO_BUDGET)
    )
    return StoredFile(checked.data, checked.content_type, hashlib.sha256(checked.data).hexdigest()[:12])


async def check_branding(
    form: BrandingForm, logo: tuple[bytes, str | None] | None, *, https_only: bool
) -> tuple[dict[str, str], dict[str, StoredFile | None]]:
    """Check every field of `form` (errors go into `form.errors`) and the uploaded logo: the values and files to
    store (meaningful only when `form.errors` stayed empty)."""
    errors = form.errors
    site_name = one_line(form.site_name, SITE_NAME_MAX)
    if site_name is None:
        errors["site_name"] = ("settings.site_name_invalid", {"max": SITE_NAME_MAX})
    greeting = one_line(form.greeting, GREETING_MAX)
    if greeting is None:
        errors["greeting"] = ("settings.greeting_invalid", {"max": GREETING_MAX})
    accent = form.accent.strip().lower() or DEFAULT_ACCENT
    problem = accent_problem(accent)
    if problem:
        errors["accent"] = problem
    else:
        accent = to_hex(parse_hex(accent) or (0, 0, 0))
    origins, origin_error = parse_origins(form.embed_origins, https_only=https_only)
    if origin_error:
        errors["embed_origins"] = origin_error
    stored_logo: StoredFile | None = None
    if logo is not None and logo[0]:
        try:
            stored_logo = await check_logo(*logo)
        except UploadRejected as exc:
            errors["logo"] = (exc.code, {})
    files: dict[str, StoredFile | None] = {}
    if stored_logo is not None:
        files[LOGO] = stored_logo
    elif form.remove_logo:
        files[LOGO] = None
    values = {
        "site_name": site_name or "",
        "accent": accent,
        "greeting": greeting or "",
        "embed_origins": " ".join(origins),
    }
    return values, files


async def save_branding(
    workspace: Workspace,
    form: BrandingForm,
    logo: tuple[bytes, str | None] | None,
    *,
    https_only: bool,
    actor: str = "system",
    ip: str = "",
) -> bool:
    """The branding alone: check every field of `form` (errors go into `form.errors`) and the uploaded logo;
    store them all, or nothing when one is wrong. True when saved."""
    values, files = await check_branding(form, logo, https_only=https_only)
    if form.errors:
        return False
    await workspace.save(values, files, actor=actor, ip=ip)
    return True
