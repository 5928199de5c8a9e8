#!/usr/bin/env bash
# Dash queries over HTTP next to their limit. A store as a week of 1,000 hosts leaves it
# (5 numeric fields: 24 h of one-minute rollups, 6 days before that in one-hour rollups,
# an hour of raw events) is built first. Then, for each route, wrk drives argus-dash
# (keep-alive, several connections, the answer cache off) and the helper runs the same
# answer as plain SQL on the same file from as many threads: queries/s and p50/p99
# latency of both, and their ratio. Last, one hot query with the answer cache on
# against the same with it off.
#
#   bench/dash.sh [seconds per measurement (10)] [connections (4)]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
seconds="${1:-10}"
conns="${2:-4}"
helper="$bin/argus_dash_bench"
now=$(($(date +%s) * 1000))

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
start=$(date +%s)
echo "store: $("$helper" fill --db "$work/dash.db" --hosts 1000 --fields 5 --now "$now") ($(( $(date +%s) - start )) s to build, $(du -h "$work/dash.db" | cut -f1))"

dash() {  # port, extra flags...
  local port=$1; shift
  "$bin/argus-dash" --listen "127.0.0.1:$port" --db "$work/dash.db" --threads "$conns" --query-timeout-ms 120000 \
    --log-level warn "$@" >>"$work/dash.log" 2>&1 &
  bench_pids+=($!)
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return; sleep 0.1; done
  echo "argus-dash did not start:"; cat "$work/dash.log"; exit 1
}
uncached=$(free_port); dash "$uncached" --cache-mb 0
cached=$(free_port); dash "$cached"

# wrk's requests/s, p50 and p99 (ms) for one target.
http() {  # port, target
  wrk -t 2 -c "$conns" -d "${seconds}s" --latency "http://127.0.0.1:$1$2" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if non2xx: sys.exit("wrk: " + non2xx.group(1) + " answers were not 2xx")
print(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1), ms("50%"), ms("99%"))'
}

end=$((now - now % 60000))
hour_end=$((end - end % 3600000 + 3600000))
declare -A targets=(
  [host24h]="/api/v1/series?type=bench&field=f0&host=host-0042&since=$((end - 86400000))&until=$end&step=5m"
  [all24h]="/api/v1/series?type=bench&field=f0&since=$((end - 86400000))&until=$end&step=5m"
  [all7d]="/api/v1/series?type=bench&field=f0&since=$((hour_end - 8 * 86400000))&until=$hour_end&step=1h"
  [top]="/api/v1/top?type=bench&field=f0&since=$((end - 3600000))&until=$end&n=10"
  [hosts]="/api/v1/hosts?limit=1000"
  [events]="/api/v1/events?type=bench&limit=100"
)
printf '\n%-9s %28s %28s %14s\n' "query" "dash over HTTP (q/s p50 p99)" "plain SQL (q/s p50 p99)" "q/s ratio"
for q in host24h all24h all7d top hosts events; do
  read -r hq hp50 hp99 < <(http "$uncached" "${targets[$q]}")
  read -r sq sp50 sp99 srows < <("$helper" sql --db "$work/dash.db" --query "$q" --now "$now" --threads "$conns" --seconds "$seconds")
  printf '%-9s %10.1f %7.1f %8.1f ms %10.1f %7.1f %8.1f ms %12s\n' "$q" "$hq" "$hp50" "$hp99" "$sq" "$sp50" "$sp99" \
    "$(ratio "$hq" "$sq")"
done

read -r cq cp50 cp99 < <(http "$cached" "${targets[all24h]}")
read -r uq up50 up99 < <(http "$uncached" "${targets[all24h]}")
printf '\nhot query (all hosts, 24 h) cached: %.1f q/s (p50 %.2f ms), uncached: %.1f q/s (p50 %.1f ms): %sx\n' \
  "$cq" "$cp50" "$uq" "$up50" "$(ratio "$cq" "$uq")"
