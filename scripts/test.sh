#!/usr/bin/env bash
# The test command: installs dependencies, builds with ASan/UBSan, runs the whole
# suite (unit and integration tests against a real redis-server and SQLite files), after
# fuzzing the request-body decoder and the agent's log-line rules for a minute each;
# then builds the web UI and tests it in headless Chromium against a real pipeline
# (screenshots of every page in build-test/ui-screenshots).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh" browser alertmanager
# ctest splits a discovered test's name at ';', and each half then selects no test case
# and passes having run nothing: refuse such names.
if grep -rnE 'TEST_CASE\("[^"]*;' "$root/tests"; then
  echo "test.sh: test case names must not contain ';' (ctest would run nothing under them)" >&2
  exit 1
fi
# The suite checks /metrics with `promtool check metrics`.
ARGUS_PROMTOOL="$("$root/scripts/promtool.sh")"
export ARGUS_PROMTOOL
export ARGUS_BUILD_DIR="${ARGUS_BUILD_DIR:-$root/build-test}"
"$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Debug -DARGUS_SANITIZE=ON
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# A short libFuzzer run over the request-body decoder (ARGUS_FUZZ_SECONDS=0 skips it).
if [ "${ARGUS_FUZZ_SECONDS:-60}" -gt 0 ]; then
  "$root/scripts/fuzz.sh" "${ARGUS_FUZZ_SECONDS:-60}"
fi
cd "$ARGUS_BUILD_DIR"
ctest --output-on-failure --timeout 300 -j "${ARGUS_TEST_JOBS:-2}" "$@"
"$root/scripts/build-web.sh"
node "$root/tests/browser/ui_test.mjs" --bin "$ARGUS_BUILD_DIR/bin" --web "$root/web/dist" \
  --out "$ARGUS_BUILD_DIR/ui-screenshots"
