#!/usr/bin/env bash
# Installs the Debian packages Argus builds and tests with. Idempotent: when every
# package is already present it touches nothing (no apt-get update, no root needed).
# `install-deps.sh bench` adds what the benchmarks in bench/ drive load with;
# `install-deps.sh browser` what builds the web UI and tests it in a real browser;
# `install-deps.sh alertmanager` the Alertmanager the alert tests deliver to.
set -euo pipefail

PACKAGES=(
  cmake g++ make pkg-config
  libboost1.81-dev libhiredis-dev libsqlite3-dev nlohmann-json3-dev libsimdjson-dev
  doctest-dev libspdlog-dev libcli11-dev libssl-dev zlib1g-dev libre2-dev
  redis-server redis-tools sqlite3 curl python3 procps
  clang-14 libclang-rt-14-dev openssl
  systemd  # systemd-analyze verifies the agent's unit file in the tests
)
for group in "$@"; do
  case "$group" in
    bench) PACKAGES+=(wrk) ;;
    alertmanager) PACKAGES+=(prometheus-alertmanager) ;;
    browser)
      PACKAGES+=(chromium)
      # Node.js builds the UI; a machine that has one of its own keeps it.
      command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
      ;;
    *) echo "install-deps: unknown group '$group' (known: bench, browser, alertmanager)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
