#!/usr/bin/env bash
# The run command: installs dependencies, builds, and starts the whole pipeline on
# loopback — a private redis-server (data under the state folder), argus-proxy,
# argus-consumer --type all, argus-dash with the web UI (built when Node.js is there),
# a sample log generator, an argus-agent tailing it and running scripts/examples/cron/,
# argus-alert with the example rules (scripts/examples/alert-rules.json) and a local
# webhook receiver that prints what it gets. Ctrl-C stops everything it started.
#
# Environment: ARGUS_STATE (state folder, default ./state), ARGUS_TOKEN (agent token,
# default: random), ARGUS_PROXY_PORT / ARGUS_DASH_PORT / ARGUS_REDIS_PORT /
# ARGUS_ALERT_PORT / ARGUS_HOOK_PORT (defaults 9090 / 8080 / 6390 / 9096 / 9097, or a
# free port when taken).
#
# While it runs, another terminal can stop and start single components, to see what
# Argus does when one is gone (docs/alerting.md, "Trying it"):
#   scripts/run.sh stop agent      # or consumer, webhook, alert, proxy, dash, loggen
#   scripts/run.sh start agent     # the same command line again
#   scripts/run.sh status
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${ARGUS_STATE:-$root/state}"
run_dir="$state/run"  # per component: NAME.cmd (its command line), NAME.pid, NAME.stopped

