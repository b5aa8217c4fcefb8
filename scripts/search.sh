#!/usr/bin/env bash
# Searches colmeia by meaning (POST /search) and prints the best passages, best first.
set -euo pipefail
SCRIPT_NAME=search.sh

usage() {
  cat <<'EOF'
Usage: scripts/search.sh [options] QUERY

Prints the passages closest in meaning to QUERY: rank, score, title, document id, and the start
of the passage.

Options:
  -c, --collection C search collection C (default: the default collection)
  -k N               results (1-100; default: the server's, 5)
  -w, --where JSON   metadata filter, e.g. '{"lang":"en"}' or '{"year":{"$gte":2020}}'
      --json         print the API's JSON answer instead
  -h, --help         show this help

Environment:
  API_URL   the API (default http://localhost:3000)
  API_KEY   sent as "Authorization: Bearer $API_KEY" when set
  JSON_TOOL jq, python3 or node (default: the first one installed)

Exit status: 0 answered (even with no results); 1 any error.
EOF
}

k='' where='' query='' raw=0
source "$(dirname "${BASH_SOURCE[0]}")/lib/client.sh"

while (($# > 0)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -c|--collection) need_value $# "$1"; use_collection "$2"; shift 2 ;;
    -k) need_value $# "$1"; [[ $2 =~ ^[0-9]+$ ]] || die "-k must be a number"; k=$2; shift 2 ;;
    -w|--where) need_value $# "$1"; where=$2; shift 2 ;;
    --json) raw=1; shift ;;
    --) shift; query="$*"; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) query=${query:+$query }$1; shift ;;
  esac
done
[[ -n ${query//[[:space:]]/} ]] || { usage >&2; exit 1; }
require_tools
if [[ -n $where ]] && ! json valid <<<"$where"; then die "--where must be a JSON object, e.g. '{\"lang\":\"en\"}'"; fi

body="{\"query\":$(json string "$query")${k:+,\"k\":$k}${where:+,\"where\":$where}}"
response=$(api POST "$COLLECTION_PATH/search" "$body") || exit 1
if ((raw)); then printf '%s\n' "$response"; exit 0; fi
hits=$(json hits <<<"$response")
if [[ -z $hits ]]; then note "no results"; else printf '%s\n' "$hits"; fi
