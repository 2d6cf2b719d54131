"""app/ops/healthcheck.py and app/ops/findings.py in process: the health URL a base URL names, the summary of a
/health body, how a finding prints, and URLs with their password masked."""

from __future__ import annotations

import pytest

from app.ops.findings import FAIL, PASS, WARN, Finding, failed, human_size, mask_url
from app.ops.healthcheck import BadURL, health_url, summarize_checks


def test_health_url():
    assert health_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/health"
    assert health_url("http://127.0.0.1:8000/health/", ready=True) == "http://127.0.0.1:8000/health/ready"
    assert health_url("https://chat.example.com/sub/health/ready") == "https://chat.example.com/sub/health"
    for bad in ("ftp://example.com", "example.com", "http://:99999"):
        with pytest.raises(BadURL):
            health_url(bad)


def test_summarize_checks():
    parts, degraded = summarize_checks(
        {
            "database": "ok",
            "disk": {"free_bytes": 2048, "low": True},
            "storage": {"backend": "local", "pending_deletions": 0},
            "telegram": {"status": "backlog", "mode": "polling"},
        }
    )
    assert parts == [
        "database ok",
        "disk 2 KB free (LOW)",
        "storage local, 0 pending deletion(s)",
        "telegram backlog (polling)",
    ]
    assert degraded == ["disk: 2 KB free (LOW)", "telegram: backlog (polling)"]


def test_a_finding_prints_its_fix_only_when_something_is_wrong():
    assert str(Finding(PASS, "HSTS", "on", "ignored")) == "PASS HSTS: on"
    assert str(Finding(WARN, "X", "odd", "fix it")) == "WARN X: odd -> fix it"
    assert failed([Finding(FAIL, "a", "b"), Finding(PASS, "c", "d")]) == [Finding(FAIL, "a", "b")]


def test_mask_url_and_sizes():
    assert mask_url("postgresql://sohbet:hunter2@db:5432/chat") == "postgresql://sohbet:***@db:5432/chat"
    assert mask_url("postgresql://db/chat?password=hunter2&x=1") == "postgresql://db/chat?password=***&x=1"
    assert mask_url("sqlite:////data/sohbet.sqlite3") == "sqlite:////data/sohbet.sqlite3"
    assert human_size(5 * 1024 * 1024) == "5 MB" and human_size(None) == "0 B"
