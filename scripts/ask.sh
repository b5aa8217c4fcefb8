#!/usr/bin/env bash
# Asks colmeia a question and prints the answer as it is written: posts the question, follows the
# session's event stream (SSE) with curl, prints tokens as they arrive and the sources at the end.
# If the stream fails it falls back to polling the session's messages. The question carries an
# Idempotency-Key, so a retried POST (after a 429 or 503) never asks twice. Ctrl-C cancels the answer.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/ask.sh [options] QUESTION
       scripts/ask.sh --cancel QUESTION_ID

Posts QUESTION to a chat session, streams the answer's tokens to stdout as they arrive, then
prints the numbered sources. Progress goes to stderr. Falls back to polling if the stream fails.
Ctrl-C (SIGINT) or SIGTERM while it waits cancels the answer (POST /jobs/answer/answer:ID/cancel).

Options:
  -c, --collection C ask collection C: its sessions, its documents (default: the default collection)
  -s, --session ID   ask in this chat session (default: create a new one)
  -k N               passages to retrieve (1-100; default: the server's, 5)
  -w, --where JSON   metadata filter, e.g. '{"lang":"en"}'
      --poll         do not stream; poll for the answer every ASK_POLL_INTERVAL seconds
      --timeout S    give up after S seconds (default: ASK_TIMEOUT or 300)
      --cancel ID    cancel the answer to question ID (a message id, or its job id answer:ID)
  -h, --help         show this help

Environment:
  API_URL            the API (default http://localhost:3000)
  API_KEY            sent as "Authorization: Bearer $API_KEY" when set
  ASK_POLL_INTERVAL  seconds between polls (default 2)

Exit status: 0 answered (or --cancel done); 2 no answer could be produced (failed or cancelled);
130 interrupted (the answer was cancelled); 1 any other error.
Needs curl; uses jq when present, else python3 or node, for JSON (JSON_TOOL forces one).
EOF
}

SCRIPT_NAME=ask.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/client.sh"
TIMEOUT=${ASK_TIMEOUT:-300}
POLL_INTERVAL=${ASK_POLL_INTERVAL:-2}
session='' k='' where='' question='' poll=0 cancel_id=''

while (($# > 0)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -c|--collection) (($# >= 2)) || die "$1 needs a value"; use_collection "$2"; shift 2 ;;
    -s|--session) (($# >= 2)) || die "$1 needs a value"; session=$2; shift 2 ;;
    -k) (($# >= 2)) || die "$1 needs a value"; [[ $2 =~ ^[0-9]+$ ]] || die "-k must be a number"; k=$2; shift 2 ;;
    -w|--where) (($# >= 2)) || die "$1 needs a value"; where=$2; shift 2 ;;
    --poll) poll=1; shift ;;
    --cancel) (($# >= 2)) || die "$1 needs a value"; [[ $2 =~ ^(answer:)?[1-9][0-9]{0,9}$ ]] || die "--cancel takes a question id (or answer:ID)"; cancel_id=${2#answer:}; shift 2 ;;
    --timeout) (($# >= 2)) || die "$1 needs a value"; [[ $2 =~ ^[0-9]+$ ]] || die "--timeout must be seconds"; TIMEOUT=$2; shift 2 ;;
    --) shift; question="$*"; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) question=${question:+$question }$1; shift ;;
  esac
done
[[ -n $cancel_id || -n ${question//[[:space:]]/} ]] || { usage >&2; exit 1; }
require_tools

# cancel_answer QUESTION_ID: asks the API to cancel that question's answer; prints what it said.
cancel_answer() {
  local response
  response=$(api POST "/jobs/answer/answer:$1/cancel") || return 1
  printf 'answer:%s: %s\n' "$1" "$(json get status <<<"$response")"
}

if [[ -n $cancel_id ]]; then
  cancel_answer "$cancel_id"
  exit
fi

# new_key: a random Idempotency-Key.
new_key() {
  if [[ -r /proc/sys/kernel/random/uuid ]]; then cat /proc/sys/kernel/random/uuid
  else od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; fi
}

# on_interrupt: Ctrl-C or SIGTERM after the question was posted: cancel its answer, then exit 130.
on_interrupt() {
  trap - INT TERM
  [[ -z ${curl_pid:-} ]] || kill "$curl_pid" 2>/dev/null || true
  printf '\n' >&2
  cancel_answer "$message_id" >&2 || note "the answer could not be cancelled"
  exit 130
}

# Prints the final assistant message: its text unless the stream already printed it, then sources.
# Returns 0 for an answer, 2 for an analysis_error (failed or cancelled).
finish() {
  local message=$1 streamed=$2 type
  type=$(json get metadata.type <<<"$message")
  if [[ $type == analysis_error ]]; then
    ((streamed)) && printf '\n'
    note "no answer: $(json get metadata.error.code <<<"$message"): $(json get metadata.error.message <<<"$message")"
    return 2
  fi
  if ((streamed)); then printf '\n'; else json get content <<<"$message"; printf '\n'; fi
  printf '\nSources:\n'
  json sources <<<"$message"
  return 0
}

# Follows the SSE stream from the question on. Returns finish's status, or 1 if the stream ended
# (or failed) before the answer arrived.
stream_answer() {
  local url="$API_URL$COLLECTION_PATH/chat/sessions/$session/events?after=$message_id"
  local event='' data='' line streamed=0 attempt='' status=1
  exec 3< <(exec curl -fsS -N --max-time "$TIMEOUT" ${auth[@]+"${auth[@]}"} -H 'Accept: text/event-stream' "$url")
  curl_pid=$! # global: on_interrupt stops it
  while IFS= read -r line <&3; do
    line=${line%$'\r'}
    case $line in
      event:*) event=${line#event:}; event=${event# } ;;
      data:*) data=${line#data:}; data=${data# } ;;
      '')
        if [[ -n $event && -n $data ]]; then
          if [[ $event == message ]]; then
            if [[ $(json get replyTo <<<"$data") == "$message_id" ]]; then
              status=0; finish "$data" "$streamed" || status=$?
              break
            fi
          elif [[ $(json get replyTo <<<"$data") == "$message_id" ]]; then
            case $event in
              delta)
                local this_attempt
                this_attempt=$(json get attempt <<<"$data")
                if [[ -n $attempt && $this_attempt != "$attempt" ]]; then printf '\n[attempt %s]\n' "$this_attempt"; fi
                attempt=$this_attempt
                json get text <<<"$data"; streamed=1 ;;
              progress) note "… $(json get stage <<<"$data") ($(json get elapsedMs <<<"$data") ms)" ;;
              error) note "attempt $(json get attempt <<<"$data") failed: $(json get message <<<"$data")" ;;
            esac
          fi
        fi
        event='' data='' ;;
    esac
  done
  kill "$curl_pid" 2>/dev/null || true
  curl_pid=''
  exec 3<&-
  return "$status"
}

# Polls the session's messages after the question until the answer is there.
poll_answer() {
  local deadline=$((SECONDS + TIMEOUT)) page reply
  while ((SECONDS < deadline)); do
    if page=$(api GET "$COLLECTION_PATH/chat/sessions/$session/messages?after=$message_id"); then
      reply=$(json reply "$message_id" <<<"$page")
      if [[ -n $reply ]]; then finish "$reply" 0; return; fi
    else
      note "poll failed; trying again"
    fi
    sleep "$POLL_INTERVAL"
  done
  die "no answer within $TIMEOUT s"
}

# --- main -------------------------------------------------------------------------------------
if [[ -z $session ]]; then
  REQUEST_HEADERS=(-H "Idempotency-Key: $(new_key)")
  session=$(api POST "$COLLECTION_PATH/chat/sessions" '{}' | json get id) || die "could not create a chat session at $API_URL"
  note "session $session"
fi
body="{\"content\":$(json string "$question")${k:+,\"k\":$k}${where:+,\"where\":$where}}"
REQUEST_HEADERS=(-H "Idempotency-Key: $(new_key)") # a retry after a 429 or 503 returns the same question
response=$(api POST "$COLLECTION_PATH/chat/sessions/$session/messages" "$body") || die "the question was not accepted"
REQUEST_HEADERS=()
message_id=$(json get message.id <<<"$response")
trap on_interrupt INT TERM
note "question $message_id, job $(json get job.id <<<"$response")"

if ((poll == 0)); then
  status=0; stream_answer || status=$?
  if ((status != 1)); then exit "$status"; fi
  note "the event stream failed; polling every ${POLL_INTERVAL}s"
fi
status=0; poll_answer || status=$?
exit "$status"
