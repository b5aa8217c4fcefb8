#!/usr/bin/env bash
# Runs colmeia's tests: unit, integration (real Redis, SQLite, Postgres when TEST_DATABASE_URL is
# set) and end-to-end (the built web and worker processes). Installs dependencies if missing.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: npm test [-- FILTER]
  Builds (tsc -b), lints (npm run lint) and runs every *.test.ts with node's test runner.
  FILTER (optional): only test files whose path contains it, e.g. `npm test -- e2e` or `npm test -- where`.
Environment:
  TEST_DATABASE_URL  postgres://... to also run the storage tests on Postgres (each test uses a private schema)
Needs: Node 20+, npm, redis-server on PATH (tests start their own on free ports).
USAGE
}

case "${1:-}" in -h|--help) usage; exit 0 ;; esac
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  echo "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server is not installed: the tests start their own. Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)." >&2
  exit 1
fi

npx tsc -b
npm run --silent lint # eslint, prettier --check, import cycles: a lint error fails the tests
mapfile -t files < <(find dist -name '*.test.js' -not -path '*/node_modules/*' | grep -F -- "${1:-}" | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files match '${1:-}'" >&2
  exit 1
fi
exec node --test --test-reporter=spec --test-concurrency="${TEST_CONCURRENCY:-2}" "${files[@]}"
