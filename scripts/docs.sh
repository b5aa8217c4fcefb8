#!/usr/bin/env bash
# Lists, shows and counts colmeia's documents: GET /documents (every page, filtered by metadata and
# status), GET /documents/:id, and a count, which uses POST /documents/count when the API has it and
# otherwise counts through the listing.
set -euo pipefail
SCRIPT_NAME=docs.sh

usage() {
  cat <<'EOF'
Usage: scripts/docs.sh [options] list
       scripts/docs.sh [options] show ID
       scripts/docs.sh [options] count

list   one line per document: id, status, revision, chunks, title (every page)
show   one document as JSON (its status, error, hashes, metadata; not its text)
count  how many documents match (POST /documents/count when the API has it, else the listing)

Options:
  -c, --collection C   documents of collection C (default: the default collection)
  -w, --where JSON     only documents whose metadata matches, e.g. '{"lang":"en"}'
  -s, --status S       only documents in status S: pending, indexing, ready or failed
      --json           list: the raw pages, one JSON object per line
  -h, --help           show this help

Environment:
  API_URL   the API (default http://localhost:3000)
  API_KEY   sent as "Authorization: Bearer $API_KEY" when set

Exit status: 0 done; 1 an error (the API's message on stderr).
EOF
}

source "$(dirname "${BASH_SOURCE[0]}")/lib/client.sh"
where='' status='' raw=0 command='' id=''
while (($# > 0)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -c|--collection) need_value $# "$1"; use_collection "$2"; shift 2 ;;
    -w|--where) need_value $# "$1"; where=$2; shift 2 ;;
    -s|--status) need_value $# "$1"; [[ $2 =~ ^(pending|indexing|ready|failed)$ ]] || die "--status must be pending, indexing, ready or failed"; status=$2; shift 2 ;;
    --json) raw=1; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) if [[ -z $command ]]; then command=$1; elif [[ $command == show && -z $id ]]; then id=$1; else die "unexpected argument $1 (see --help)"; fi; shift ;;
  esac
done
[[ $command =~ ^(list|show|count)$ ]] || { usage >&2; exit 1; }
[[ $command != show || -n $id ]] || die "show needs a document id"
require_tools
if [[ -n $where ]] && ! json valid <<<"$where"; then die "--where must be a JSON object, e.g. '{\"lang\":\"en\"}'"; fi

# each_page: prints every page of GET /documents (filtered), one JSON object per line; progress on stderr.
each_page() {
  local cursor='' page pages=0 query
  while :; do
    query="limit=200${where:+&where=$(urlencode "$where")}${status:+&status=$status}${cursor:+&cursor=$(urlencode "$cursor")}"
    page=$(api GET "$COLLECTION_PATH/documents?$query") || return 1
    printf '%s\n' "$page"
    pages=$((pages + 1))
    ((pages % 10 != 0)) || note "… $((pages * 200)) documents read"
    cursor=$(json get nextCursor <<<"$page")
    [[ -n $cursor ]] || return 0
  done
}

# count_documents: POST /documents/count when the API has that route (and no status filter is
# asked), else by reading the listing.
count_documents() {
  local response counted=0 page pages filter=${where:-'{}'} count=''
  if [[ -z $status ]] && response=$(api POST "$COLLECTION_PATH/documents/count" "{\"where\":$filter}" 2>/dev/null); then count=$(json get count <<<"$response"); fi
  if [[ $count =~ ^[0-9]+$ ]]; then printf '%s\n' "$count"; return 0; fi
  pages=$(each_page) || return 1
  while IFS= read -r page; do
    counted=$((counted + $(json docs <<<"$page" | wc -l)))
  done <<<"$pages"
  printf '%d\n' "$counted"
}

case $command in
  list)
    pages=$(each_page) || exit 1
    if ((raw)); then printf '%s\n' "$pages"; else
      while IFS= read -r page; do json docs <<<"$page" | while IFS=$'\t' read -r doc_id doc_status revision chunks title; do
        printf '%s  %s  revision %s  %s  %s\n' "$doc_id" "$doc_status" "$revision" "$(plural "$chunks" chunk)" "$title"
      done; done <<<"$pages"
    fi ;;
  show) api GET "$COLLECTION_PATH/documents/$(urlencode "$id")"; printf '\n' ;;
  count) count_documents ;;
esac
