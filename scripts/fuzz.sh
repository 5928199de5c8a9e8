#!/usr/bin/env bash
# Fuzzes the proxy's request-body decoder, its tree-less JSON scans (the body token of
# /api/alarm, syntax error positions), the agent's log-line rules and the alert rules
# parser with libFuzzer (clang, ASan, UBSan) for a while each.
#   scripts/fuzz.sh [seconds]    (default 60, per target)
# Exit status is non-zero when a crash or a broken invariant was found; the input is
# saved under <build>/fuzz/findings/: copy it to tests/fuzz/regressions/ with the fix.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
build="${ARGUS_FUZZ_BUILD_DIR:-$root/build-fuzz}"
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DARGUS_FUZZ=ON -DARGUS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target argus_fuzz_decode_batch argus_fuzz_json_scan argus_fuzz_agent_line argus_fuzz_alert_rules -j "${ARGUS_JOBS:-$(nproc)}" >/dev/null
for target in decode_batch json_scan agent_line alert_rules; do
  corpus="$build/fuzz/corpus/$target"   # grows across runs; the seeds stay in the repository
  findings="$build/fuzz/findings"
  mkdir -p "$corpus" "$findings"
  echo "fuzz: $target for ${seconds}s"
  if ! "$build/fuzz/argus_fuzz_$target" "$corpus" "$root/tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$findings/$target-" -print_final_stats=1 >"$build/fuzz/last.log" 2>&1; then
    tail -40 "$build/fuzz/last.log"
    echo "fuzz: FOUND a problem in $target; input saved in $findings" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|cov:" "$build/fuzz/last.log" | tail -2
  echo "fuzz: $target, no crash in ${seconds}s"
done
