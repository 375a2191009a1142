#!/usr/bin/env bash
# End to end: `carbonledger mcp` over stdio and Streamable HTTP with the
# official MCP TypeScript SDK client (tests/mcp/client.mjs), the HTTP
# transport's rejections with curl, and the conformance suite's server
# scenarios that apply to a tools-only server. Binds only 127.0.0.1.
. "$(dirname "$0")/lib.sh"

MCP_DIR="$CL_SRC/tests/mcp"
# npm ci only when node_modules was not installed from this lock file.
STAMP="$MCP_DIR/node_modules/.carbonledger-package-lock.json"
if ! cmp -s "$MCP_DIR/package-lock.json" "$STAMP"; then
        npm ci --prefix "$MCP_DIR" --no-audit --no-fund >"$WORK/npm.log" 2>&1 ||
                { cat "$WORK/npm.log" >&2; fail "npm ci in $MCP_DIR"; }
        cp "$MCP_DIR/package-lock.json" "$STAMP"
fi

DB="$WORK/m.db"
bash "$MCP_DIR/make-db.sh" "$COLLECTOR" "$CL_SRC/fixtures/nodes/two-socket" "$DB"
expect_status 0 "$CARBONLEDGER" query get_cluster_carbon_summary --db "$DB" \
        --date 2026-03-10 --json
cp "$WORK/last.out" "$WORK/expected.json"

(cd "$MCP_DIR" && node client.mjs stdio "$WORK/expected.json" \
        "$CARBONLEDGER" mcp --db "$DB") || fail "SDK client over stdio"
pass "stdio: SDK client lists and calls every tool"

# Raw stdio: one message per line, errors by code.
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}' \
        'not json' '{"jsonrpc":"2.0","id":2,"method":"nope"}' \
        '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
        '{"jsonrpc":"2.0","id":3,"method":"ping"}' |
        "$CARBONLEDGER" mcp --db "$DB" >"$WORK/raw.out" 2>"$WORK/raw.err"
[ "$(wc -l <"$WORK/raw.out")" = 4 ] || { cat "$WORK/raw.out"; fail "expected 4 responses"; }
expect_grep '"protocolVersion":"2025-06-18"' "$WORK/raw.out"
expect_grep '"code":-32700' "$WORK/raw.out"
expect_grep '"code":-32601' "$WORK/raw.out"
expect_grep '"id":3,"result":{}' "$WORK/raw.out"
pass "stdio: version 2025-06-18, parse error, unknown method, ping"

# Raw stdio edge cases: every non-blank line gets one reply, and every
# reply line is valid JSON in UTF-8.
{
        printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":2025}}'
        printf '   \n\n\t\r\n'
        printf '%s\n' '{"jsonrpc":"2.0","id":2}'
        printf '{"jsonrpc":"2.0","id":"\xff\xfe","method":"ping"}\n'
        "$PY" -c 'import sys; sys.stdout.write("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\",\"pad\":\"" + "a" * 20000000 + "\"}\n")'
        printf '%s\r\n' '{"jsonrpc":"2.0","id":5,"method":"ping"}'
        printf '%s\n' '{"jsonrpc":"2.0","id":6,"result":{}}'
} | "$CARBONLEDGER" mcp --db "$DB" >"$WORK/edge.out" 2>"$WORK/edge.err"
"$PY" - "$WORK/edge.out" <<'PY' || fail "stdio edge cases"
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "the output must end with a newline"
replies = [json.loads(line.decode("utf-8")) for line in lines[:-1]]
assert len(replies) == 5, replies
version, no_method, bad_utf8, too_large, ping = replies
assert version["id"] == 1, version
assert version["error"]["code"] == -32602, version
assert "must be a string" in version["error"]["message"], version
assert no_method["id"] == 2, no_method
assert no_method["error"]["code"] == -32600, no_method
assert bad_utf8["id"] is None, bad_utf8
assert bad_utf8["error"]["code"] == -32700, bad_utf8
assert too_large["id"] is None, too_large
assert too_large["error"]["code"] == -32600, too_large
assert ping == {"jsonrpc": "2.0", "id": 5, "result": {}}, ping
PY
expect_grep "mcp_message_rejected" "$WORK/edge.err"
pass "stdio: oversized, invalid UTF-8, no method, blank lines"

SERVER_PID=
stop_server() {
        if [ -n "$SERVER_PID" ]; then
                kill "$SERVER_PID" 2>/dev/null || true
                wait "$SERVER_PID" 2>/dev/null || true
        fi
        SERVER_PID=
}
trap 'stop_server; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

# start_server ARGS...: starts the HTTP server on a free loopback port and
# sets URL from the address it prints.
start_server() {
        : >"$WORK/http.out"
        "$CARBONLEDGER" mcp --db "$DB" --listen 127.0.0.1:0 "$@" \
                >"$WORK/http.out" 2>"$WORK/http.err" &
        SERVER_PID=$!
        for _ in $(seq 50); do
                URL=$(sed -n 's/^listening on //p' "$WORK/http.out")
                [ -n "$URL" ] && return 0
                sleep 0.1
        done
        cat "$WORK/http.err" >&2
        fail "server did not start"
}

