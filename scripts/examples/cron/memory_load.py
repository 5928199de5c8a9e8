#!/usr/bin/env python3
"""Memory and load average from /proc, as one `host_load` event.

Drop-in script for argus-agent: prints one JSON object with a "type"."""
import json
import os

meminfo = {}
with open("/proc/meminfo") as f:
    for line in f:
        key, _, rest = line.partition(":")
        meminfo[key] = int(rest.split()[0]) * 1024

load1, load5, load15 = os.getloadavg()
total = meminfo.get("MemTotal", 0)
available = meminfo.get("MemAvailable", 0)
print(json.dumps({
    "type": "host_load",
    "content": {
        "load1": load1, "load5": load5, "load15": load15,
        "mem_total_bytes": total,
        "mem_available_bytes": available,
        "mem_used_pct": round(100.0 * (total - available) / total, 1) if total else 0.0,
    },
}))
