#!/usr/bin/env bash
# Installs everything the test suite needs, then runs all of it: lint and types, then pytest on SQLite and on PostgreSQL.
# Usage: bash tests/run_all.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Browser tests drive Debian's Chromium (never `playwright install`).
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

# axe-core (the contrast checks of tests/browser/test_contrast.py) from npm, into .cache/axe.
if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    npm install --no-audit --no-fund --silent --prefix .cache/axe "axe-core@^4.10" >/dev/null
  else
    echo "npm not found: tests/browser/test_contrast.py will be skipped (it needs axe-core from npm)"
  fi
fi

# PostgreSQL on 127.0.0.1:5432 (trust auth), started if it is not up.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  for _ in $(seq 1 60); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== mypy"
.venv/bin/mypy app

# The two backends run side by side (each test waits on servers and browsers far more than it computes; the SQLite
# run never touches the shared PostgreSQL, whose outage tests only disturb the PostgreSQL run, in its own order).
# A test that fails is run once more on its own, after both: it passes only if it passes then, and is named either way.
mkdir -p .cache
run_backend() {
  SOHBET_TEST_DB="$1" .venv/bin/python -m pytest -p no:cacheprovider --basetemp="/tmp/sohbet-pytest-$1" -rf "${@:2}" > ".cache/pytest-$1.log" 2>&1
}
run_backend sqlite "$@" & sqlite_pid=$!
run_backend postgres "$@" & postgres_pid=$!
results=()
wait $sqlite_pid && results+=(0) || results+=($?)
wait $postgres_pid && results+=(0) || results+=($?)

status=0
backends=(sqlite postgres)
for i in 0 1; do
  backend=${backends[$i]}
  echo "== pytest on $backend"
  cat ".cache/pytest-$backend.log"
  [ "${results[$i]}" = 0 ] && continue
  mapfile -t failed < <(sed -n 's/^FAILED \([^ ]*\).*/\1/p; s/^ERROR \([^ ]*\).*/\1/p' ".cache/pytest-$backend.log" | sort -u)
  if [ "${#failed[@]}" = 0 ] || [ "${#failed[@]}" -gt 5 ]; then
    status=1
    continue
  fi
  echo "== $backend: running the ${#failed[@]} failed test(s) once more, alone: ${failed[*]}"
  SOHBET_TEST_DB=$backend .venv/bin/python -m pytest -p no:cacheprovider -q "${failed[@]}" || status=1
done
exit $status
