#!/bin/sh
# Whether the processes an operator cares about are running, one event per name.
# Drop-in script for argus-agent. Names come from ARGUS_PROCESSES (space-separated,
# matched against the process name as pgrep -x does); the default watches sshd and cron.
# An alert rule on process.running == 0 turns a dead process into an alarm.
names="${ARGUS_PROCESSES:-sshd cron}"
for name in $names; do
  count=$(pgrep -x -c -- "$name" 2>/dev/null || true)
  count=${count:-0}
  running=0
  [ "$count" -gt 0 ] && running=1
  printf '{"type":"process","content":{"name":"%s","running":%d,"count":%d}}\n' "$name" "$running" "$count"
done
