"""The benchmarks keep working: `python -m benchmarks.run --size tiny` runs every scenario once, small, and prints
its table with a number in every metric row. It asserts nothing about the numbers themselves (they are not
targets here: the machine is shared and tiny sizes say little), only that every instrument produced one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import BACKEND, ROOT

# The tiny run covers SQLite and PostgreSQL itself: run it once, in the SQLite pass of the suite.
pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the benchmark run covers both databases itself")

NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?( \(.*\))?$")
MISSING_FEATURE = "not built"  # a row whose feature is not in the app yet (the embeddable widget)


def test_tiny_benchmark_run_prints_every_metric(tmp_path: Path) -> None:
    report_path = tmp_path / "bench.json"
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--size", "tiny", "--json", str(report_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-6000:]
    report = json.loads(report_path.read_text())
    assert not report["errors"], report["errors"]

    # The printed table: one line per metric, a number in every column that the row measures.
    lines = [line for line in process.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    header, *rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert header[:6] == ["metric", "ours SQLite", "ours PostgreSQL", "raw-ASGI floor", "old stack", "target (SPEC §7)"]
    assert "machine: " in process.stdout and "cores, Python" in process.stdout
    labels = [row[0] for row in rows]
    for wanted in ("visitor page, start form", "memory per idle visitor stream", "throughput", "latency",
                   "reconnect storm", "vs old stack"):  # fmt: skip
        assert any(wanted in label for label in labels), f"no row for {wanted}: {labels}"
    # The old stack runs from its own venv, built from PyPI on first use: without PyPI it is skipped (and says so).
    peer_skipped = any(note.startswith("old stack skipped") for note in report["notes"])
    for row in rows:
        if peer_skipped and "vs old stack" in row[0]:
            continue
        measured = [cell for i, cell in enumerate(row[1:5]) if cell and not (peer_skipped and i == 3)]
        assert measured, f"row {row[0]!r} has no value"
        for value in measured:
            if value.startswith(MISSING_FEATURE):
                continue
            assert NUMBER.match(value), f"row {row[0]!r}: {value!r} is not a number"

    # The same numbers, machine-readable: every scenario ran on every target it applies to.
    results = report["results"]
    assert results["sqlite"]["tp_max"] and results["postgres"]["tp_max"]
    assert results["floor"]["tp_max"] and (peer_skipped or results["peer"]["tp_max"])
    assert results["sqlite"]["storm_bad"] == [0] and results["floor"]["storm_bad"] == [0]
    assert report["machine"]["cores"] >= 1 and report["machine"]["python"]
