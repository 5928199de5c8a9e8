#!/bin/sh
# Disk usage of every real mount, as one event per mount (JSON lines).
# Drop-in script for argus-agent: stdout is JSON with a "type"; ARGUS_HOST is set.
df -P -k -x tmpfs -x devtmpfs -x overlay -x squashfs 2>/dev/null | awk 'NR > 1 {
  used = $3 * 1024; avail = $4 * 1024; total = used + avail
  pct = (total > 0) ? used * 100 / total : 0
  gsub(/"/, "", $6)
  printf "{\"type\":\"disk\",\"content\":{\"mount\":\"%s\",\"used_bytes\":%.0f,\"avail_bytes\":%.0f,\"used_pct\":%.1f}}\n", $6, used, avail, pct
}'