start_server
(cd "$MCP_DIR" && node client.mjs http "$WORK/expected.json" "$URL") ||
        fail "SDK client over HTTP"
pass "http: SDK client lists and calls every tool"

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}'
post() { # post BODY [CURL ARGS...]: prints the status code; CT sets the type
        local body=$1
        shift
        curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -X POST \
                -H "Content-Type: ${CT:-application/json}" \
                -H 'Accept: application/json, text/event-stream' \
                "$@" --data "$body" "$URL"
}
[ "$(post "$INIT")" = 200 ] || fail "initialize over HTTP"
SID=$(sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: *\([0-9a-f]*\).*/\1/p' "$WORK/headers")
[ ${#SID} = 32 ] || fail "no session id in: $(cat "$WORK/headers")"
LIST='{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
[ "$(post "$LIST" -H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 2025-06-18')" = 200 ] ||
        fail "tools/list with the session"
[ "$(post "$LIST")" = 400 ] || fail "no session id must give 400"
[ "$(post "$LIST" -H 'Mcp-Session-Id: 00')" = 404 ] || fail "unknown session must give 404"
[ "$(post "$LIST" -H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 1999-01-01')" = 400 ] ||
        fail "bad protocol version must give 400"
[ "$(post "$LIST" -H "Mcp-Session-Id: $SID" -H 'Origin: http://evil.example')" = 403 ] ||
        fail "foreign Origin must give 403"
[ "$(post "$LIST" -H "Mcp-Session-Id: $SID" -H 'Host: evil.example')" = 403 ] ||
        fail "foreign Host must give 403"
PORT=${URL##*:}
PORT=${PORT%/mcp}
for host in "127.1.2.3:$PORT" "localhost:$PORT" "[::1]:$PORT"; do
        [ "$(post "$LIST" -H "Mcp-Session-Id: $SID" -H "Host: $host")" = 200 ] ||
                fail "loopback Host $host must give 200"
done
for host in "127.0.0.1:1" "128.0.0.1:$PORT" "127.0.0.1.evil.example:$PORT"; do
        [ "$(post "$LIST" -H "Mcp-Session-Id: $SID" -H "Host: $host")" = 403 ] ||
                fail "Host $host must give 403"
done
[ "$(CT=text/plain post "$LIST" -H "Mcp-Session-Id: $SID")" = 415 ] ||
        fail "wrong Content-Type must give 415"
[ "$(post '{"jsonrpc":"2.0","method":"notifications/initialized"}' -H "Mcp-Session-Id: $SID")" = 202 ] ||
        fail "a notification must give 202"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" = 405 ] || fail "GET must give 405"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Mcp-Session-Id: $SID" "$URL")" = 200 ] ||
        fail "DELETE ends the session"
[ "$(post "$LIST" -H "Mcp-Session-Id: $SID")" = 404 ] || fail "ended session must give 404"
pass "http: sessions, protocol version, Origin, Host, media type, GET"
if grep -q "EXTERNAL_LOGGER" "$WORK/http.err"; then
        cat "$WORK/http.err" >&2
        fail "libmicrohttpd logged a warning"
fi
pass "http: no logger option warning at start"

# Conformance: the server scenarios of a tools-only server without SSE.
for scenario in server-initialize ping tools-list dns-rebinding-protection \
        server-sse-multiple-streams; do
        (cd "$MCP_DIR" && npx --no-install conformance server --url "$URL" \
                --scenario "$scenario") >"$WORK/conf.out" 2>&1 ||
                { cat "$WORK/conf.out" >&2; fail "conformance $scenario"; }
        grep -q "0 failed" "$WORK/conf.out" ||
                { cat "$WORK/conf.out" >&2; fail "conformance $scenario"; }
done
pass "conformance: initialize, ping, tools-list, DNS rebinding, SSE streams"
stop_server

# A token: required off loopback, enforced whenever given.
printf 'e2e-token-0123456789abcdef\n' >"$WORK/token"
for mode in 644 640 604; do
        chmod "$mode" "$WORK/token"
        expect_status 2 "$CARBONLEDGER" mcp --db "$DB" --listen 127.0.0.1:0 \
                --token-file "$WORK/token"
        expect_grep "readable only by its owner" "$WORK/last.err"
done
chmod 600 "$WORK/token"
pass "http: token file readable by others rejected"
expect_status 2 "$CARBONLEDGER" mcp --db "$DB" --listen 0.0.0.0:0
expect_grep "not a loopback address" "$WORK/last.err"
start_server --token-file "$WORK/token"
[ "$(post "$INIT")" = 401 ] || fail "no token must give 401"
[ "$(post "$INIT" -H 'Authorization: Bearer wrong-token-0123456789')" = 401 ] ||
        fail "a wrong token must give 401"
(cd "$MCP_DIR" && node client.mjs http "$WORK/expected.json" "$URL" \
        e2e-token-0123456789abcdef) || fail "SDK client with a bearer token"
stop_server
pass "http: bearer token required when configured"
