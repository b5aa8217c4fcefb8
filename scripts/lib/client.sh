# Sourced by colmeia's curl scripts (ingest.sh, search.sh, ask.sh, remove.sh, jobs.sh, smoke.sh): the API
# URL and key from the environment, messages, one JSON helper that uses jq when present, else
# python3, else node (JSON_TOOL forces one), and api()/upload()/wait_job(), which print the API's
# own error ({error: {code, message}}) and return non-zero on any HTTP error. Every request answered
# 429 or 503 is retried after its Retry-After, with bounded backoff (RETRY_MAX, RETRY_MAX_WAIT).
# Not a script: scripts source it after setting SCRIPT_NAME, parse their arguments (so --help
# works anywhere), then call require_tools.

API_URL=${API_URL:-http://localhost:3000}
export API_URL=${API_URL%/} # the scripts one calls (smoke.sh → ask.sh) see the same
HTTP_TIMEOUT=${HTTP_TIMEOUT:-60}
POLL_INTERVAL=${POLL_INTERVAL:-0.5}
SCRIPT_NAME=${SCRIPT_NAME:-$(basename "$0")}

exec 4>&2 # progress notes: stderr even where a caller captures a request's errors (2>file)
die() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }
plural() { if [[ $1 == 1 ]]; then printf '1 %s' "$2"; else printf '%s %ss' "$1" "$2"; fi; } # plural N WORD
note() { printf '%s\n' "$*" >&2; }
need_value() { (($1 >= 2)) || die "$2 needs a value (see --help)"; }

# require_tools: curl, and the JSON tool (jq, else python3, else node; JSON_TOOL forces one).
require_tools() {
  command -v curl >/dev/null || die "curl is required"
  if [[ -n ${JSON_TOOL:-} ]]; then command -v "$JSON_TOOL" >/dev/null || die "JSON_TOOL=$JSON_TOOL is not installed"
  elif command -v jq >/dev/null; then JSON_TOOL=jq
  elif command -v python3 >/dev/null; then JSON_TOOL=python3
  elif command -v node >/dev/null; then JSON_TOOL=node
  else die "jq, python3 or node is needed to read JSON"; fi
}

# json OP [ARG]: reads JSON on stdin (except `string`). OPs: get PATH (dotted path: a raw string,
# compact JSON, or nothing for null/missing), string S (S as a JSON string), valid (exit status:
# is stdin a JSON object?), hits (one line per search result), each PATH (one compact JSON line
# per element of the array at PATH), reply MID (the message replying to MID in .messages), sources
# (one line per source of .metadata.sources), hashes (id, status, revision, fileHash or -, contentHash
# per document of a GET /document-hashes page, tab-separated), docs (id, status, revision, chunks,
# title per document of a GET /documents page).
json() {
  local op=$1 arg=${2:-}
  case $JSON_TOOL in
    jq)
      case $op in
        get) jq -jc --arg p "$arg" 'getpath($p | split(".") | map(if test("^[0-9]+$") then tonumber else . end)) | if . == null then empty else . end' ;;
        string) jq -nc --arg s "$arg" '$s' ;;
        valid) jq -e 'type == "object"' >/dev/null 2>&1 ;;
        hits) jq -r '.results | to_entries[] | "\(.key + 1). \(.value.score * 1000 | round / 1000)  \(.value.title // "untitled") (\(.value.documentId))\n   \(.value.text | gsub("\\s+"; " ") | .[0:200])"' ;;
        each) jq -c --arg p "$arg" 'getpath($p | split(".")) // [] | .[]' ;;
        reply) jq -c --argjson m "$arg" '[.messages[] | select(.replyTo == $m)][0] // empty' ;;
        sources) jq -r '.metadata.sources // [] | to_entries[] | "[\(.key + 1)] \(.value.title // "untitled") (document \(.value.documentId), score \(.value.score * 1000 | round / 1000))"' ;;
        hashes) jq -r '.documents[] | [.id, .status, .revision, (.fileHash // "-"), .contentHash] | map(tostring) | join("\t")' ;;
        docs) jq -r '.documents[] | [.id, .status, .revision, .chunkCount, (.title // "untitled")] | map(tostring) | join("\t")' ;;
      esac ;;
    python3) python3 -c "$JSON_PY" "$op" "$arg" ;;
    node) node -e "$JSON_JS" "$op" "$arg" ;;
    *) die "JSON_TOOL must be jq, python3 or node" ;;
  esac
}
JSON_PY='
import json, re, sys
op, arg = sys.argv[1], sys.argv[2]
if op == "string":
    sys.stdout.write(json.dumps(arg, ensure_ascii=False)); sys.exit()
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
def walk(d, path):
    for key in path.split(".") if path else []:
        if isinstance(d, list) and key.isdigit() and int(key) < len(d): d = d[int(key)]
        else: d = d.get(key) if isinstance(d, dict) else None
    return d
