"""Admin dashboard over HTTP: thread list, reading, paging, replying, clearing."""

from __future__ import annotations

import re

from tests.support import find_thread, login_admin, sql, start_visitor


def thread_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<li id="thread-(\d+)"', page)]


def test_threads_newest_first_with_preview_and_unread(server):
    admin = login_admin(server)
    first = start_visitor(server.url, "First")
    second = start_visitor(server.url, "Second")
    first.post("/chat/messages", {"text": "older question"})
    second.post("/chat/messages", {"text": "newer question"})
    second.post("/chat/messages", {"text": "and another"})
    page = admin.get("/admin").text
    ids = thread_ids(page)
    first_id, second_id = find_thread(admin, "First"), find_thread(admin, "Second")
    assert ids.index(second_id) < ids.index(first_id)
    item = page.split(f'id="thread-{second_id}"', 1)[1].split("</li>", 1)[0]
    assert "and another" in item and 'class="badge"' in item and ">2<" in item
    assert page.count("<title>") == 1 and re.search(r"<title>\(\d+\) Sohbet</title>", page)
    # New activity moves a thread to the top.
    first.post("/chat/messages", {"text": "bump"})
    assert thread_ids(admin.get("/admin").text).index(first_id) == 0


def test_open_marks_read_and_reply_reaches_visitor(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Reader")
    visitor.post("/chat/messages", {"text": "are you there?"})
    thread = find_thread(admin, "Reader")
    opened = admin.get(f"/admin/threads/{thread}")
    assert opened.status_code == 200 and "are you there?" in opened.text
    assert f'sse-connect="/admin/events?thread={thread}&after=1"' in opened.text
    item = admin.get("/admin").text.split(f'id="thread-{thread}"', 1)[1].split("</li>", 1)[0]
    assert 'class="badge"' not in item
    reply = admin.post(f"/admin/threads/{thread}/messages", {"text": "Yes, how can I help?"})
    assert reply.status_code == 303 and reply.headers["location"] == f"/admin/threads/{thread}"
    visitor_page = visitor.get("/").text
    assert 'data-sender="admin"' in visitor_page and "Yes, how can I help?" in visitor_page
    htmx_reply = admin.post(f"/admin/threads/{thread}/messages", {"text": "htmx reply"}, htmx=True)
    assert htmx_reply.status_code == 200 and htmx_reply.text.lstrip().startswith('<form id="composer"')
    empty = admin.post(f"/admin/threads/{thread}/messages", {"text": ""}, htmx=True)
    assert empty.status_code == 422 and "Write a message first" in empty.text


def test_unknown_thread_is_a_clear_404(server):
    admin = login_admin(server)
    page = admin.get("/admin/threads/999999")
    assert page.status_code == 404 and "Not found" in page.text and "<html" in page.text
    assert admin.post("/admin/threads/999999/messages", {"text": "x"}).status_code == 404
    assert admin.post("/admin/threads/999999/clear").status_code == 404
    assert admin.get("/admin/threads/not-a-number").status_code in (400, 404)


def test_load_older_pages(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Chatty")
    for index in range(1, 121):
        visitor.post("/chat/messages", {"text": f"line {index}"})
    thread = find_thread(admin, "Chatty")
    page = admin.get(f"/admin/threads/{thread}").text
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', page)]
    assert seqs == list(range(71, 121))
    assert f'hx-get="/admin/threads/{thread}/older?before=71"' in page
    older = admin.get(f"/admin/threads/{thread}/older?before=71", headers={"HX-Request": "true"})
    assert 'hx-swap-oob="afterbegin:#messages"' in older.text
    assert [int(s) for s in re.findall(r'data-seq="(\d+)"', older.text)] == list(range(21, 71))
    assert "older?before=21" in older.text
    last = admin.get(f"/admin/threads/{thread}/older?before=21", headers={"HX-Request": "true"})
    assert [int(s) for s in re.findall(r'data-seq="(\d+)"', last.text)] == list(range(1, 21))
    assert "older?before" not in last.text
    no_js = admin.get(f"/admin/threads/{thread}?before=71").text  # the same paging without JavaScript
    assert [int(s) for s in re.findall(r'data-seq="(\d+)"', no_js)] == list(range(21, 71))


def test_clear_one_conversation(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Clearable")
    visitor.post("/chat/messages", {"text": "delete me"})
    thread = find_thread(admin, "Clearable")
    assert admin.post(f"/admin/threads/{thread}/clear", {"confirm": "yes"}).status_code == 303
    assert "delete me" not in admin.get(f"/admin/threads/{thread}").text
    assert "delete me" not in visitor.get("/").text
    visitor.post("/chat/messages", {"text": "still here"})
    assert "still here" in visitor.get("/").text


def test_clear_all_needs_confirmation(make_server):
    server = make_server("clear-all")
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Gone")
    visitor.post("/chat/messages", {"text": "bye"})
    refused = admin.post("/admin/clear-all", {})
    assert refused.status_code == 422 and "Tick the confirmation box" in refused.text
    assert "Gone" in admin.get("/admin").text
    assert admin.post("/admin/clear-all", {"confirm": "yes"}).status_code == 303
    assert thread_ids(admin.get("/admin").text) == []
    assert 'action="/chat/start"' in visitor.get("/").text  # the visitor starts afresh


def test_visitor_end_shows_system_message_to_admin(server):
    admin = login_admin(server)
    visitor = start_visitor(server.url, "Leaver")
    visitor.post("/chat/messages", {"text": "thanks"})
    visitor.post("/chat/end", {"confirm": "yes"})
    thread = find_thread(admin, "Leaver")
    page = admin.get(f"/admin/threads/{thread}").text
    assert 'data-sender="system"' in page and "The visitor ended the chat." in page
    admin.get(f"/lang/tr?next=/admin/threads/{thread}")
    assert "Ziyaretçi sohbeti bitirdi." in admin.get(f"/admin/threads/{thread}").text


OLDER_RE = re.compile(
    r'<li class="more-threads"><a href="(/admin\?before=[^"]+)" hx-get="(/admin/threads\?before=[^"]+)"'
)


SHOWN_RE = re.compile(r'<input type="hidden" id="threads-shown" name="shown" value="(\d+)"')


def test_conversation_list_is_paged_newest_first(make_server):
    """Conversation spam must not hide real conversations: 50 per page, an "older" link that reaches every
    conversation exactly once, newest activity first (ties in activity time broken by id), with and without
    JavaScript; the live refresh keeps serving the first page."""
    server = make_server("thread-paging")
    for index in range(120):
        start_visitor(server.url, f"Spam {index}")
    url = server.env["DATABASE_URL"]
    ids = [row[0] for row in sql(url, "SELECT id FROM conversation ORDER BY id")]
    # Forty conversations share one activity time; the first page ends inside them.
    sql(
        url,
        "UPDATE conversation SET last_activity_at = (SELECT last_activity_at FROM conversation WHERE id = ?) "
        "WHERE id >= ? AND id <= ?",
        ids[80],
        ids[60],
        ids[99],
    )
    expected = [row[0] for row in sql(url, "SELECT id FROM conversation ORDER BY last_activity_at DESC, id DESC")]
    admin = login_admin(server)

    first = admin.get("/admin").text
    assert thread_ids(first) == expected[:50] and "Show older conversations" in first
    refresh = admin.get("/admin/threads", headers={"HX-Request": "true"}).text  # the SSE `threads` refresh
    assert thread_ids(refresh) == expected[:50] and refresh.count('<ul id="threads"') == 1

    # Without JavaScript: each link is a page.
    seen, page = [], first
    while True:
        seen += thread_ids(page)
        link = OLDER_RE.search(page)
        if link is None:
            break
        page = admin.get(link.group(1).replace("&amp;", "&")).text
        assert "Show the newest conversations" in page
    assert seen == expected and len(set(seen)) == 120

    # With htmx: each answer is the next page's items (and the next link) for the list, no new list.
    # The page's own count of what the list holds (#threads-shown, sent with each request) is updated by each.
    seen, page = thread_ids(first), first
    assert SHOWN_RE.search(first).group(1) == "50"
    while link := OLDER_RE.search(page):
        url = link.group(2).replace("&amp;", "&") + f"&shown={len(seen)}"
        page = admin.get(url, headers={"HX-Request": "true"}).text
        assert "<ul" not in page and "<title>" not in page and page.lstrip().startswith('<li id="thread-')
        seen += thread_ids(page)
        assert SHOWN_RE.search(page).group(1) == str(len(seen)) and 'hx-swap-oob="true"' in page
    assert seen == expected
    # A live refresh of a list that holds every page lists them all again, not only the first (it used to take
    # back what the agent had loaded); the newest page when nothing was appended; a bad count is a 400.
    refresh = admin.get("/admin/threads?shown=120", headers={"HX-Request": "true"}).text
    assert thread_ids(refresh) == expected and SHOWN_RE.search(refresh).group(1) == "120"
    refresh = admin.get("/admin/threads?shown=3", headers={"HX-Request": "true"}).text
    assert thread_ids(refresh) == expected[:50]
    assert admin.get("/admin/threads?shown=-1", headers={"HX-Request": "true"}).status_code == 400

    assert admin.get("/admin?before=not-a-cursor").status_code == 400
    assert admin.get("/admin/threads?before=12", headers={"HX-Request": "true"}).status_code == 400
