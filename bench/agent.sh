#!/usr/bin/env bash
# Agent cost, two figures, each next to its limit measured in the same run:
#  1. Throughput of the tail + rules + extraction path (what the tail loop does up to
#     the outbox, event JSON included) over a synthetic log of N lines (default
#     1,000,000; ~150 bytes a line, 20% "[metrics]{json}"), next to `grep -cF
#     '[metrics]'` over the same file: the floor cost of reading and matching.
#     Best of three runs each, page cache warm. Target: ratio >= 0.25.
#  2. Idle cost: CPU seconds and peak RSS of a real argus-agent (Release) following a
#     file that grows by 10 lines a second for S seconds (default 60), with its cron
#     runner (the three example scripts) and system sampler on, shipping to a real
#     argus-proxy and redis-server. Targets: < 0.5% of one core, < 16 MiB.
#
#   bench/agent.sh [lines] [idle_seconds]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lines="${1:-1000000}"
idle_s="${2:-60}"
helper="$bin/argus_agent_bench"
now_ns() { date +%s%N; }

log="$work/synthetic.log"
"$helper" gen --file "$log" --lines "$lines"
bytes=$(stat -c %s "$log")
cat "$log" >/dev/null  # the page cache holds it for both

grep_s=""
for _ in 1 2 3; do
  t0=$(now_ns)
  matches=$(grep -cF '[metrics]' "$log")
  t1=$(now_ns)
  s=$(python3 -c "print(($t1 - $t0) / 1e9)")
  grep_s=$(python3 -c "print(min(float('${grep_s:-inf}'), $s))")
done
agent_s=""
for i in 1 2 3; do
  mkdir -p "$work/state-$i"
  read -r s read_lines events read_bytes event_bytes < <("$helper" tail --file "$log" --state-dir "$work/state-$i")
  agent_s=$(python3 -c "print(min(float('${agent_s:-inf}'), $s))")
done
if [ "$events" -ne "$matches" ] || [ "$read_lines" -ne "$lines" ]; then
  echo "MISMATCH: agent read $read_lines lines and made $events events; grep counted $matches of $lines" >&2
  exit 1
fi
mbps() { python3 -c "print(f'{$bytes / $1 / 1e6:.0f}')"; }
agent_mbps=$(mbps "$agent_s")
grep_mbps=$(mbps "$grep_s")

# --- idle cost
start_redis
proxy_port=$(free_port)
"$bin/argus-proxy" --listen "127.0.0.1:$proxy_port" --redis "127.0.0.1:$redis_port" --token bench \
  --threads 1 --log-level warn >"$work/proxy.log" 2>&1 &
bench_pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$proxy_port/healthz" >/dev/null && break; sleep 0.1; done
mkdir -p "$work/cron"
cp "$root"/scripts/examples/cron/*.sh "$work/cron/"
: >"$work/idle.log"
"$bin/argus-agent" --proxy "127.0.0.1:$proxy_port" --token bench --host idle-host -f "$work/idle.log" \
  --cron-dir "$work/cron" --state-dir "$work/agent-state" --log-level warn >"$work/agent.log" 2>&1 &
agent_pid=$!
bench_pids+=($agent_pid)
ticks() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
hz=$(getconf CLK_TCK)
sleep 2  # start-up (first cron runs, first heartbeat) is not the steady state
t0=$(ticks)
for i in $(seq "$idle_s"); do
  for k in $(seq 10); do
    echo "2026-11-21T10:00:00Z INFO [metrics]{\"tick\":$i,\"k\":$k,\"ms\":$((RANDOM % 500))}" >>"$work/idle.log"
  done
  sleep 1
done
t1=$(ticks)
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$agent_pid/status")
kill -TERM "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
cpu_s=$(python3 -c "print(f'{($t1 - $t0) / $hz:.2f}')")
cpu_pct=$(python3 -c "print(f'{($t1 - $t0) / $hz / $idle_s * 100:.2f}')")
shipped=0
for key in $(redis-cli -p "$redis_port" --scan --pattern 'argus:ev:{metrics:*'); do
  shipped=$((shipped + $(redis-cli -p "$redis_port" xlen "$key")))
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "file: $lines lines, $bytes bytes ($((bytes / lines)) bytes a line), $matches [metrics] lines"
printf '%-58s %8s MB/s  %10s lines/s  (%.2f s, %s events of %s bytes on average)\n' \
  "agent tail + rules + extraction:" "$agent_mbps" "$(python3 -c "print(round($lines / $agent_s))")" "$agent_s" \
  "$events" "$((event_bytes / events))"
printf '%-58s %8s MB/s  (%.3f s)\n' "grep -cF '[metrics]' (limit):" "$grep_mbps" "$grep_s"
printf '%-58s %8s  (target >= 0.25)\n' "ratio (agent / grep):" "$(ratio "$agent_mbps" "$grep_mbps")"
printf '%-58s %8s s over %s s = %s%% of one core  (target < 0.5%%)\n' "idle agent CPU, 10 lines/s, cron + sampler on:" \
  "$cpu_s" "$idle_s" "$cpu_pct"
printf '%-58s %8s MiB  (target < 16 MiB)\n' "idle agent peak RSS (VmHWM):" "$(python3 -c "print(f'{$rss_kib / 1024:.1f}')")"
printf '%-58s %8s of %s\n' "idle lines in Redis after the stop:" "$shipped" "$((idle_s * 10))"
grep -q . "$work/agent.log" && { echo "agent log:"; tail -5 "$work/agent.log"; } || true
