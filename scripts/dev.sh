#!/usr/bin/env bash
# Runs colmeia locally with one command (`npm run dev`): build, the Procfile's release step
# (migrations), a private redis-server when no Redis answers, then web + worker from the Procfile
# under node-foreman. Ctrl-C or SIGTERM stops the services with SIGTERM, waits, then stops Redis.
# Written for bash 3.2 too (macOS /bin/bash).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: npm run dev            (or: bash scripts/dev.sh [--help])

Runs colmeia on this machine:
  1. npm ci (only when node_modules is missing), then npm run build:prod (no tests)
  2. the Procfile's release step (database migrations)
  3. Redis: REDIS_URL if set; else the Redis answering on 127.0.0.1:6379; else a private
     redis-server on 127.0.0.1:6379 with its data (append-only file) in $DATA_DIR/redis,
     stopped when this script exits
  4. web=1 and worker=1 from the Procfile under node-foreman (nf), and prints the URL

Ctrl-C (or SIGTERM) sends SIGTERM to web and worker, waits up to 35 s for them to exit,
then stops the private redis-server. If one service exits on its own, the other is stopped too.

Configuration is environment variables only (see shared/src/config.ts); a ./.env file, if
present, fills in variables that are not already set in the environment. Common ones:
  PORT          web port (default 3000)
  REDIS_URL     an existing Redis, e.g. redis://127.0.0.1:6380 (default: see step 3)
  DATABASE_URL  postgres://... (default: SQLite in DATA_DIR)
  DATA_DIR      SQLite file, index checkpoints, private Redis data (default ./data)
  EMBEDDER, ANSWERER, OLLAMA_HOST, LOG_LEVEL, API_KEYS, QUEUE_PREFIX, ...
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  '') ;;
  *) printf 'dev: unknown argument: %s\n\n' "$1" >&2; usage >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
readonly REDIS_PORT=6379
readonly STOP_GRACE_S=35 # the services' contract is "exit within 30 s of SIGTERM"

log() { printf 'dev: %s\n' "$*"; }
die() { printf 'dev: %s\n' "$*" >&2; exit 1; }

