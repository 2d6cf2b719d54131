"""Accessibility, measured by axe-core in Chromium (SPEC §11): no violation of the WCAG 2.1 A and AA rules on the
start page, a conversation with messages of every kind (visitor's, agent's, a system note; on the dashboard an
agent's private note too), the visitor's data page, the widget's panel, the login page, the dashboard with a
conversation open, and the team, settings, canned replies, blocks, reports, privacy and search pages — in the
light and the dark colour scheme.

axe-core is the npm package (tests/run_all.sh installs it into .cache/axe; tests/browser/test_contrast.py's
fixture installs it when missing and skips only without npm)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page, expect

from tests.browser import BrowserSession, login_admin_page, send, start_chat_page, wait_for_thread
from tests.browser.test_contrast import axe_page, axe_path, wait_frames  # noqa: F401 - axe_path is a fixture
from tests.support import Server

pytestmark = pytest.mark.browser

SCHEMES = ("light", "dark")
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
  return result.violations.flatMap(v => v.nodes.map(n => v.id + " " + n.target.join(" ") + " -> " + n.failureSummary));
}"""


@pytest.fixture(scope="module")
def a11y_server(make_server) -> Iterator[Server]:
    yield make_server("a11y")


def violations(target: Page | Frame, where: str) -> list[str]:
    return [f"{where}: {found}" for found in target.evaluate(RUN_AXE, WCAG)]


def check_pages(browsers: BrowserSession, server: Server, axe: Path, scheme: str) -> list[str]:
    found: list[str] = []
    visitor = axe_page(browsers, server, axe, scheme)
    visitor.goto("/")
    found += violations(visitor, f"{scheme} start page")
    name = f"Access {scheme}"
    start_chat_page(visitor, name)
    send(visitor, "Can a screen reader read this?")

    admin = axe_page(browsers, server, axe, scheme, viewport={"width": 1280, "height": 800})
    admin.goto("/login")
    found += violations(admin, f"{scheme} login")
    login_admin_page(admin, server)
    thread = wait_for_thread(admin, name)
    admin.goto(f"/admin/threads/{thread}")
    admin.fill("#composer-text", "Yes, it can.")
    admin.click("#composer button[type=submit]")
    expect(visitor.locator("#messages article[data-sender=admin]")).to_have_count(1)
    admin.check("input[name=kind][value=note]")
    admin.fill("#composer-text", "A note for the team.")
    admin.click("#composer button[type=submit]")
    expect(admin.locator("#messages article[data-sender=note]")).to_have_count(1)
    found += violations(visitor, f"{scheme} visitor conversation")
    visitor.goto("/chat/privacy")
    found += violations(visitor, f"{scheme} visitor's data page")
    visitor.goto("/")
    found += violations(admin, f"{scheme} dashboard conversation")
    for path in (
        "/admin",
        "/admin/team",
        "/admin/settings",
        "/admin/canned",
        "/admin/blocks",
        "/admin/reports",
        "/admin/me",
        "/admin/embed",
        "/admin/audit",
        "/admin/privacy",
        "/admin/search?q=readable",
    ):
        admin.goto(path)
        found += violations(admin, f"{scheme} {path}")

    host = axe_page(browsers, server, axe, scheme)
    host.goto("/embed/demo")
    host.locator("sohbet-chat button.b").click()
    expect(host.locator("sohbet-chat #p")).to_be_visible()
    frame = next(f for f in wait_frames(host, server))
    expect(frame.locator("#display_name")).to_be_visible()
    found += violations(host, f"{scheme} widget launcher and panel (axe goes into the iframe)")
    return found


@pytest.mark.parametrize("scheme", SCHEMES)
def test_no_wcag_violation(a11y_server, browsers, axe_path, scheme):  # noqa: F811
    found = check_pages(browsers, a11y_server, axe_path, scheme)
    assert not found, "axe WCAG 2.1 A/AA violations:\n" + "\n".join(found)
