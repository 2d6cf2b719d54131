"""Shared by the runner and the load process: loopback guard, machine facts, CPU pinning, process memory, stats."""

from __future__ import annotations

import math
import os
import platform
import resource
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
SERVER_CPU = 0  # the server under test
LOAD_CPU = 1  # the load generator (and the runner, Chromium)


def require_loopback(host: str) -> str:
    """Benchmarks only ever talk to this machine's loopback address."""
    if host != LOOPBACK:
        raise SystemExit(f"refusing to benchmark {host!r}: only {LOOPBACK} is allowed")
    return host


def cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def pinned(command: list[str], cpu: int) -> list[str]:
    """`command` run on one CPU (taskset pins every thread the process will ever start), when there are two."""
    available = cpus()
    if len(available) < 2 or cpu not in available or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(cpu), *command]


def pin_self(cpu: int) -> None:
    available = cpus()
    if len(available) >= 2 and cpu in available:
        os.sched_setaffinity(0, {cpu})


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise RLIMIT_NOFILE's soft limit towards the hard one (children inherit it); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS from /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def machine() -> dict[str, object]:
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = -1.0
    return {
        "cpu": model,
        "cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "kernel": platform.release(),
        "load_1min_at_start": round(load, 2),
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; inf when empty."""
    if not values:
        return float("inf")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
