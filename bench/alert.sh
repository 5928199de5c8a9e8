#!/usr/bin/env bash
# Alert evaluation next to its limit. On the dash benchmark's store (1,000 hosts, a week
# of rollups, an hour of raw events; bench/dash.sh), 10 threshold rules over every host
# make 10,000 (rule, host) pairs: five judged from raw events over 5 minutes, five from
# the rollups over 30 minutes. One evaluator (against a private redis-server) runs a
# first round, which creates every pair's state, and then steady rounds; the limit is
# the same ten window reads as plain SQL on the same file, with nothing done with them.
#
#   bench/alert.sh [rounds (5)]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rounds="${1:-5}"
now=$(($(date +%s) * 1000))

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
start=$(date +%s)
echo "store: $("$bin/argus_dash_bench" fill --db "$work/alert.db" --hosts 1000 --fields 5 --now "$now") ($(( $(date +%s) - start )) s to build)"
start_redis
read -r pairs first round sql notes rows < <("$bin/argus_alert_bench" --db "$work/alert.db" --redis "127.0.0.1:$redis_port" \
  --now "$now" --rounds "$rounds")
echo "pairs: $pairs per round ($notes notifications made in the first round; the SQL reads $rows rows per round)"
printf '\n%-26s %12s %14s\n' "" "per round" "per pair"
printf '%-26s %9.1f ms %11.1f us\n' "first round (states made)" "$first" "$(python3 -c "print($first * 1000 / $pairs)")"
printf '%-26s %9.1f ms %11.1f us\n' "steady round (median)" "$round" "$(python3 -c "print($round * 1000 / $pairs)")"
printf '%-26s %9.1f ms %11.1f us\n' "plain SQL reads (median)" "$sql" "$(python3 -c "print($sql * 1000 / $pairs)")"
echo
echo "ratio (SQL time / steady round time; 1.0 would be evaluation at the cost of its reads): $(ratio "$sql" "$round")"
