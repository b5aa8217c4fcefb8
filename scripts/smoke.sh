#!/usr/bin/env bash
# The whole flow against a running colmeia, through the other scripts: health and readiness,
# ingest a document (ingest.sh), search for it (search.sh), ask about it (ask.sh), remove it by
# metadata with a dry run first and then by id (remove.sh), and check that it is gone. Each step
# prints "ok" with its time; the first step that fails ends the run with its name.
set -euo pipefail
SCRIPT_NAME=smoke.sh

usage() {
  cat <<'EOF'
Usage: scripts/smoke.sh [options]

Runs, against API_URL: GET /health and /ready; ingests a small text document with a unique word;
searches for that word; asks a question about it and checks the answer cites it; removes it (a
dry run by metadata, then by id); checks GET /documents/<id> is 404 and search no longer finds it.
Needs a worker: the document must get indexed.

Options:
      --keep        leave the document in place (skip the removal steps)
      --timeout S   per step (default 60)
  -h, --help        show this help

Environment:
  API_URL   the API (default http://localhost:3000)
  API_KEY   sent as "Authorization: Bearer $API_KEY" when set
  JSON_TOOL jq, python3 or node (default: the first one installed)

Exit status: 0 every step passed; 1 a step failed (named on stderr).
EOF
}

keep=0 timeout=60
source "$(dirname "${BASH_SOURCE[0]}")/lib/client.sh"
here=$(dirname "${BASH_SOURCE[0]}")

while (($# > 0)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --keep) keep=1; shift ;;
    --timeout) need_value $# "$1"; [[ $2 =~ ^[0-9]+$ ]] || die "--timeout must be seconds"; timeout=$2; shift 2 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
require_tools

run_id=$(date +%s)-$RANDOM$RANDOM
word="smokeword${run_id//-/x}"
id="smoke-$run_id"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

started=$SECONDS
now_ms() { local t=${EPOCHREALTIME/[.,]/}; printf '%s' "${t:0:-3}"; }
step() { # step NAME COMMAND...: runs it, prints "ok NAME time" or fails the run
  local name=$1 t
  t=$(now_ms)
  shift
  if ! "$@" >"$work/out" 2>"$work/err"; then
    cat "$work/out" "$work/err" >&2
    die "FAILED: $name"
  fi
  printf 'ok  %-44s %6d ms\n' "$name" "$(($(now_ms) - t))"
}
is_gone() { # 404, not merely an error
  [[ $(curl -sS -o /dev/null -w '%{http_code}' ${auth[@]+"${auth[@]}"} "$API_URL/documents/$id") == 404 ]]
}
is_not_found() {
  ! "$here/search.sh" --json -k 3 "$word flower" | grep -q "\"documentId\":\"$id\""
}
expect() { # expect PATTERN: the last step's output matches PATTERN (grep -E)
  grep -Eq -- "$1" "$work/out" || { cat "$work/out" >&2; die "FAILED: expected output matching /$1/"; }
}

step "GET /health" api GET /health
step "GET /ready" api GET /ready
expect '"ready"'

printf 'The %s is a rare flower that only opens at night in the smoke garden.\nIts petals are silver.\n' "$word" >"$work/$id.txt"
step "ingest (ingest.sh)" "$here/ingest.sh" --id "$id" --title "Smoke test $run_id" -m "{\"smoke\":\"$run_id\"}" --timeout "$timeout" "$work/$id.txt"
expect 'ready'
step "search (search.sh)" "$here/search.sh" -k 3 -w "{\"smoke\":\"$run_id\"}" "$word flower"
expect "\\($id\\)"
step "ask (ask.sh)" env ASK_TIMEOUT="$timeout" "$here/ask.sh" "When does the $word open?"
expect "document $id"
if ((keep)); then
  printf 'kept document %s\n' "$id"
else
  step "remove dry run (remove.sh -n)" "$here/remove.sh" --dry-run --timeout "$timeout" --where "{\"smoke\":\"$run_id\"}"
  expect 'would remove 1 document,'
  step "remove (remove.sh)" "$here/remove.sh" --timeout "$timeout" "$id"
  expect 'removed 1 document,'
  step "GET /documents/<id> is 404" is_gone
  step "search no longer finds it" is_not_found
fi
printf 'smoke test passed in %ds against %s\n' "$((SECONDS - started))" "$API_URL"
