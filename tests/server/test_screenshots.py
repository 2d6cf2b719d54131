"""The README's screenshots come from scripts/screenshots.py (a real `sohbet serve`, seeded through the forms,
photographed by Debian's Chromium): the script runs without error, and the README shows what it makes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support import BACKEND, ROOT

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ("visitor.png", "dashboard.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
    pytest.mark.skipif(BACKEND != "sqlite", reason="the script runs a SQLite server of its own"),
]


def test_the_script_makes_the_readme_screenshots(tmp_path):
    done = subprocess.run(
        [sys.executable, "scripts/screenshots.py", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    for name in SHOTS:
        with Image.open(tmp_path / name) as image:
            assert image.size == (1280, 800)
            assert len(image.getcolors(256) or []) > 8  # a page, not a blank or error screen
        assert (tmp_path / name).stat().st_size < 200_000


def test_the_readme_shows_the_committed_screenshots():
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r"!\[[^\]]+\]\((docs/screenshots/[^)]+\.png)\)", readme)
    assert sorted(shown) == sorted(f"docs/screenshots/{name}" for name in SHOTS)
    for path in shown:
        with Image.open(ROOT / path) as image:
            assert image.size == (1280, 800)