if op == "get":
    d = walk(d, arg)
    if d is not None:
        sys.stdout.write(d if isinstance(d, str) else json.dumps(d, separators=(",", ":"), ensure_ascii=False))
elif op == "valid":
    sys.exit(0 if isinstance(d, dict) else 1)
elif op == "hits":
    for i, h in enumerate(d.get("results", [])):
        print("%d. %s  %s (%s)\n   %s" % (i + 1, round(h["score"], 3), h.get("title") or "untitled", h["documentId"], re.sub(r"\s+", " ", h["text"])[:200]))
elif op == "each":
    for item in walk(d, arg) or []:
        print(json.dumps(item, separators=(",", ":"), ensure_ascii=False))
elif op == "reply":
    found = [m for m in d.get("messages", []) if m.get("replyTo") == int(arg)]
    if found: print(json.dumps(found[0], ensure_ascii=False))
elif op == "sources":
    for i, s in enumerate((d.get("metadata") or {}).get("sources") or []):
        print("[%d] %s (document %s, score %s)" % (i + 1, s.get("title") or "untitled", s.get("documentId"), round(s.get("score", 0), 3)))
elif op == "hashes":
    for x in d.get("documents", []):
        print("\t".join([x["id"], x["status"], str(x["revision"]), x.get("fileHash") or "-", x["contentHash"]]))
elif op == "docs":
    for x in d.get("documents", []):
        print("\t".join([x["id"], x["status"], str(x["revision"]), str(x["chunkCount"]), x.get("title") or "untitled"]))
'
JSON_JS='
const [op, arg] = process.argv.slice(1);
if (op === "string") { process.stdout.write(JSON.stringify(arg)); process.exit(0); }
let raw = ""; process.stdin.on("data", (c) => (raw += c)).on("end", () => {
  let d; try { d = JSON.parse(raw); } catch { process.exit(1); }
  const walk = (v, path) => { for (const key of path ? path.split(".") : []) v = v !== null && typeof v === "object" ? v[key] : undefined; return v; };
  if (op === "get") {
    const v = walk(d, arg);
    if (v !== undefined && v !== null) process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  } else if (op === "valid") {
    process.exit(d !== null && typeof d === "object" && !Array.isArray(d) ? 0 : 1);
  } else if (op === "hits") {
    (d.results || []).forEach((h, i) => console.log(`${i + 1}. ${Math.round(h.score * 1000) / 1000}  ${h.title || "untitled"} (${h.documentId})\n   ${h.text.replace(/\s+/g, " ").slice(0, 200)}`));
  } else if (op === "each") {
    for (const item of walk(d, arg) || []) console.log(JSON.stringify(item));
  } else if (op === "reply") {
    const found = (d.messages || []).find((m) => m.replyTo === Number(arg));
    if (found) console.log(JSON.stringify(found));
  } else if (op === "sources") {
    ((d.metadata || {}).sources || []).forEach((s, i) => console.log(`[${i + 1}] ${s.title || "untitled"} (document ${s.documentId}, score ${Math.round(s.score * 1000) / 1000})`));
  } else if (op === "hashes") {
    for (const x of d.documents || []) console.log([x.id, x.status, x.revision, x.fileHash || "-", x.contentHash].join("\t"));
  } else if (op === "docs") {
    for (const x of d.documents || []) console.log([x.id, x.status, x.revision, x.chunkCount, x.title || "untitled"].join("\t"));
  }
});
'

# --- HTTP -------------------------------------------------------------------------------------
auth=()
[[ -n ${API_KEY:-} ]] && auth=(-H "Authorization: Bearer $API_KEY")

