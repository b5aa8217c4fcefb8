#!/usr/bin/env bash
# Looks at colmeia's jobs (GET /jobs/:queue/:id): status, progress, attempts, result or error;
# waits for one to finish; re-runs a failed ingest or remove job (POST /jobs/:queue/:id/retry).
set -euo pipefail
SCRIPT_NAME=jobs.sh

usage() {
  cat <<'EOF'
Usage: scripts/jobs.sh status [QUEUE] JOB_ID
       scripts/jobs.sh wait   [QUEUE] JOB_ID
       scripts/jobs.sh retry  [QUEUE] JOB_ID

  status   prints the job: status (waiting, active, retrying, succeeded, failed, cancelled),
           progress, attempts, then its result or error
  wait     polls until the job has finished, then prints it like status
  retry    runs a failed ingest or remove job again, under the same id

QUEUE is ingest, remove, search, answer, reindex or drop-collection; without it, it is read from the id's prefix
(ingest:…, remove:…, answer:…), as the API hands ids out.

Options:
      --json       print the API's JSON answer instead
      --timeout S  wait: give up after S seconds (default 300)
  -h, --help       show this help

Environment:
  API_URL   the API (default http://localhost:3000)
  API_KEY   sent as "Authorization: Bearer $API_KEY" when set
  JSON_TOOL jq, python3 or node (default: the first one installed)

Exit status: 0 done (wait: the job succeeded); 2 wait: the job failed or was cancelled; 1 any error.
EOF
}

raw=0 timeout=300 args=()
source "$(dirname "${BASH_SOURCE[0]}")/lib/client.sh"

while (($# > 0)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --json) raw=1; shift ;;
    --timeout) need_value $# "$1"; [[ $2 =~ ^[0-9]+$ ]] || die "--timeout must be seconds"; timeout=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) args+=("$1"); shift ;;
  esac
done
((${#args[@]} >= 2 && ${#args[@]} <= 3)) || { usage >&2; exit 1; }
require_tools
command=${args[0]}
if ((${#args[@]} == 3)); then queue=${args[1]} id=${args[2]}; else id=${args[1]} queue=${args[1]%%:*}; fi
case $queue in ingest|remove|search|answer|reindex|drop-collection) ;; *) die "cannot tell the queue of job $id: give it (ingest, remove, search or answer)" ;; esac

show() { # show JOB_JSON
  if ((raw)); then printf '%s\n' "$1"; return; fi
  local result error
  printf '%s  %s  %s  %s%%  attempts %s\n' "$(json get id <<<"$1")" "$(json get queue <<<"$1")" "$(json get status <<<"$1")" \
    "$(json get progress <<<"$1")" "$(json get attempts <<<"$1")"
  result=$(json get result <<<"$1")
  error=$(json get error <<<"$1")
  [[ -n $result ]] && printf 'result: %s\n' "$result"
  [[ -n $error ]] && printf 'error: %s: %s\n' "$(json get error.code <<<"$1")" "$(json get error.message <<<"$1")"
  return 0
}

path="/jobs/$queue/$(urlencode "$id")"
case $command in
  status) job=$(api GET "$path") || exit 1; show "$job" ;;
  wait)
    status=0; job=$(wait_job "$queue" "$id" "$timeout") || status=$?
    ((status == 1)) && exit 1
    show "$job"
    exit "$status" ;;
  retry)
    response=$(api POST "$path/retry") || exit 1
    if ((raw)); then printf '%s\n' "$response"; else printf '%s: %s again\n' "$(json get job.id <<<"$response")" "$(json get status <<<"$response")"; fi ;;
  *) die "unknown command $command: status, wait or retry (see --help)" ;;
esac
