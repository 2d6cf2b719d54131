"""Icons are SVG from one sprite, never emoji characters (SPEC §14): emoji draw as boxes where no emoji font
exists and differently on every system. Scans the templates, the static text files and the interface strings,
with character references (`&#128206;`) and escapes (`\\u2197`, `\\ud83d`) read as the characters they stand for."""

from __future__ import annotations

import html
import re
from pathlib import Path

from app.i18n import STRINGS
from tests.support import ROOT

APP = ROOT / "app"
TEXT_SUFFIXES = {".html", ".js", ".css", ".svg", ".txt", ".json", ".xml"}

# Unicode's Extended_Pictographic code points (emoji-data.txt), less the four that every font draws as text
# (© ® ™ ℹ), plus the emoji presentation selector, the keycap mark and the zero-width joiner of emoji sequences.
EMOJI = re.compile(
    "["
    "\u203c\u2049\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u2388\u23cf\u23e9-\u23f3\u23f8-\u23fa\u24c2"
    "\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u2605\u2607-\u2612\u2614-\u2685\u2690-\u2705\u2708-\u2712"
    "\u2714\u2716\u271d\u2721\u2728\u2733\u2734\u2744\u2747\u274c\u274e\u2753-\u2755\u2757\u2763-\u2767"
    "\u2795-\u2797\u27a1\u27b0\u27bf\u2934\u2935\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299"
    "\ufe0f\u20e3\U0001f000-\U0001faff\U0001fc00-\U0001fffd"
    "]"
)
JS_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]+)\}|\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")


def decoded(text: str) -> str:
    """`text` with HTML character references and JavaScript/Python escapes replaced by their characters
    (surrogate pairs joined)."""

    def char(match: re.Match[str]) -> str:
        return chr(int(next(g for g in match.groups() if g), 16))

    text = html.unescape(JS_ESCAPE.sub(char, text))
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def found(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in EMOJI.findall(decoded(text))})


def text_files() -> list[Path]:
    templates = [p for p in (APP / "templates").rglob("*") if p.is_file()]
    static = [p for p in (APP / "static").rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES]
    return sorted(templates + static)


def test_the_scan_sees_emoji_however_written():
    for sample in ("📎", "&#128206;", "&#x1F3A4;", "\\u2197", "\\ud83d\\udcf7", "\\U0001f4f7", "✅", "\u2764\ufe0f"):
        assert found(sample), sample
    for plain in ("× close", "● online", "Write a message…", "Türkçe — ş ğ ı", "→", "© 2026"):
        assert not found(plain), plain


def test_no_emoji_in_templates_or_static_files():
    files = text_files()
    assert any(p.name == "_composer.html" for p in files) and any(p.name == "embed.js" for p in files)
    offenders = {str(p.relative_to(ROOT)): hits for p in files if (hits := found(p.read_text(encoding="utf-8")))}
    assert not offenders, offenders


def test_no_emoji_in_interface_strings():
    texts = {f"{key} ({lang})": text for key, by_lang in STRINGS.items() for lang, text in by_lang.items()}
    offenders = {name: hits for name, text in texts.items() if (hits := found(text))}
    assert not offenders, offenders


def test_icons_come_from_the_one_sprite():
    """Every <use> names a symbol of the sprite in the base template; every icon is hidden from screen readers."""
    sprite = (APP / "templates" / "shared" / "_icons.html").read_text(encoding="utf-8")
    symbols = set(re.findall(r'<symbol id="(i-[a-z-]+)"', sprite))
    assert {"i-clip", "i-mic", "i-camera"} <= symbols
    assert '{% include "shared/_icons.html" %}' in (APP / "templates" / "base.html").read_text(encoding="utf-8")
    used: set[str] = set()
    for path in (APP / "templates").rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        used.update(re.findall(r'<use href="#(i-[a-z-]+)"', source))
        for icon in re.findall(r"<svg class=\"icon\"[^>]*>", source):
            assert 'aria-hidden="true"' in icon, (path.name, icon)
    # The thread list's mark names its symbol in an expression ('camera' / 'mic'): the literal ones are checked.
    assert used and used <= symbols, used - symbols
