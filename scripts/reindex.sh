#!/usr/bin/env bash
# Reindexes one collection with another embedder (POST /collections/:collection/reindex), then
# follows the job (GET /jobs/reindex/:id) until the new generation is swapped in.
set -euo pipefail
SCRIPT_NAME=reindex.sh

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/reindex.sh [options] EMBEDDER
       npm run reindex -- [options] EMBEDDER

Builds a new generation of a collection with EMBEDDER (builtin, builtin:<dimension> or
ollama:<model>, e.g. ollama:nomic-embed-text) while searches keep using the current one, then
swaps it in; the workers switch without a restart. Prints the progress until the job ends.

Options:
  -c, --collection C reindex collection C (default: the default collection)
      --no-wait      print the accepted job and return at once
      --timeout S    give up waiting after S seconds (default 3600; the job goes on)
  -h, --help         show this help

Environment:
  API_URL   the API (default http://localhost:3000)
  API_KEY   sent as "Authorization: Bearer $API_KEY" when set
  JSON_TOOL jq, python3 or node (default: the first one installed)

Exit status: 0 swapped in (or accepted, with --no-wait); 2 the reindex failed; 1 any other error.
EOF_USAGE
}

collection=default embedder='' wait=1 timeout=3600
source "$(dirname "${BASH_SOURCE[0]}")/lib/client.sh"

while (($# > 0)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -c|--collection) need_value $# "$1"; collection=$2; shift 2 ;;
    --no-wait) wait=0; shift ;;
    --timeout) need_value $# "$1"; [[ $2 =~ ^[0-9]+$ ]] || die "--timeout must be seconds"; timeout=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $embedder ]] || die "one EMBEDDER only (see --help)"; embedder=$1; shift ;;
  esac
done
[[ -n $embedder ]] || { usage >&2; exit 1; }
require_tools

accepted=$(api POST "/collections/$(urlencode "$collection")/reindex" "{\"embedder\":$(json string "$embedder")}") || exit 1
id=$(json get job.id <<<"$accepted")
note "reindex of $collection as generation $(json get generation <<<"$accepted") with $embedder: job $id"
((wait)) || { printf '%s\n' "$accepted"; exit 0; }

deadline=$((SECONDS + timeout)) last=''
while :; do
  job=$(api GET "/jobs/reindex/$(urlencode "$id")") || exit 1
  status=$(json get status <<<"$job")
  progress="$(json get status <<<"$job") $(json get progress <<<"$job")%"
  [[ $progress == "$last" ]] || note "$progress"
  last=$progress
  case $status in
    succeeded) printf '%s\n' "$(json get result <<<"$job")"; exit 0 ;;
    failed|cancelled) note "error: $(json get error.code <<<"$job"): $(json get error.message <<<"$job")"; exit 2 ;;
  esac
  ((SECONDS < deadline)) || die "job $id still $status after ${timeout}s (it goes on: scripts/jobs.sh wait reindex $id)"
  sleep "$POLL_INTERVAL"
done
