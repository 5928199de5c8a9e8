#!/usr/bin/env python3
"""A webhook receiver for trying argus-alert: prints every notification it gets.

    webhook_receiver.py [--port 9097] [--secret S]

Answers 200 to each POST and prints one line per alert in it: the X-Argus-Key, the
status, the alert's name, host and summary. With --secret (or ARGUS_WEBHOOK_SECRET) it
checks X-Argus-Signature (sha256 HMAC of the body) and answers 401 to a wrong one. A key
seen before is printed as a retry: receivers use it to do a thing once."""
import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

seen = set()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        key = self.headers.get("X-Argus-Key", "")
        if args.secret:
            want = "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want, self.headers.get("X-Argus-Signature", "")):
                print(f"{time.strftime('%H:%M:%S')} REFUSED {key}: bad or missing X-Argus-Signature", flush=True)
                self.send_response(401)
                self.end_headers()
                return
        try:
            doc = json.loads(body)
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        again = " (again: a retry of a call whose answer was lost)" if key in seen else ""
        seen.add(key)
        for alert in doc.get("alerts", []):
            labels = alert.get("labels", {})
            print(f"{time.strftime('%H:%M:%S')} {key} {alert.get('status', '?').upper()} {labels.get('alertname')} on {labels.get('host')}: "
                  f"{alert.get('annotations', {}).get('summary', '')}{again}", flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *_):
        pass


parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--port", type=int, default=9097)
parser.add_argument("--secret", default=os.environ.get("ARGUS_WEBHOOK_SECRET", ""))
args = parser.parse_args()
print(f"webhook receiver on http://127.0.0.1:{args.port}/hook", flush=True)
try:
    ThreadingHTTPServer(("127.0.0.1", args.port), Hook).serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
