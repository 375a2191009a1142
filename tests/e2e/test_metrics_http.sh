#!/usr/bin/env bash
# The collector's /metrics while idle TCP clients hold connections: 40
# clients connect and send nothing, then one scrape must be answered
# while all 40 are still connected, so it did not wait for idle ones to
# time out.
. "$(dirname "$0")/lib.sh"

NODE="$WORK/node"
cp -a "$CL_SRC/fixtures/nodes/two-socket" "$NODE"
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
COLLECTOR_PID=
trap 'kill $COLLECTOR_PID 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
"$COLLECTOR" --db "$WORK/node.db" --interval 1 --node-name node-a \
        --sysfs "$NODE/sys" --procfs "$NODE/proc" \
        --cgroupfs "$NODE/sys/fs/cgroup" --pod-logs "$NODE/var/log/pods" \
        --metrics-listen "127.0.0.1:$PORT" 2>"$WORK/collector.err" &
COLLECTOR_PID=$!
for i in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null && break
        sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null ||
        fail "no /metrics on 127.0.0.1:$PORT: $(cat "$WORK/collector.err")"

"$PY" - "$PORT" <<'PY' || fail "a scrape waited for idle connections"
import socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
start = time.monotonic()
scrape = socket.create_connection(("127.0.0.1", port), timeout=30)
scrape.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Connection: close\r\n\r\n")
body = b""
while True:
    chunk = scrape.recv(65536)
    if not chunk:
        break
    body += chunk
elapsed = time.monotonic() - start
print(f"scrape with 40 idle connections: {elapsed:.3f} s")
if not body.startswith(b"HTTP/1.1 200"):
    sys.exit(f"scrape answered {body[:40]!r}")
closed = 0
for s in idle:
    s.setblocking(False)
    try:
        if s.recv(1, socket.MSG_PEEK) == b"":
            closed += 1
    except BlockingIOError:
        pass
if closed:
    sys.exit(f"{closed} idle connections were closed before the scrape "
             f"was answered")
PY
pass "a scrape is answered while 40 idle clients are connected"

echo "test_metrics_http: all checks passed"
