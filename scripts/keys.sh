#!/usr/bin/env bash
# Manages colmeia's API keys stored in SQL: create one with a role and a collection scope (its secret
# is printed once), list them (never their secrets), revoke one. Needs an admin key (API_KEY), or none
# while the service has no key at all (then the first key created turns authentication on).
set -euo pipefail
SCRIPT_NAME=keys.sh

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/keys.sh create NAME [--role ROLE] (-c COLLECTION... | --all)
       scripts/keys.sh list
       scripts/keys.sh revoke KEY_ID

  create   makes a key; prints its secret alone on stdout (shown this once: only its SHA-256 is kept)
           and what it may do on stderr
  list     one line per key: id, role, collections, created, revoked or active, name
  revoke   revokes the key: every web process refuses it from then on

Options:
  -r, --role ROLE        read (search, chat, every GET; the default), write (also add and remove
                         documents) or admin (also collections and keys)
  -c, --collection NAME  a collection the key reaches (repeat for several)
      --all              every collection, those created later too
      --json             print the API's JSON answer instead
  -h, --help             show this help

Environment:
  API_URL   the API (default http://localhost:3000)
  API_KEY   an admin key, sent as "Authorization: Bearer $API_KEY" when set
  JSON_TOOL jq, python3 or node (default: the first one installed)

Exit status: 0 done; 1 any error.
EOF_USAGE
}

raw=0 role=read all=0 collections=() args=()
source "$(dirname "${BASH_SOURCE[0]}")/lib/client.sh"

while (($# > 0)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --json) raw=1; shift ;;
    -r|--role) need_value $# "$1"; role=$2; shift 2 ;;
    -c|--collection) need_value $# "$1"; collections+=("$2"); shift 2 ;;
    --all) all=1; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) args+=("$1"); shift ;;
  esac
done
((${#args[@]} >= 1)) || { usage >&2; exit 1; }
require_tools
command=${args[0]}

create() {
  local name=$1 scope='' c response
  case $role in read|write|admin) ;; *) die "--role must be read, write or admin (got '$role')" ;; esac
  if ((all)); then
    ((${#collections[@]} == 0)) || die "give -c COLLECTION or --all, not both"
    scope='"*"'
  else
    ((${#collections[@]} > 0)) || die "give the collections the key reaches (-c COLLECTION, repeatable) or --all"
    for c in "${collections[@]}"; do scope+="${scope:+,}$(json string "$c")"; done
  fi
  response=$(api POST /keys "{\"name\":$(json string "$name"),\"role\":\"$role\",\"collections\":[$scope]}") || exit 1
  if ((raw)); then printf '%s\n' "$response"; return; fi
  note "created $(json get key.id <<<"$response"): $role on $(json get key.collections <<<"$response"); its secret is shown this once"
  printf '%s\n' "$(json get secret <<<"$response")"
}

list() {
  local response line revoked
  response=$(api GET /keys) || exit 1
  if ((raw)); then printf '%s\n' "$response"; return; fi
  while IFS= read -r line; do
    revoked=$(json get revokedAt <<<"$line")
    if [[ -n $revoked ]]; then revoked="revoked $revoked"; else revoked=active; fi
    printf '%s  %s  %s  %s  %s  %s\n' "$(json get id <<<"$line")" "$(json get role <<<"$line")" "$(json get collections <<<"$line")" \
      "$(json get createdAt <<<"$line")" "$revoked" "$(json get name <<<"$line")"
  done < <(json each keys <<<"$response")
}

case $command in
  create) ((${#args[@]} == 2)) || die "create takes one NAME (see --help)"; create "${args[1]}" ;;
  list) ((${#args[@]} == 1)) || die "list takes no arguments"; list ;;
  revoke)
    ((${#args[@]} == 2)) || die "revoke takes one KEY_ID (see --help)"
    response=$(api DELETE "/keys/$(urlencode "${args[1]}")") || exit 1
    if ((raw)); then printf '%s\n' "$response"; else printf '%s: revoked %s\n' "$(json get id <<<"$response")" "$(json get revokedAt <<<"$response")"; fi ;;
  *) die "unknown command $command: create, list or revoke (see --help)" ;;
esac
