#!/usr/bin/env bash
# Proxy throughput: wrk posts 100-event batches of ~300-byte events over 32 keep-alive
# connections to argus-proxy, which appends them to a private redis-server; next to it,
# in the same run and on the same machine, redis-benchmark measures pipelined XADD of
# the same payload: the limit the proxy works against. Then it checks that Redis holds
# exactly the events the proxy acknowledged.
#
#   bench/proxy.sh [seconds]      (default 15)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
seconds="${1:-15}"
connections=32
batch=100

start_redis
# One ~300-byte event, as the proxy stores it (content + stamped fields).
event_json=$(python3 - <<'PY'
import json
content = {"path": "/api/orders", "status": 200, "latency_ms": 12.5, "bytes": 5120,
           "upstream": {"db_ms": 4.1, "cache_hit": True}, "msg": "x" * 96}
print(json.dumps({"type": "bench", "host": "bench-01", "ts": 1795000000000, "content": content},
                 separators=(",", ":")))
PY
)
payload_bytes=${#event_json}

# The limit: pipelined XADD (100 per round trip, as the proxy pipelines a batch).
xadd_rate=$(redis-benchmark -p "$redis_port" -c "$connections" -P "$batch" -n 2000000 --csv \
  XADD 'bench:limit' '*' e "$event_json" | tail -1 | awk -F, '{gsub(/"/, "", $(NF-6)); print $(NF-6)}')
# (the CSV's test-name column holds the payload's quotes unescaped: count from the end)
redis-cli -p "$redis_port" flushall >/dev/null

proxy_port=$(free_port)
# No consumer drains the streams here: the backlog limit would turn the run into 503s.
"$bin/argus-proxy" --listen "127.0.0.1:$proxy_port" --redis "127.0.0.1:$redis_port" \
  --token bench-token --backlog-limit 0 --log-level warn >"$work/proxy.log" 2>&1 &
bench_pids+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$proxy_port/healthz" >/dev/null && break; sleep 0.1; done

python3 - "$work/body.json" "$event_json" "$batch" <<'PY'
import json, sys
path, event, n = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
events = []
for i in range(n):
    e = dict(event); e["id"] = f"bench-{i}"; events.append(e)
open(path, "w").write(json.dumps({"events": events}, separators=(",", ":")))
PY
cat >"$work/post.lua" <<LUA
local f = io.open("$work/body.json", "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-token"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; other = 0 end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok"); total_other = total_other + t:get("other")
  end
  io.write(string.format("RESULT ok=%d other=%d p50_us=%d p99_us=%d errors=%d\n", total_ok, total_other,
    latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s -s "$work/post.lua" \
  "http://127.0.0.1:$proxy_port/api/v1/events" >"$work/wrk.out" 2>&1
result=$(grep '^RESULT' "$work/wrk.out")
ok=$(sed -E 's/.*ok=([0-9]+).*/\1/' <<<"$result")
other=$(sed -E 's/.*other=([0-9]+).*/\1/' <<<"$result")
p50=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$result")
p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$result")
seen_by_wrk=$((ok * batch))
# wrk stops reading at the deadline: the proxy's own counter is what it acknowledged.
sleep 1
acked=$(curl -fs "http://127.0.0.1:$proxy_port/metrics" | awk '$1 == "argus_proxy_events_accepted_total" {print $2}')
stored=0
for key in $(redis-cli -p "$redis_port" --scan --pattern 'argus:ev:*'); do
  stored=$((stored + $(redis-cli -p "$redis_port" xlen "$key")))
done
proxy_rate=$(python3 -c "print(round($seen_by_wrk / $seconds))")

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "event: $payload_bytes bytes, $batch per batch, $connections connections, ${seconds}s"
printf '%-44s %12s events/s\n' "argus-proxy POST /api/v1/events:" "$proxy_rate"
printf '%-44s %12s events/s\n' "redis-benchmark pipelined XADD (limit):" "${xadd_rate%.*}"
printf '%-44s %12s\n' "ratio (proxy / limit):" "$(ratio "$proxy_rate" "$xadd_rate")"
printf '%-44s %9s ms / %s ms\n' "batch latency p50 / p99:" "$(python3 -c "print($p50/1000)")" "$(python3 -c "print($p99/1000)")"
printf '%-44s %12s\n' "non-200 answers:" "$other"
printf '%-44s %12s acknowledged (%s answers read by wrk), %s in Redis\n' "events:" "$acked" "$seen_by_wrk" "$stored"
if [ "$acked" -ne "$stored" ] || [ "$seen_by_wrk" -gt "$acked" ]; then
  echo "MISMATCH: Redis holds $stored events; the proxy acknowledged $acked; wrk saw $seen_by_wrk" >&2
  exit 1
fi
