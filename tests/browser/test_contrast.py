"""Colour contrast, measured by axe-core in Chromium (SPEC §14, WCAG AA): no `color-contrast` violation on the
visitor page (start form and chat), the widget (the launcher's panel on a host page and the chat in its iframe)
and the dashboard (conversation, settings), in the light and the dark colour scheme — with the default accent and
with a custom accent set through /admin/settings.

axe-core comes from npm into .cache/axe (tests/run_all.sh installs it; this module installs it when missing and
npm is there, and skips, saying so, only when npm is not)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page, expect

from app.services.branding import accent_problem
from tests.browser import BrowserSession, login_admin_page, send, start_chat_page, wait_for_thread
from tests.support import Server, login_admin

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE_DIR = ROOT / ".cache" / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_VERSION = "axe-core@^4.10"
CUSTOM_ACCENT = "#c2410c"  # an orange just above AA with white text (5.2:1) and on the page (4.8:1)
SCHEMES = ("light", "dark")
ACCENT_RGB = {"default": "rgb(11, 92, 173)", "custom": "rgb(194, 65, 12)"}

RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: { type: "rule", values: ["color-contrast"] },
    resultTypes: ["violations"],
  });
  return result.violations.flatMap(v => v.nodes.map(n => n.target.join(" ") + " -> " + n.failureSummary));
}"""


@pytest.fixture(scope="module")
def axe_path() -> Path:
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(f"axe-core is not in {AXE_DIR} and npm is not available to install it ({AXE_VERSION})")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR), AXE_VERSION],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE_JS


@pytest.fixture(scope="module")
def brand_server(make_server) -> Iterator[Server]:
    yield make_server("contrast")


def axe_page(browsers: BrowserSession, server: Server, axe_path: Path, scheme: str, **options) -> Page:
    """A page with axe-core in every document it opens (an init script: the pages' CSP does not apply to it)."""
    page = browsers.new_page(server.url, color_scheme=scheme, **options)
    page.context.add_init_script(path=str(axe_path))
    return page


def violations(target: Page | Frame, where: str) -> list[str]:
    return [f"{where}: {found}" for found in target.evaluate(RUN_AXE)]


def axe_catches_low_contrast(page: Page) -> bool:
    """axe runs and would see a violation: a light grey paragraph on white is one (removed again)."""
    page.evaluate("""() => {
      const p = document.createElement("p");
      p.id = "axe-canary";
      p.textContent = "barely readable";
      p.style.color = "#bbbbbb";
      p.style.background = "#ffffff";
      document.querySelector("main").prepend(p);
    }""")
    caught = any("#axe-canary" in found for found in violations(page, "canary"))
    page.evaluate("() => document.getElementById('axe-canary').remove()")
    return caught


def check_everything(browsers: BrowserSession, server: Server, axe_path: Path, scheme: str, tag: str) -> list[str]:
    found: list[str] = []
    visitor = axe_page(browsers, server, axe_path, scheme)
    visitor.goto("/")
    assert axe_catches_low_contrast(visitor)
    found += violations(visitor, f"{scheme} visitor start page")
    button = visitor.eval_on_selector("#app form button[type=submit]", "b => getComputedStyle(b).backgroundColor")
    if scheme == "light":
        assert button == ACCENT_RGB[tag], button  # the accent in use is the one being checked
    name = f"Contrast {tag} {scheme}"
    start_chat_page(visitor, name)
    send(visitor, "Is this readable?")

    admin = axe_page(browsers, server, axe_path, scheme, viewport={"width": 1280, "height": 800})
    login_admin_page(admin, server)
    thread = wait_for_thread(admin, name)
    admin.goto(f"/admin/threads/{thread}")
    admin.fill("#composer-text", "Yes, it is.")
    admin.click("#composer button[type=submit]")
    expect(visitor.locator("#messages article[data-sender=admin]")).to_have_count(1)
    found += violations(visitor, f"{scheme} visitor chat")
    found += violations(admin, f"{scheme} dashboard conversation")
    for path in ("/admin", "/admin/settings", "/admin/embed", "/admin/reports"):
        admin.goto(path)
        found += violations(admin, f"{scheme} {path}")

    host = axe_page(browsers, server, axe_path, scheme)
    host.goto("/embed/demo")
    host.locator("sohbet-chat button.b").click()
    expect(host.locator("sohbet-chat #p")).to_be_visible()
    frame = next(f for f in wait_frames(host, server))
    expect(frame.locator("#display_name")).to_be_visible()
    found += violations(frame, f"{scheme} widget panel (iframe)")
    found += violations(host, f"{scheme} widget launcher and panel (host page)")
    return found


def wait_frames(page: Page, server: Server) -> Iterator[Frame]:
    for _ in range(300):
        frames = [f for f in page.frames if f.url.startswith(server.url + "/embed?")]
        if frames:
            frames[0].wait_for_load_state()
            yield frames[0]
            return
        page.wait_for_timeout(50)
    raise AssertionError("the widget's iframe did not load")


def test_no_contrast_violation_with_the_default_accent(brand_server, browsers, axe_path):
    found = [v for scheme in SCHEMES for v in check_everything(browsers, brand_server, axe_path, scheme, "default")]
    assert not found, "axe color-contrast violations:\n" + "\n".join(found)
    browsers.assert_clean()


def test_no_contrast_violation_with_a_custom_accent(brand_server, browsers, axe_path):
    assert accent_problem(CUSTOM_ACCENT) is None
    admin = login_admin(brand_server)
    fields = {"site_name": "Contrast Shop", "accent": CUSTOM_ACCENT, "greeting": "Hello!", "embed_origins": ""}
    assert admin.post("/admin/settings", fields).status_code == 303

    found = [v for scheme in SCHEMES for v in check_everything(browsers, brand_server, axe_path, scheme, "custom")]
    assert not found, "axe color-contrast violations:\n" + "\n".join(found)
    browsers.assert_clean()
