"""The browser fixtures every browser test shares: one Chromium per module and a checked session per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser as PlaywrightBrowser

from tests.browser import BrowserSession, launch_chromium
from tests.browser.embed_host import HostSite

# sohbet.test is a second name for loopback that Chromium does *not* count as secure (the embed cookie-fallback
# test reaches its server by it); mapping it changes nothing for the other tests.
LOOPBACK_ALIAS = "--host-resolver-rules=MAP sohbet.test 127.0.0.1"


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[PlaywrightBrowser]:
    with launch_chromium(LOOPBACK_ALIAS) as browser:
        yield browser


@pytest.fixture
def browsers(chromium_browser: PlaywrightBrowser, request: pytest.FixtureRequest) -> Iterator[BrowserSession]:
    """Contexts for one test. A test that passes without calling `assert_clean()` is still checked here."""
    session = BrowserSession(chromium_browser)
    failed_before = request.session.testsfailed
    try:
        yield session
        if not session.checked and request.session.testsfailed == failed_before:
            session.assert_clean()
    finally:
        session.close()


@pytest.fixture(scope="module")
def host_site() -> Iterator[HostSite]:
    """A website on loopback that embeds the widget (tests/browser/embed_host.py); `embedding_server` points it at
    a Sohbet server."""
    site = HostSite("").start()
    yield site
    site.stop()
