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

# A test that fails is run once more on its own after its backend's run (at most 5 of them): the run passes only if
# each passes then, and the output names them either way (a timing test on a loaded 2-core machine may lose a race;
# a real failure fails twice).
mkdir -p .cache
status=0
for backend in sqlite postgres; do
  echo "== pytest on $backend"
  log=".cache/pytest-$backend.log"
  result=0
  SOHBET_TEST_DB=$backend .venv/bin/python -m pytest -p no:cacheprovider -rfE "$@" 2>&1 | tee "$log" || result=$?
  [ "$result" = 0 ] && continue
  mapfile -t failed < <(sed -n 's/^FAILED \([^ ]*\).*/\1/p; s/^ERROR \([^ ]*\).*/\1/p' "$log" | sort -u)
  if [ "${#failed[@]}" = 0 ] || [ "${#failed[@]}" -gt 5 ]; then
    status=1
    continue
  fi
  echo "== $backend: running the ${#failed[@]} failed test(s) once more, alone: ${failed[*]}"
  SOHBET_TEST_DB=$backend .venv/bin/python -m pytest -p no:cacheprovider -q "${failed[@]}" || status=1
done
exit $status
