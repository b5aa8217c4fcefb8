#!/usr/bin/env bash
# Runs colmeia's static checks: ESLint (type-aware rules), Prettier's format check and the import
# cycle check. Runs all three even when one fails, so one run shows every problem; exits 1 if any failed.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: npm run lint            (or: bash scripts/lint.sh [--help])
  eslint .            lint rules (eslint.config.js); `npm run format` fixes what can be fixed
  prettier --check .  formatting (.prettierrc)
  npm run cycles      no import cycles between our modules, type-only imports included
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  '') ;;
  *) printf 'lint: unknown argument: %s\n\n' "$1" >&2; usage >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

failed=()
run() { # $1: name, then the command
  local name=$1
  shift
  printf 'lint: %s\n' "$name"
  "$@" || failed+=("$name")
}

run eslint npx eslint .
run prettier npx prettier --check --log-level warn .
run cycles npm run --silent cycles

if ((${#failed[@]} > 0)); then
  printf 'lint: failed: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf 'lint: all checks passed\n'
