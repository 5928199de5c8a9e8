#!/usr/bin/env bash
# Consumer throughput: N realistic events (default 1,000,000) are put in a private
# redis-server first; then argus-consumer (aggregators generic and hosts, with the
# built-in hosts and types registries) drains them into a fresh SQLite file, and next to it, in
# the same run, the limit: the same event rows written by a bare prepared INSERT loop,
# one transaction per 500, with no Redis and no aggregates. Prints both and the ratio,
# and what synchronous=FULL costs that loop against NORMAL.
#
#   bench/consumer.sh [events]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
events="${1:-1000000}"
helper="$bin/argus_consumer_bench"

start_redis
used_empty=$(redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
"$helper" fill --redis "127.0.0.1:$redis_port" --events "$events" >/dev/null
used_before=$(redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')

echo '{"aggregators": {"*": ["generic", "hosts"]}}' >"$work/consumer.json"
"$bin/argus-consumer" --type bench --redis "127.0.0.1:$redis_port" --db "$work/consumer.db" --name bench \
  --config "$work/consumer.json" --log-level warn >"$work/consumer.log" 2>&1 &
consumer_pid=$!
bench_pids+=($consumer_pid)
seconds=$("$helper" wait --redis "127.0.0.1:$redis_port")
sleep 6  # the consumer trims what it acknowledged every 5 s
used_after=$(redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
kill -TERM "$consumer_pid"; wait "$consumer_pid" 2>/dev/null || true
stored=$(sqlite3 "$work/consumer.db" "SELECT count(*) FROM events WHERE type = 'bench'")
rollups=$(sqlite3 "$work/consumer.db" "SELECT count(*) FROM rollups_1m")
followed=$(sqlite3 "$work/consumer.db" "SELECT count(*) FROM host_status")
consumer_rate=$(python3 -c "print(round($stored / $seconds))")

bare_rate=$("$helper" bare --db "$work/bare.db" --events "$events")
# What synchronous=FULL (the store's setting: a commit is on disk before XACK) costs: the
# same loop with NORMAL, where an OS crash may lose the last commits.
normal_rate=$("$helper" bare --db "$work/bare-normal.db" --events "$events" --synchronous normal)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "events: $events of ~300 bytes, 200 hosts, 6 numeric fields each"
printf '%-52s %10s events/s  (%s rows, %s rollup rows, %s hosts, %.1f s)\n' \
  "argus-consumer, Redis -> SQLite, generic + hosts:" "$consumer_rate" "$stored" "$rollups" "$followed" "$seconds"
printf '%-52s %10s events/s\n' "bare prepared INSERT, 500 per transaction (limit):" "$bare_rate"
printf '%-52s %10s events/s  (FULL / NORMAL: %s)\n' "the same with synchronous=NORMAL:" "$normal_rate" \
  "$(ratio "$bare_rate" "$normal_rate")"
printf '%-52s %10s\n' "ratio (consumer / limit):" "$(ratio "$consumer_rate" "$bare_rate")"
printf '%-52s %s empty, %s filled, %s after draining\n' "redis used_memory (bytes):" "$used_empty" "$used_before" "$used_after"
if [ "$stored" -ne "$events" ]; then
  echo "MISMATCH: $stored rows stored for $events events" >&2
  exit 1
fi
