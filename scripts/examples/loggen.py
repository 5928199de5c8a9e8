#!/usr/bin/env python3
"""Appends realistic application log lines to a file, some carrying [metrics]{json},
so a local Argus pipeline has something to tail. Stops on SIGTERM/SIGINT."""
import json
import random
import signal
import sys
import time

path = sys.argv[1]
interval = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
paths = ["/api/orders", "/api/users", "/login", "/health", "/api/cart"]
seq = 0
while running:
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    p = random.choice(paths)
    status = random.choices([200, 201, 404, 500], weights=[80, 10, 7, 3])[0]
    ms = round(random.lognormvariate(3, 0.6), 1)
    lines = [f"{now} INFO http GET {p} {status} {ms}ms"]
    if seq % 2 == 0:
        metrics = {"path": p, "status": status, "latency_ms": ms, "seq": seq,
                   "upstream": {"db_ms": round(ms * 0.4, 1), "cache_hit": random.random() < 0.7}}
        lines.append(f"{now} INFO stats [metrics]{json.dumps(metrics, separators=(',', ':'))}")
    if status == 500:
        lines.append(f"{now} ERROR 5001 upstream timeout on {p}")
    with open(path, "a") as f:
        f.write("\n".join(lines) + "\n")
    seq += 1
    time.sleep(interval)
