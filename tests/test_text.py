"""app/services/text.py: what user text may contain and how it is rendered."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from app.services.text import TextError, clean_display_name, clean_message, preview
from app.templating import make_jinja

MESSAGE = make_jinja().get_template("shared/_message.html")


def render_message_html(text: str) -> str:
    """The message text as shared/_message.html (the page, htmx and the streams) renders it."""
    m = SimpleNamespace(id=1, sender="visitor", seq=1, text=text, created_at=None, attachment=None)
    html = MESSAGE.render(m=m, t=lambda key: key, display_name="Deniz", viewer="admin")
    found = re.search(r'<div class="msg-text">(.*)</div>', html, re.S)
    assert found is not None
    return found.group(1)


def test_display_name_cleaning():
    assert clean_display_name("  Ayşe   Yılmaz \t") == "Ayşe Yılmaz"
    assert clean_display_name("") == "" and clean_display_name(None) == ""
    assert clean_display_name("a\x00b\x1fc\u202ed\u200be") == "abcde"
    assert clean_display_name("x" * 50) == "x" * 50
    with pytest.raises(TextError) as error:
        clean_display_name("x" * 51)
    assert error.value.code == "name_too_long"


def test_message_cleaning():
    assert clean_message("  hello\r\nworld  ") == "hello\nworld"
    assert clean_message("a\n\n\n\n\nb") == "a\n\nb"
    assert clean_message("tab\there") == "tab\there"
    assert clean_message("z" * 4000) == "z" * 4000
    for bad, code in ((" \n ", "message_empty"), ("\x00\x01", "message_empty"), ("z" * 4001, "message_too_long")):
        with pytest.raises(TextError) as error:
            clean_message(bad)
        assert error.value.code == code


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<svg onload=alert(1)>",
        '"><a href="javascript:alert(1)">x</a>',
        "javascript:alert(1)",
        'https://example.com/"onmouseover=alert(1)',
    ],
)
def test_rendering_never_produces_markup_from_input(text):
    html = str(render_message_html(text))
    assert "<script" not in html and "<img" not in html and "<svg" not in html
    assert 'href="javascript' not in html
    assert '"onmouseover' not in html  # a quote can never close an attribute early


def test_links_and_line_breaks():
    html = str(render_message_html("see https://example.com/a?b=1&c=2.\nthanks"))
    assert html == (
        'see <a href="https://example.com/a?b=1&amp;c=2" rel="noopener nofollow noreferrer" target="_blank">'
        "https://example.com/a?b=1&amp;c=2</a>.<br>thanks"
    )
    assert "<a" not in str(render_message_html("ftp://example.com and www.example.com"))


def test_preview():
    assert preview("short") == "short"
    assert preview("a  b\nc") == "a b c"
    assert len(preview("x" * 200)) == 80 and preview("x" * 200).endswith("…")
