#!/usr/bin/env bash
# Whether TCP ports accept connections, and how long the handshake took, one event per
# target. Drop-in script for argus-agent. Targets come from ARGUS_TCP_TARGETS
# (space-separated HOST:PORT; default: this host's ssh). Uses bash's /dev/tcp, so it
# needs nothing installed; each check gives up after 3 s.
targets="${ARGUS_TCP_TARGETS:-127.0.0.1:22}"
for target in $targets; do
  host="${target%:*}"
  port="${target##*:}"
  start=$(date +%s%N)
  if timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
    up=1
  else
    up=0
  fi
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '{"type":"tcp_port","content":{"target":"%s","up":%d,"connect_ms":%d}}\n' "$target" "$up" "$ms"
done
