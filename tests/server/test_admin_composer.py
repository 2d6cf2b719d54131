"""The dashboard's composer without JavaScript: a refused reply goes back to the conversation (303) with the error
and the typed text, carried once in a signed cookie bound to that conversation's page, so the address bar never
stays on the POST URL /admin/threads/<id>/messages. Other clients (htmx, a plain POST without the page's
<noscript> field) keep getting 422 in place."""

from __future__ import annotations

from tests.support import find_thread, login_admin, start_visitor

COMPOSER_ERROR = 'id="composer-error"'
NOT_ACCEPTED = "not accepted"


def composer_text(page: str) -> str:
    return page.split('id="composer-text"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]


def test_a_refused_reply_without_javascript_goes_back_to_the_conversation(server):
    admin = login_admin(server)
    for name in ("Composer A", "Composer B"):
        start_visitor(server.url, name).post("/chat/messages", {"text": f"hello from {name}"})
    thread, other = find_thread(admin, "Composer A"), find_thread(admin, "Composer B")
    page_url, post_url = f"/admin/threads/{thread}", f"/admin/threads/{thread}/messages"

    empty = admin.post(post_url, {"text": "  ", "nojs": "1"})
    assert empty.status_code == 303 and empty.headers["location"] == page_url
    shown = admin.get(page_url)
    assert shown.status_code == 200 and COMPOSER_ERROR in shown.text and "Write a message first." in shown.text
    assert 'aria-invalid="true"' in shown.text
    assert COMPOSER_ERROR not in admin.get(page_url).text  # shown once

    # A refused file keeps what was typed; the text comes back escaped, only on its own conversation's page.
    typed = "Your receipt <b>şöyle</b> & more"
    refused = admin.post(
        post_url, {"text": typed, "nojs": "1"}, files={"file": ("notes.txt", b"plain text", "text/plain")}
    )
    assert refused.status_code == 303 and refused.headers["location"] == page_url
    elsewhere = admin.get(f"/admin/threads/{other}").text
    assert COMPOSER_ERROR not in elsewhere and "şöyle" not in elsewhere
    assert COMPOSER_ERROR not in admin.get("/admin").text
    back = admin.get(page_url).text
    assert NOT_ACCEPTED in back and composer_text(back) == "Your receipt &lt;b&gt;şöyle&lt;/b&gt; &amp; more"
    assert "şöyle" not in admin.get(page_url).text
    assert typed not in start_visitor(server.url, "Bystander").get("/").text

    # A forged or foreign refusal cookie shows nothing.
    admin.http.cookies.set("sohbet_refused", "forged.value")
    assert COMPOSER_ERROR not in admin.get(page_url).text


def test_other_clients_still_get_422_in_place(server):
    admin = login_admin(server)
    start_visitor(server.url, "Composer C").post("/chat/messages", {"text": "hi"})
    thread = find_thread(admin, "Composer C")
    post_url = f"/admin/threads/{thread}/messages"
    htmx = admin.post(post_url, {"text": "", "nojs": "1"}, htmx=True)
    assert htmx.status_code == 422 and htmx.text.lstrip().startswith('<form id="composer"')
    assert "Write a message first." in htmx.text and "sohbet_refused" not in htmx.headers.get("set-cookie", "")
    plain = admin.post(post_url, {"text": ""})
    assert plain.status_code == 422 and "Write a message first." in plain.text and "<html" in plain.text
    too_long = admin.post(post_url, {"text": "x" * 4001, "nojs": "1"})  # too long to ride in a cookie: in place
    assert too_long.status_code == 422 and "x" * 4001 in too_long.text
    sent = admin.post(post_url, {"text": "fine", "nojs": "1"})
    assert sent.status_code == 303 and sent.headers["location"] == f"/admin/threads/{thread}"
