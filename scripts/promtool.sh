#!/usr/bin/env bash
# Prints the path of a promtool binary, fetching one if needed. Installing Debian's
# `prometheus` package would also start a Prometheus server (on port 9090), so instead
# the package is downloaded and only promtool is unpacked into a cache folder.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
tools="${ARGUS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/argus/tools}"
if [ ! -x "$tools/usr/bin/promtool" ]; then
  mkdir -p "$tools/deb"
  (
    cd "$tools/deb"
    apt-get download prometheus >/dev/null 2>&1 || {
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get update -q >/dev/null
      apt-get download prometheus >/dev/null
    }
  )
  dpkg -x "$(ls "$tools"/deb/prometheus_*.deb | head -1)" "$tools/pkg"
  mkdir -p "$tools/usr/bin"
  cp "$tools/pkg/usr/bin/promtool" "$tools/usr/bin/promtool"
  rm -rf "$tools/pkg" "$tools/deb"
fi
echo "$tools/usr/bin/promtool"
