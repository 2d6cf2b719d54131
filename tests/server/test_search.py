"""Search (SPEC §10) through a real server: the page without JavaScript, the bar's htmx results and /api/search;
Turkish and accented words match their plain forms; the database holds no plain word of a message (the SQLite file
read byte by byte, every row of every PostgreSQL table as text); a cleared conversation is no longer found; and
after SECRET_KEY changes, `sohbet reindex` (interrupted, then run again) finds everything again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from tests.server.test_api import api_login
from tests.support import ROOT, find_thread, login_admin, sohbet, sql, start_visitor

# Words no name, setting or fixture holds: if they are in the database, they came from a message.
SECRET_WORDS = ("Zanzibarlı", "kumkuatreçeli", "Pırlantaçiçeği")


def found(browser, query: str) -> list[int]:
    response = browser.get("/admin/search", params={"q": query}, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    return [int(part.split('"', 1)[0]) for part in response.text.split('data-thread="')[1:]]


def database_text(url: str) -> bytes:
    """Everything the database holds, as bytes: the SQLite files (with the WAL), or each PostgreSQL row as text."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    names = [row[0] for row in sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert "search_term" in names and "message" in names
    return "\n".join(str(row[0]) for name in names for row in sql(url, f'SELECT t::text FROM "{name}" t')).encode()


def test_search_finds_turkish_and_accented_words_on_the_page_the_bar_and_the_api(server):
    owner = login_admin(server)
    ayse = start_visitor(server.url, "Ayşe Yılmaz")
    assert ayse.post("/chat/messages", {"text": "İstanbul'daki mağaza açık mı? Café de var mı?"}).status_code == 303
    thread = find_thread(owner, "Ayşe Yılmaz")
    assert owner.post(f"/admin/threads/{thread}/messages", {"text": "Evet, kafe değil café."}).status_code == 303
    other = start_visitor(server.url, "Bob")
    assert other.post("/chat/messages", {"text": "Is the ISTANBUL shop open?"}).status_code == 303
    bob = find_thread(owner, "Bob")

    for query in ("İstanbul", "istanbul", "ISTANBUL", "ıstanbul", "Istanbul"):
        assert found(owner, query) == [bob, thread], query  # newest first
    assert found(owner, "cafe") == found(owner, "CAFÉ") == [thread]
    assert found(owner, "ayse yilmaz") == [thread]  # the visitor's name
    assert found(owner, "istanbul shop") == [bob]  # every word must match
    assert found(owner, "nowhere") == []

    page = owner.get("/admin/search", params={"q": "CAFE"})  # no JavaScript: a GET form, a whole page
    assert page.status_code == 200 and "<!doctype html>" in page.text.lower()
    assert f'href="/admin/threads/{thread}"' in page.text and "<mark>café</mark>" in page.text
    assert 'name="q" value="CAFE"' in page.text
    assert 'action="/admin/search"' in owner.get("/admin").text  # the bar's box, on the dashboard
    assert owner.get("/admin/search").status_code == 200
    refused = owner.get("/admin/search", params={"q": " a ! "})
    assert refused.status_code == 422 and "at least one word of two letters" in refused.text

    api = api_login(server)
    answer = api.http.get("/api/search", params={"q": "istanbul"})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["thread_id"] for r in results] == [bob, thread]
    assert results[1]["snippet_sender"] == "visitor" and results[1]["snippet"].startswith("İstanbul'daki")
    assert results[1]["matched"] == ["İstanbul"] and results[1]["display_name"] == "Ayşe Yılmaz"
    bad = api.http.get("/api/search", params={"q": "!"})
    assert bad.status_code == 422 and bad.json()["success"] is False


def test_the_database_holds_no_plain_message_word_and_a_cleared_conversation_is_not_found(server):
    owner = login_admin(server)
    visitor = start_visitor(server.url, "Scan")
    for word in SECRET_WORDS:
        assert visitor.post("/chat/messages", {"text": f"{word} {word.upper()} secret"}).status_code == 303
    thread = find_thread(owner, "Scan")
    assert found(owner, "zanzibarli") == found(owner, "ZANZİBARLI") == [thread]
    url = server.env["DATABASE_URL"]
    assert sql(url, "SELECT COUNT(*) FROM search_term WHERE conversation = ?", thread)[0][0] > 0
    held = database_text(url)
    for word in SECRET_WORDS:
        for form in {word, word.lower(), word.upper(), word.casefold(), "zanzibarli", "kumkuatreceli"}:
            for encoding in ("utf-8", "utf-16-le"):
                assert form.encode(encoding) not in held, form

    cleared = owner.post(f"/admin/threads/{thread}/clear", {"confirm": "yes"})
    assert cleared.status_code == 303
    assert found(owner, "zanzibarli") == []
    assert sql(url, "SELECT COUNT(*) FROM search_term WHERE conversation = ? AND message IS NOT NULL", thread) == [(0,)]
    assert found(owner, "scan") == [thread]  # the conversation itself stays, and so does its visitor's name


def test_reindex_after_a_new_secret_key_interrupted_and_resumed(make_server):
    first = make_server(name="reindex-a")
    url = first.env["DATABASE_URL"]
    visitor = start_visitor(first.url, "Deniz")
    words = [f"kelime{number}" for number in range(8)]
    for word in words:
        assert visitor.post("/chat/messages", {"text": f"Şu {word} İĞNE"}).status_code == 303
    first.stop()

    env = {**first.env, "SECRET_KEY": "another-secret-" + "y" * 40}
    second = make_server(name="reindex-b", **env)
    owner = login_admin(second)
    assert found(owner, "igne") == []  # every term was hashed under the old key

    run = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "reindex", "--batch-size", "2", "--pause", "0.5"],
        cwd=ROOT,
        env={**os.environ, **second.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = []
        for line in run.stdout:  # type: ignore[union-attr]
            seen.append(line)
            if line.startswith("reindex: messages:"):
                break
        run.send_signal(signal.SIGKILL)
    finally:
        run.kill()
        run.communicate(timeout=30)
    assert any("checked" in line for line in seen), seen
    thread = find_thread(owner, "Deniz")
    assert found(owner, words[0]) == [thread] and found(owner, words[-1]) == []  # stopped half-way

    done = sohbet(second.env, "reindex", "--batch-size", "3")
    assert done.returncode == 0, done.stderr
    assert "reindex: done:" in done.stdout and "messages already were" in done.stdout
    assert " 0 messages already were" not in done.stdout  # the first run's work was kept
    assert found(owner, "İĞNE") == found(owner, "deniz") == found(owner, words[-1]) == [thread]
    again = sohbet(second.env, "reindex")
    assert again.returncode == 0 and "reindex: done: 0 messages and 0 visitors indexed" in again.stdout, again.stdout
    old_entries = sql(url, "SELECT COUNT(*) FROM search_term")[0][0]
    visitor_after = start_visitor(second.url, "Deniz")  # the live server indexes under the new key as it writes
    assert visitor_after.post("/chat/messages", {"text": "yeni kelime"}).status_code == 303
    assert sql(url, "SELECT COUNT(*) FROM search_term")[0][0] > old_entries

    # Keys that decrypt nothing: each message is named by id (never its content), the command exits 1.
    lost = {**second.env, "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "SECRET_KEY": "third-" + "z" * 40}
    refused = sohbet(lost, "reindex")
    assert refused.returncode == 1, refused.stdout
    assert (
        "message id=1: no configured key decrypts it" in refused.stderr and "could not be decrypted" in refused.stderr
    )
    assert "kelime" not in refused.stderr + refused.stdout
