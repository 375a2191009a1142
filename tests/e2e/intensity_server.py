#!/usr/bin/python3
"""A local stand-in for the intensity APIs, for the end-to-end tests.

Serves the recorded-format bodies of fixtures/api on 127.0.0.1 at a free
port, which it writes to --port-file once listening. The first path
segment names the test case, so each case gets its own base URL such as
http://127.0.0.1:PORT/kpx-xml-200; the rest of the path is what the
product appends (the operation, or an Electricity Maps endpoint). Each
case is a list of responses served in turn, the last one repeating.
Every request is appended to --log as "case path?query" for the test to
count calls and check parameters.
"""

import argparse
import base64
import http.server
import os
import sys
import time
import urllib.parse

KPX_OP = "PwrAmountByGen/getPwrAmountByGen"


def r(status=200, file=None, ctype="application/json;charset=UTF-8",
      delay=0.0, truncate=False, body=None, headers=None):
    return dict(status=status, file=file, ctype=ctype, delay=delay,
                truncate=truncate, body=body, headers=headers or {})


XML = "text/xml;charset=UTF-8"

# case -> {path suffix -> [responses]}; "*" matches any path.
CASES = {
    "kpx-array": {"*": [r(file="kpx/day-array.json")]},
    "kpx-object": {"*": [r(file="kpx/day-object.json")]},
    "kpx-empty": {"*": [r(file="kpx/day-empty-items.json")]},
    "kpx-xml": {"*": [r(file="kpx/day.xml", ctype=XML)]},
    "kpx-gw-200": {"*": [r(file="kpx/gateway-error-30.xml", ctype=XML)]},
    "kpx-gw-401": {"*": [r(401, "kpx/gateway-error-30.xml", ctype=XML)]},
    "kpx-03": {"*": [r(file="kpx/code-03.json")]},
    "kpx-22": {"*": [r(file="kpx/gateway-error-22.xml", ctype=XML)]},
    "kpx-23": {"*": [r(file="kpx/code-23.json"),
                     r(file="kpx/day-object.json")]},
    "kpx-30": {"*": [r(file="kpx/code-30.json")]},
    "kpx-99": {"*": [r(file="kpx/code-99.json")]},
    "kpx-429": {"*": [r(429, body=b'{"error":"too many requests"}',
                        headers={"Retry-After": "0"}),
                      r(file="kpx/day-object.json")]},
    "kpx-503": {"*": [r(503, body=b"<html>Service Unavailable</html>",
                        ctype="text/html")]},
    "kpx-legacy": {"*": [r(file="kpx/day-object.json")]},
    "kpx-truncated": {"*": [r(file="kpx/day-array.json", truncate=True)]},
    "kpx-invalid": {"*": [r(file="kpx/invalid.json")]},
    "kpx-slow": {"*": [r(file="kpx/day-object.json", delay=3.0)]},
    "em": {"past-range": [r(file="electricitymaps/past-range.json")],
           "*": [r(404, body=b'{"error":"unexpected endpoint"}')]},
    "em-401": {"*": [r(401, body=b'{"message":"Invalid auth-token"}')]},
    "wt": {"login": [r(file="watttime/login.json")],
           "v3/historical": [r(file="watttime/historical.json")]},
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.lstrip("/").split("/", 1)
        case, rest = parts[0], parts[1] if len(parts) > 1 else ""
        with open(self.server.log_path, "a", encoding="utf-8") as log:
            log.write(f"{case} {rest}?{url.query}"
                      f" auth={self.headers.get('auth-token', '-')}"
                      f" authorization={self.headers.get('Authorization', '-')}"
                      "\n")
        routes = CASES.get(case)
        if routes is None:
            return self.reply(r(404, body=b"unknown case"))
        key = next((k for k in routes if k != "*" and rest.endswith(k)), "*")
        if key not in routes:
            return self.reply(r(404, body=b"unknown path"))
        if case == "wt" and key == "login":
            expected = base64.b64encode(b"wt-user:wt-pass-secret").decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                return self.reply(r(403, body=b'{"error":"bad login"}'))
        if case == "wt" and key == "v3/historical":
            if self.headers.get("Authorization") != \
                    "Bearer wt-test-token-0123456789":
                return self.reply(r(401, body=b'{"error":"bad token"}'))
        counter = (case, key)
        n = self.server.counts.get(counter, 0)
        self.server.counts[counter] = n + 1
        seq = routes[key]
        self.reply(seq[min(n, len(seq) - 1)])

    def reply(self, spec):
        body = spec["body"]
        if spec["file"] is not None:
            with open(os.path.join(self.server.fixtures, spec["file"]),
                      "rb") as f:
                body = f.read()
        if spec["delay"]:
            time.sleep(spec["delay"])
        self.send_response(spec["status"])
        self.send_header("Content-Type", spec["ctype"])
        for name, value in spec["headers"].items():
            self.send_header(name, value)
        if spec["truncate"]:
            # Announce the whole body, send half of it and hang up.
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.fixtures = args.fixtures
    server.log_path = args.log
    server.counts = {}
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
