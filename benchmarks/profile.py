"""Sample a server under load with py-spy and summarise where its time goes.

`python -m benchmarks.run --only throughput --targets sqlite --profile` attaches `py-spy record` to the first
run's server for the whole job and writes `benchmarks/results/profile-<target>-<job>.raw` (collapsed stacks: open
it in speedscope or feed it to flamegraph.pl) and `.txt`: the functions with the most samples, per thread kind.
`python -m benchmarks.profile FILE.raw` prints the summary of a raw (collapsed stacks) file again.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROWS = 30


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def recording(pid: int, output: Path, rate: int = 250) -> Iterator[None]:
    """py-spy records `pid` (all threads, without pausing it) while the block runs."""
    binary = py_spy()
    if binary is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    raw = output.with_suffix(".raw")
    command = [binary, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking", "--threads",
               "--format", "raw", "--output", str(raw)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        if raw.exists():
            output.with_suffix(".txt").write_text(summarise(raw))


def parse(raw: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def short(frame: str) -> str:
    """`func (path/to/module.py:123)` -> `func (module.py)`, with the package for site-packages."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/app/" in path:
        path = "app/" + path.split("/app/", 1)[1]
    elif "/lib/python" in path:
        path = "stdlib/" + path.split("/lib/python", 1)[1].split("/", 1)[-1]
    return f"{name} ({path})"


def summarise(raw: Path) -> str:
    stacks = parse(raw)
    total = sum(count for _, count in stacks) or 1
    by_thread: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for frames, count in stacks:
        thread = frames[0] if frames and frames[0].startswith(("thread", "process")) else "?"
        by_thread[thread.split(" (")[0][:60]] += count
        body = [f for f in frames if " (" in f]
        if body:
            self_time[short(body[-1])] += count
        for frame in {short(f) for f in body}:
            inclusive[frame] += count
        mine = [short(f) for f in body if "(app/" in short(f)]
        if mine:
            ours[mine[-1]] += count

    def block(title: str, counts: Counter[str]) -> list[str]:
        lines = [f"\n== {title}"]
        lines += [f"{100 * n / total:6.1f}%  {name}" for name, n in counts.most_common(ROWS)]
        return lines

    out = [f"{total} samples from {raw.name}"]
    out += block("threads", by_thread)
    out += block("self time (the function on top of the stack)", self_time)
    out += block("inclusive time (anywhere on the stack)", inclusive)
    out += block("innermost frame of our own code (app/) on each stack", ours)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1])))