# .env fills in what the environment does not set (the environment wins, as with node --env-file).
load_dotenv() {
  [[ -f .env ]] || return 0
  local line key value
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[2]}
    value=${BASH_REMATCH[3]}
    if [[ $value =~ ^\"(.*)\"[[:space:]]*$ || $value =~ ^\'(.*)\'[[:space:]]*$ ]]; then
      value=${BASH_REMATCH[1]}
    else
      value=${value%%[[:space:]]#*} # an unquoted value ends at " #"
    fi
    [[ -n ${!key+set} ]] || export "$key=$value"
  done <.env
  log "loaded .env (variables already in the environment were kept)"
}

# One line from whatever answers a PING on 127.0.0.1:$1 ("+PONG" from Redis); empty if nothing listens.
redis_reply() {
  local reply
  reply=$({ exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'PING\r\n' >&3 && IFS= read -r -t 2 reply <&3 && printf '%s' "$reply"; } 2>/dev/null) || true
  printf '%s' "${reply%$'\r'}"
}

is_listening() { ({ exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null); }

is_web_ready() {
  local status
  status=$({ exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 &&
    IFS= read -r -t 2 status <&3 && printf '%s' "$status"; } 2>/dev/null) || return 1
  [[ $status == HTTP/1.?' 200'* ]]
}

redis_pid=''
start_private_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    cat >&2 <<EOF
dev: no Redis answers on 127.0.0.1:$REDIS_PORT and redis-server is not installed. Either install it:
       sudo apt-get install redis-server     (Debian, Ubuntu)
       brew install redis                    (macOS)
     or point colmeia at a Redis you already have:
       REDIS_URL=redis://host:port npm run dev
EOF
    exit 1
  fi
  local dir log_file
  dir="${DATA_DIR:-./data}/redis"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  log_file="$dir/redis-server.log"
  # Port 6379, not a random one: it is free (nothing answered there), the default REDIS_URL and
  # redis-cli find it with no flags, and a second `npm run dev` finds this server answering and
  # uses it instead of starting another redis-server on the same append-only file.
  # set -m puts it in its own process group, so Ctrl-C in the terminal does not reach it: it
  # must outlive the services, which still use Redis while they shut down.
  set -m
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" --daemonize no \
    --appendonly yes --appendfsync everysec --save '' --maxmemory-policy noeviction \
    --logfile "$log_file" </dev/null &
  redis_pid=$!
  set +m
  local deadline=$((SECONDS + 15))
  until [[ $(redis_reply "$REDIS_PORT") == +PONG ]]; do
    if ! kill -0 "$redis_pid" 2>/dev/null; then
      redis_pid=''
      tail -n 20 "$log_file" >&2 || true
      die "redis-server exited during start-up (log above: $log_file)"
    fi
    ((SECONDS < deadline)) || die "redis-server did not answer PING within 15 s (log: $log_file)"
    sleep 0.05
  done
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  log "started redis-server (pid $redis_pid) on $REDIS_URL, data in $dir, log in $log_file"
}

stop_private_redis() {
  [[ -n $redis_pid ]] || return 0
  local pid=$redis_pid deadline=$((SECONDS + 10))
  redis_pid=''
  kill -0 "$pid" 2>/dev/null || return 0
  log "stopping redis-server (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true # flushes and fsyncs the append-only file, then exits
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
}

nf_pid=''
# The service processes: the leaves of nf's process group (set -m made nf its leader). nf runs each
# Procfile line with `/bin/sh -c`; Debian's dash does not exec the command, so a signal sent to that
# shell (nf's own "stop the rest" signal included) never reaches node: we signal node itself. A
# node whose shell was killed is no longer nf's descendant, but it is still in the group.
service_pids() {
  ps -A -o pid= -o ppid= -o pgid= | awk -v group="$nf_pid" '
    { has_child[$2] = 1; if ($3 == group && $1 != group) member[$1] = 1 }
    END { for (pid in member) if (!(pid in has_child)) print pid }'
}

nf_child_count() { ps -A -o ppid= | awk -v root="$nf_pid" '$1 == root { n++ } END { print n + 0 }'; }

stop_services() {
  [[ -n $nf_pid ]] || return 0
  local pids deadline=$((SECONDS + STOP_GRACE_S))
  pids=$(service_pids | tr '\n' ' ')
  if [[ -n ${pids// /} ]]; then
    log "stopping web and worker (SIGTERM to pids $pids)"
    # shellcheck disable=SC2086 # one argument per pid
    kill -TERM $pids 2>/dev/null || true
  fi
  # nf exits once both services have exited and their output is read.
  while kill -0 "$nf_pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "still running after ${STOP_GRACE_S} s: SIGKILL"
      kill -KILL -- "-$nf_pid" 2>/dev/null || true # nf leads its own process group (set -m)
      break
    fi
    sleep 0.1
  done
  wait "$nf_pid" 2>/dev/null || true
  nf_pid=''
}

cleanup() {
  local status=$?
  trap '' INT TERM HUP # a second Ctrl-C must not interrupt the orderly stop
  stop_services
  stop_private_redis
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

command -v ps >/dev/null 2>&1 || die "dev.sh needs ps (Debian: apt-get install procps)"
load_dotenv
export PORT="${PORT:-3000}" # nf gives web this PORT (it would pick 5000 otherwise)

if [[ ! -d node_modules ]]; then
  log "node_modules is missing: npm ci"
  npm ci
fi
readonly NF=node_modules/.bin/nf
[[ -x $NF ]] || die "$NF not found: run npm ci (node-foreman is a devDependency)"

log "building (npm run build:prod)"
npm run build:prod

release=$(sed -n 's/^release:[[:space:]]*//p' Procfile)
[[ -n $release ]] || die "the Procfile has no release: line"
log "release step: $release"
sh -c "$release"

! is_listening "$PORT" || die "port $PORT is already in use (another colmeia?); stop it or set PORT"

if [[ -n ${REDIS_URL:-} ]]; then
  log "using REDIS_URL from the environment"
else
  reply=$(redis_reply "$REDIS_PORT")
  if [[ $reply == +PONG ]]; then
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
    log "using the Redis answering on $REDIS_URL"
  elif is_listening "$REDIS_PORT"; then
    die "something listens on 127.0.0.1:$REDIS_PORT but does not answer PING with PONG (${reply:-no reply}); set REDIS_URL (with its password, if it needs one)"
  else
    start_private_redis
  fi
fi

# Only web and worker: nf would run every Procfile line without a formation, and the release
# line exiting would make nf stop everything. `-e` names a file that cannot exist, because nf
# would load ./.env over the environment (load_dotenv already applied it, environment first).
log "starting web and worker from the Procfile (node-foreman)"
set -m # nf and the services get their own process group: Ctrl-C reaches only this script
"$NF" start -j Procfile -e /dev/null/no-env-file web=1,worker=1 </dev/null &
nf_pid=$!
set +m

is_stop_requested=0
trap 'is_stop_requested=1' INT TERM HUP
log "web will listen on http://localhost:$PORT (Ctrl-C stops everything)"
is_announced=0
has_seen_both=0
lone_checks=0
status=0
while kill -0 "$nf_pid" 2>/dev/null; do
  if ((is_stop_requested)); then
    break
  fi
  if ((!is_announced)) && is_web_ready; then
    is_announced=1
    log "colmeia is up: http://localhost:$PORT  (try: curl http://localhost:$PORT/ready)"
  fi
  # nf starts both services in one go, so fewer than two children (twice in a row, not caught
  # between the two spawns) means a service has exited. nf's own "stop the rest" signal goes to a
  # shell that does not pass it on (see service_pids), so we stop the rest.
  children=$(nf_child_count)
  if ((children >= 2)); then has_seen_both=1; fi
  if ((children == 1 || (has_seen_both && children == 0))); then lone_checks=$((lone_checks + 1)); else lone_checks=0; fi
  if ((lone_checks >= 2)); then
    log "a service exited on its own; stopping the other"
    status=1
    break
  fi
  sleep 0.25
done
if ((!is_stop_requested)) && ((status == 0)) && [[ -n $nf_pid ]] && ! kill -0 "$nf_pid" 2>/dev/null; then
  log "node-foreman exited"
  status=1
fi
stop_services
exit "$status"
