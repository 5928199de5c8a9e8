#!/usr/bin/env bash
# Configures and builds Argus into build/ (or $ARGUS_BUILD_DIR).
# Extra arguments go to cmake's configure step, e.g. -DARGUS_SANITIZE=ON.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ARGUS_BUILD_DIR:-$root/build}"
jobs="${ARGUS_JOBS:-$(nproc)}"
cmake -S "$root" -B "$build" "$@" >/dev/null
cmake --build "$build" -j "$jobs"