alive() { [ -s "$run_dir/$1.pid" ] && kill -0 "$(cat "$run_dir/$1.pid")" 2>/dev/null; }
launch() {  # name: runs NAME.cmd in a session of its own, so a terminal's Ctrl-C reaches only run.sh
  setsid bash -c "exec $(cat "$run_dir/$1.cmd")" >>"$state/logs/$1.log" 2>&1 </dev/null &
  echo $! >"$run_dir/$1.pid"
  rm -f "$run_dir/$1.stopped"
}
stop_one() {  # name: SIGTERM, then SIGKILL after 10 s
  alive "$1" || return 0
  local pid; pid="$(cat "$run_dir/$1.pid")"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
case "${1:-}" in
  stop|start|status)
    [ -d "$run_dir" ] || { echo "run: nothing runs from $state (set ARGUS_STATE?)" >&2; exit 2; }
    if [ "$1" = status ]; then
      for f in "$run_dir"/*.cmd; do
        n="$(basename "$f" .cmd)"
        if alive "$n"; then echo "$n: running (pid $(cat "$run_dir/$n.pid"))"; else echo "$n: stopped"; fi
      done
      exit 0
    fi
    [ -f "$run_dir/${2:-}.cmd" ] || { echo "run: no component '${2:-}' (see: scripts/run.sh status)" >&2; exit 2; }
    if [ "$1" = stop ]; then
      touch "$run_dir/$2.stopped"
      stop_one "$2"
      echo "$2 stopped; scripts/run.sh start $2 starts it again"
    elif alive "$2"; then
      echo "$2 is running already"
    else
      launch "$2"
      echo "$2 started (pid $(cat "$run_dir/$2.pid")); its log: $state/logs/$2.log"
    fi
    exit 0
    ;;
  "") ;;
  *) echo "usage: scripts/run.sh [stop NAME | start NAME | status]" >&2; exit 2 ;;
esac
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

mkdir -p "$state"/{redis,agent,logs,sample,run}
state="$(cd "$state" && pwd)"
run_dir="$state/run"
rm -f "$run_dir"/*

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local want=$1
  if port_free "$want"; then echo "$want"; return; fi
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
redis_port=$(pick_port "${ARGUS_REDIS_PORT:-6390}")
proxy_port=$(pick_port "${ARGUS_PROXY_PORT:-9090}")
dash_port=$(pick_port "${ARGUS_DASH_PORT:-8080}")
alert_port=$(pick_port "${ARGUS_ALERT_PORT:-9096}")
hook_port=$(pick_port "${ARGUS_HOOK_PORT:-9097}")
random_hex() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
token="${ARGUS_TOKEN:-$(random_hex)}"
admin_token="$(random_hex)"  # the dash's writes: alert rules and silences (the UI's Silence button)
hook_secret="$(random_hex)"  # signs the webhook calls (X-Argus-Signature)

names=()  # in start order
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping ${#names[@]} components..."
  # Newest first, one at a time: the agent flushes to a proxy that is still up, the
  # consumer drains into a database and Redis that are still there.
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do stop_one "${names[$i]}"; done
  wait 2>/dev/null || true
  rm -f "$run_dir"/*
  echo "stopped. State (redis data, database, agent checkpoints, logs) is in $state"
  exit 0
}
trap cleanup INT TERM EXIT

start() {  # name, command...
  local name=$1; shift
  printf '%q ' "$@" >"$run_dir/$name.cmd"
  launch "$name"
  names+=("$name")
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
  --web-root "$root/web/dist" --admin-token "$admin_token"
wait_http "http://127.0.0.1:$proxy_port/healthz" proxy
wait_http "http://127.0.0.1:$dash_port/healthz" dash
start loggen python3 "$root/scripts/examples/loggen.py" "$state/sample/app.log" 0.5
# The value scripts/examples/cron/threshold_demo.sh reports, for trying the alert rules.
demo_value="$state/sample/demo_value"
[ -s "$demo_value" ] || echo 10 >"$demo_value"
start agent env ARGUS_DEMO_VALUE_FILE="$demo_value" "$bin/argus-agent" -a "127.0.0.1:$proxy_port" --token "$token" --host "$(hostname)" \
  -f "$state/sample/app.log" --cron-dir "$root/scripts/examples/cron" --cron-interval 10 \
  --state-dir "$state/agent" --from head

# Alerting: the example rules, sent to a local webhook receiver that prints each call.
start webhook python3 "$root/scripts/examples/webhook_receiver.py" --port "$hook_port" --secret "$hook_secret"
python3 - "$root/scripts/examples/alert-rules.json" "$state/alert-rules.json" "$hook_port" "$hook_secret" <<'PY'
import json, sys
src, dst, port, secret = sys.argv[1:]
rules = json.load(open(src))
for r in rules["receivers"]:
    if "webhook" in r:
        r["webhook"] = {"url": f"http://127.0.0.1:{port}/hook", "secret": secret}
json.dump(rules, open(dst, "w"), indent=2)
PY
"$bin/argus-alert" --check-rules "$state/alert-rules.json" >/dev/null
start alert "$bin/argus-alert" --db "$state/argus.db" "${redis[@]}" --rules "$state/alert-rules.json" \
  --name local-alert --listen "127.0.0.1:$alert_port"
wait_http "http://127.0.0.1:$alert_port/healthz" alert

cat <<TXT

Argus is running on loopback (logs in $state/logs):
  dash    http://127.0.0.1:$dash_port/    (the web UI; API under /api/v1/, docs/api.md)
  proxy   http://127.0.0.1:$proxy_port     (agent token: $token)
  redis   127.0.0.1:$redis_port   (password in $pass_file: REDISCLI_AUTH="\$(cat $pass_file)" redis-cli -p $redis_port)
  alert   http://127.0.0.1:$alert_port/metrics   (rules: $state/alert-rules.json; kill -HUP reloads them)
  webhook notifications are printed in $state/logs/webhook.log
  admin token (dash writes: rules, silences, the UI's Silence button): $admin_token

Try the alerting (docs/alerting.md):
  echo 95 > $demo_value    # over demo-value-high's 80: one notification after its 30 s "for"
  echo 10 > $demo_value    # back under 70: one recovery
  tail -f $state/logs/webhook.log
  curl -s 'http://127.0.0.1:$dash_port/api/v1/alarms?state=all'

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

Stop and start one component from another terminal: scripts/run.sh stop agent,
scripts/run.sh start agent (also consumer, webhook, alert, ...; scripts/run.sh status).
Press Ctrl-C to stop everything.
TXT

# A component that dies is reported (once) and left stopped: the rest goes on, as it
# would in production. `scripts/run.sh start NAME` starts it again.
while true; do
  for n in "${names[@]}"; do
    if ! alive "$n" && [ ! -e "$run_dir/$n.stopped" ]; then
      echo "$(date +%T) $n exited (see $state/logs/$n.log); scripts/run.sh start $n starts it again"
      touch "$run_dir/$n.stopped"
    fi
  done
  sleep 1
done