# check_response WHAT RESPONSE: RESPONSE is the body, a newline and the status (curl -w). Prints the
# body on 2xx; else prints "WHAT: HTTP <status> <code>: <message>" on stderr and returns 1.
check_response() {
  local what=$1 response=$2 status body code message
  status=${response##*$'\n'}
  body=${response%$'\n'*}
  if [[ $status == 2* ]]; then printf '%s' "$body"; return 0; fi
  code=$(json get error.code <<<"$body" 2>/dev/null || true)
  message=$(json get error.message <<<"$body" 2>/dev/null || true)
  if [[ $status == 401 ]]; then message="${message:-unauthorized} (check API_KEY)"; fi
  note "$SCRIPT_NAME: $what: HTTP $status${code:+ $code}: ${message:-${body:0:300}}"
  return 1
}

# REQUEST_HEADERS: extra headers of the next api() calls, as curl arguments (-H 'Name: value').
REQUEST_HEADERS=()
RETRY_MAX=${RETRY_MAX:-8}           # attempts of one request answered 429 or 503
RETRY_MAX_WAIT=${RETRY_MAX_WAIT:-120} # longest wait before one retry, in seconds

# retrying_curl WHAT CURL_ARGS...: runs curl and prints the body, a newline and the status. A 429 or
# 503 is tried again after its Retry-After (at most RETRY_MAX_WAIT s), or after 1, 2, 4 … s when it
# has none, up to RETRY_MAX attempts, saying so on stderr. Returns 1 when curl cannot reach the API.
retrying_curl() {
  local what=$1 attempt=1 response status headers wait
  shift
  headers=$(mktemp)
  while :; do
    response=$(curl -sS --max-time "$HTTP_TIMEOUT" -D "$headers" "$@" -w '\n%{http_code}') || { rm -f "$headers"; return 1; }
    status=${response##*$'\n'}
    if [[ $status != 429 && $status != 503 ]] || ((attempt >= RETRY_MAX)); then break; fi
    wait=$(retry_after "$headers")
    [[ -n $wait ]] || wait=$((1 << (attempt - 1)))
    ((wait <= RETRY_MAX_WAIT)) || wait=$RETRY_MAX_WAIT
    note "$SCRIPT_NAME: $what: HTTP $status$( [[ $status == 429 ]] && echo ' rate limited' || echo ' unavailable'); retrying in $wait s (attempt $((attempt + 1)) of $RETRY_MAX)" 2>&4
    sleep "$wait"
    attempt=$((attempt + 1))
  done
  rm -f "$headers"
  printf '%s' "$response"
}

# retry_after HEADER_FILE: the Retry-After of the last response in seconds, or nothing.
retry_after() {
  local value
  value=$(tr -d '\r' <"$1" | sed -n 's/^[Rr][Ee][Tt][Rr][Yy]-[Aa][Ff][Tt][Ee][Rr]: *\([0-9][0-9]*\) *$/\1/p' | tail -n 1)
  printf '%s' "$value"
}

# api METHOD PATH [BODY]: a JSON request; prints the response body.
api() {
  local method=$1 path=$2 body=${3:-} response
  response=$(retrying_curl "$method $path" -X "$method" ${auth[@]+"${auth[@]}"} ${REQUEST_HEADERS[@]+"${REQUEST_HEADERS[@]}"} -H 'Accept: application/json' \
    ${body:+-H 'Content-Type: application/json' --data-binary "$body"} "$API_URL$path") ||
    { note "$SCRIPT_NAME: $method $path: cannot reach $API_URL"; return 1; }
  check_response "$method $path" "$response"
}

# COLLECTION_PATH: '' for the default collection, /collections/NAME for another (set by use_collection).
COLLECTION_PATH=${COLLECTION_PATH:-}

# use_collection NAME: later requests go to that collection's routes (default: the un-prefixed ones).
use_collection() {
  [[ $1 =~ ^[a-z0-9][a-z0-9_-]{0,63}$ ]] || die "collection must be 1-64 characters: lower-case letters, digits, _ - (got '$1')"
  if [[ $1 == default ]]; then COLLECTION_PATH=''; else COLLECTION_PATH="/collections/$1"; fi
}

# upload FILE NAME [FIELD=VALUE...]: POST /documents (of COLLECTION_PATH) as multipart/form-data; prints the response body.
upload() {
  local file=$1 name=$2 field response
  shift 2
  local fields=()
  for field in "$@"; do fields+=(--form-string "$field"); done
  local quoted_file=${file//\\/\\\\} quoted_name=${name//\\/\\\\}
  quoted_file=${quoted_file//\"/\\\"} quoted_name=${quoted_name//\"/\\\"}
  response=$(retrying_curl "upload of $file" ${auth[@]+"${auth[@]}"} -H 'Accept: application/json' ${fields[@]+"${fields[@]}"} \
    -F "file=@\"$quoted_file\";filename=\"$quoted_name\"" "$API_URL$COLLECTION_PATH/documents") ||
    { note "$SCRIPT_NAME: upload of $file: cannot reach $API_URL"; return 1; }
  check_response "upload of $file" "$response"
}

# urlencode S
urlencode() {
  local LC_ALL=C s=$1 out='' c i # bytes, so UTF-8 is encoded byte by byte
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [A-Za-z0-9._~:-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}

# wait_job QUEUE ID TIMEOUT_S: polls GET /jobs/QUEUE/ID until it finishes; prints the final job JSON.
# Returns 0 when it succeeded, 2 when it failed or was cancelled, 1 on an error or a timeout.
wait_job() {
  local queue=$1 id=$2 timeout=$3 deadline=$((SECONDS + $3)) job status
  while ((SECONDS < deadline)); do
    job=$(api GET "/jobs/$queue/$(urlencode "$id")") || return 1
    status=$(json get status <<<"$job")
    case $status in
      succeeded) printf '%s' "$job"; return 0 ;;
      failed|cancelled) printf '%s' "$job"; return 2 ;;
    esac
    sleep "$POLL_INTERVAL"
  done
  note "$SCRIPT_NAME: job $queue/$id did not finish within $timeout s"
  return 1
}
