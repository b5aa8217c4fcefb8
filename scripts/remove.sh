#!/usr/bin/env bash
# Removes documents from colmeia: by id (DELETE /documents/:id) or every document whose metadata
# matches a filter (POST /documents/delete). Removals are jobs: it waits for each and prints what
# went. --dry-run only says what would go.
set -euo pipefail
SCRIPT_NAME=remove.sh

usage() {
  cat <<'EOF'
Usage: scripts/remove.sh [options] ID...
       scripts/remove.sh [options] --where JSON

Removes the documents with these ids, or every document whose metadata matches the filter, then
waits for the removal jobs and prints how many documents and chunks went.

Options:
  -w, --where JSON   metadata filter, e.g. '{"source.fileName":"old.pdf"}' (not with ids)
  -n, --dry-run      remove nothing: say what would be removed
      --no-wait      do not wait for the removal jobs (prints their ids)
      --timeout S    wait at most S seconds per job (default 120)
  -h, --help         show this help

Environment:
  API_URL   the API (default http://localhost:3000)
  API_KEY   sent as "Authorization: Bearer $API_KEY" when set
  JSON_TOOL jq, python3 or node (default: the first one installed)

Exit status: 0 done; 1 an error (e.g. an unknown id; the others are still removed).
EOF
}

where='' dry_run=0 wait=1 timeout=120 ids=()
source "$(dirname "${BASH_SOURCE[0]}")/lib/client.sh"

while (($# > 0)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -w|--where) need_value $# "$1"; where=$2; shift 2 ;;
    -n|--dry-run) dry_run=1; shift ;;
    --no-wait) wait=0; shift ;;
    --timeout) need_value $# "$1"; [[ $2 =~ ^[0-9]+$ ]] || die "--timeout must be seconds"; timeout=$2; shift 2 ;;
    --) shift; ids+=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) ids+=("$1"); shift ;;
  esac
done
require_tools
if [[ -n $where ]]; then
  ((${#ids[@]} == 0)) || die "give ids or --where, not both"
  json valid <<<"$where" || die "--where must be a JSON object, e.g. '{\"lang\":\"en\"}'"
elif ((${#ids[@]} == 0)); then
  usage >&2; exit 1
fi

# finish WHAT JOB_ID: waits for the removal job and prints its counts.
finish() {
  local what=$1 job_id=$2 job status=0
  if ((!wait)); then printf '%s: removal enqueued (job %s)\n' "$what" "$job_id"; return 0; fi
  job=$(wait_job remove "$job_id" "$timeout") || status=$?
  if ((status != 0)); then
    ((status == 2)) && note "$SCRIPT_NAME: $what: removal failed: $(json get error.message <<<"$job")"
    return 1
  fi
  local verb=removed
  [[ $(json get result.dryRun <<<"$job") == true ]] && verb='would remove'
  printf '%s: %s %s, %s\n' "$what" "$verb" "$(plural "$(json get result.documents <<<"$job")" document)" "$(plural "$(json get result.chunks <<<"$job")" chunk)"
}

if [[ -n $where ]]; then
  body="{\"where\":$where,\"dryRun\":$( ((dry_run)) && echo true || echo false)}"
  response=$(api POST /documents/delete "$body") || exit 1
  finish "where $where" "$(json get job.id <<<"$response")"
  exit
fi

status=0
for id in "${ids[@]}"; do
  if ((dry_run)); then
    doc=$(api GET "/documents/$(urlencode "$id")") || { status=1; continue; }
    printf '%s: would remove 1 document, %s\n' "$id" "$(plural "$(json get chunkCount <<<"$doc")" chunk)"
    continue
  fi
  response=$(api DELETE "/documents/$(urlencode "$id")") || { status=1; continue; }
  finish "$id" "$(json get job.id <<<"$response")" || status=1
done
exit "$status"
