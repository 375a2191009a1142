#!/usr/bin/python3
"""A local stand-in for the Prometheus HTTP API, for the import tests.

Serves /api/v1/label/node_name/values and /api/v1/query_range on
127.0.0.1 at a free port, which it writes to --port-file once listening.
The series come from --series, a JSON file {"base": UNIX_SECONDS,
"step": SECONDS, "series": [{"metric": NAME, "labels": {...},
"values": [...]}]}, where values[i] is the value at base + i x step
(null: absent; "+Inf", "-Inf" and "NaN" as Prometheus writes them). A
query selects the series of its metric name and node_name label. Under
the path prefix /broken, label values work and range queries fail with
HTTP 500, so an import fails after it opened its database.
"""

import argparse
import http.server
import json
import os
import re
import urllib.parse


def format_value(v):
    if isinstance(v, str):
        return v
    return repr(float(v)) if v != int(v) or abs(v) >= 1e15 else str(int(v))


class Handler(http.server.BaseHTTPRequestHandler):
    spec = None

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        path = url.path
        broken = path.startswith("/broken/")
        if broken:
            path = path[len("/broken"):]
        if path == "/api/v1/label/node_name/values":
            nodes = sorted({s["labels"]["node_name"]
                            for s in self.spec["series"]})
            self.reply(200, {"status": "success", "data": nodes})
            return
        if path != "/api/v1/query_range":
            self.reply(404, {"status": "error", "error": "not found"})
            return
        if broken:
            self.reply(500, {"status": "error", "error": "storage failed"})
            return
        query = q["query"][0]
        metric = query.split("{", 1)[0]
        node = re.search(r'node_name="([^"]*)"', query).group(1)
        start, end = float(q["start"][0]), float(q["end"][0])
        step = float(q["step"][0])
        base, grid = self.spec["base"], self.spec["step"]
        result = []
        for s in self.spec["series"]:
            if s["metric"] != metric or s["labels"]["node_name"] != node:
                continue
            points = []
            t = start
            while t <= end + 1e-9:
                i = round((t - base) / grid)
                if 0 <= i < len(s["values"]) and s["values"][i] is not None:
                    points.append([t, format_value(s["values"][i])])
                t += step
            result.append({"metric": dict(s["labels"], __name__=metric),
                           "values": points})
        self.reply(200, {"status": "success",
                         "data": {"resultType": "matrix", "result": result}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    with open(args.series) as f:
        Handler.spec = json.load(f)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
