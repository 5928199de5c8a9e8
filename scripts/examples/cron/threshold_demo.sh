#!/bin/sh
# A value you set by hand, for trying alert rules: prints {"type":"demo_value",
# "content":{"value":N}} with N read from the file $ARGUS_DEMO_VALUE_FILE, and nothing
# when that is unset or holds no number. scripts/run.sh points it at
# state/sample/demo_value; `echo 95 > state/sample/demo_value` then fires the example
# rule demo-value-high (scripts/examples/alert-rules.json), `echo 10 > ...` clears it.
[ -n "${ARGUS_DEMO_VALUE_FILE:-}" ] && [ -r "$ARGUS_DEMO_VALUE_FILE" ] || exit 0
value=$(tr -dc '0-9.-' < "$ARGUS_DEMO_VALUE_FILE" | head -c 32)
[ -n "$value" ] || exit 0
printf '{"type":"demo_value","content":{"value":%s}}\n' "$value"
