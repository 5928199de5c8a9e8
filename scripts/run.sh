#!/usr/bin/env bash
# The run command: installs dependencies, builds, and starts the whole pipeline on
# loopback — a private redis-server (data under the state folder), argus-proxy,
# argus-consumer --type all, argus-dash with the web UI (built when Node.js is there),
# a sample log generator and an argus-agent tailing it and running
# scripts/examples/cron/. Ctrl-C stops everything it started.
#
# Environment: ARGUS_STATE (state folder, default ./state), ARGUS_TOKEN (agent token,
# default: random), ARGUS_PROXY_PORT / ARGUS_DASH_PORT / ARGUS_REDIS_PORT (defaults
# 9090 / 8080 / 6390, or a free port when taken).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
export ARGUS_BUILD_DIR="${ARGUS_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DARGUS_SANITIZE=OFF -DARGUS_BUILD_TESTS=OFF
bin="$ARGUS_BUILD_DIR/bin"
# The web UI, when Node.js is there; the API works without it.
if command -v npm >/dev/null 2>&1; then
  "$root/scripts/build-web.sh" || echo "run: the web UI did not build (see above); the dash's API works without it"
else
  echo "run: Node.js is not installed, so the web UI is not built: apt-get install nodejs npm (or"
  echo "     scripts/install-deps.sh browser) and run again; the dash's API works without it"
fi

state="${ARGUS_STATE:-$root/state}"
mkdir -p "$state"/{redis,agent,logs,sample}
state="$(cd "$state" && pwd)"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local want=$1
  if port_free "$want"; then echo "$want"; return; fi
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
redis_port=$(pick_port "${ARGUS_REDIS_PORT:-6390}")
proxy_port=$(pick_port "${ARGUS_PROXY_PORT:-9090}")
dash_port=$(pick_port "${ARGUS_DASH_PORT:-8080}")
token="${ARGUS_TOKEN:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping ${#pids[@]} processes..."
  # Newest first, one at a time: the agent flushes to a proxy that is still up, the
  # consumer drains into a database and Redis that are still there.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    local pid=${pids[$i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  echo "stopped. State (redis data, database, agent checkpoints, logs) is in $state"
  exit 0
}
trap cleanup INT TERM EXIT

start() {  # name, command...
  local name=$1; shift
  # A session of its own: a terminal's Ctrl-C reaches only this script, which then
  # stops the components in order.
  setsid "$@" >>"$state/logs/$name.log" 2>&1 < /dev/null &
  pids+=($!)
}

wait_http() {  # url, name
  for _ in $(seq 100); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not come up; its log:"; tail -20 "$state/logs/$2.log"; exit 1
}

# Redis with a password made once and kept in the state folder (mode 0600). It goes to
# redis-server through a config file and to the Argus programs through
# --redis-password-file, so it never stands on a command line that `ps` shows.
pass_file="$state/redis.pass"
if [ ! -s "$pass_file" ]; then
  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pass_file")
fi
(umask 077; printf 'requirepass %s\n' "$(cat "$pass_file")" >"$state/redis.conf")
start redis redis-server "$state/redis.conf" --port "$redis_port" --bind 127.0.0.1 --dir "$state/redis" \
  --appendonly yes --save "" --protected-mode yes
for _ in $(seq 50); do REDISCLI_AUTH="$(cat "$pass_file")" redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis=(--redis "127.0.0.1:$redis_port" --redis-password-file "$pass_file")
start proxy "$bin/argus-proxy" --listen "127.0.0.1:$proxy_port" "${redis[@]}" --token "$token"
start consumer "$bin/argus-consumer" --type all "${redis[@]}" --db "$state/argus.db" --name local-all
start dash "$bin/argus-dash" --listen "127.0.0.1:$dash_port" --db "$state/argus.db" "${redis[@]}" \
  --web-root "$root/web/dist"
wait_http "http://127.0.0.1:$proxy_port/healthz" proxy
wait_http "http://127.0.0.1:$dash_port/healthz" dash
start loggen python3 "$root/scripts/examples/loggen.py" "$state/sample/app.log" 0.5
start agent "$bin/argus-agent" -a "127.0.0.1:$proxy_port" --token "$token" --host "$(hostname)" \
  -f "$state/sample/app.log" --cron-dir "$root/scripts/examples/cron" --state-dir "$state/agent" --from head

cat <<TXT

Argus is running on loopback (logs in $state/logs):
  dash    http://127.0.0.1:$dash_port/    (the web UI; API under /api/v1/, docs/api.md)
  proxy   http://127.0.0.1:$proxy_port     (agent token: $token)
  redis   127.0.0.1:$redis_port   (password in $pass_file: REDISCLI_AUTH="\$(cat $pass_file)" redis-cli -p $redis_port)

Try:
  curl -s 'http://127.0.0.1:$dash_port/api/v1/types'
  curl -s 'http://127.0.0.1:$dash_port/api/v1/hosts'
  curl -s 'http://127.0.0.1:$dash_port/api/v1/events?type=metrics&limit=5'
  curl -s 'http://127.0.0.1:$dash_port/api/v1/series?type=metrics&field=latency_ms&since=-15m&step=1m'
  curl -s 'http://127.0.0.1:$dash_port/api/v1/hosts/$(hostname)'
  curl -s 'http://127.0.0.1:$dash_port/api/v1/system?since=-1h'
  curl -s 'http://127.0.0.1:$dash_port/api/v1/pipeline'
  curl -s 'http://127.0.0.1:$dash_port/api/v1/events?type=disk'
  curl -s -H 'Authorization: Bearer $token' -d '{"events":[{"type":"demo","id":"demo-1","content":{"v":1}}]}' \\
       http://127.0.0.1:$proxy_port/api/v1/events
  curl -s http://127.0.0.1:$proxy_port/metrics

Press Ctrl-C to stop everything.
TXT

# Exit (and clean up) as soon as any component dies.
wait -n "${pids[@]}" || true
echo "a component exited unexpectedly; see $state/logs"
exit 1
