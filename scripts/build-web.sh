#!/usr/bin/env bash
# Builds the web UI into web/dist (the dash serves it at /): installs the npm packages
# pinned by web/package-lock.json, then bundles with esbuild. Needs Node.js 18 or newer.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v npm >/dev/null 2>&1; then
  echo "build-web: Node.js (npm) is not installed: apt-get install nodejs npm, or scripts/install-deps.sh browser" >&2
  exit 1
fi
cd "$root/web"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
