#!/usr/bin/env bash
# --source kepler: the collector reads pod energy from a Kepler /metrics
# text (fixtures/kepler) that a local HTTP server on 127.0.0.1 serves.
# Between the two readings the package zone used 500 J: idle 200 J, web
# 150 J, db 100 J, so system is 50 J. A third text with a 9.2e14 J pod
# counter must become a gap, not energy.
. "$(dirname "$0")/lib.sh"

NODE="$WORK/node"
cp -a "$CL_SRC/fixtures/nodes/two-socket" "$NODE"
echo "3600.00 7000.00" >"$NODE/proc/uptime"
DB="$WORK/kepler.db"
SERVE="$WORK/serve"
mkdir -p "$SERVE"
cp "$CL_SRC/fixtures/kepler/metrics-1.txt" "$SERVE/metrics"

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PY" -m http.server "$PORT" --bind 127.0.0.1 --directory "$SERVE" \
        >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
COLLECTOR_PID=
trap 'kill $HTTP_PID $COLLECTOR_PID 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
for i in $(seq 1 50); do
        curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null && break
        sleep 0.1
done

# Invalid usage: the source and its URL go together.
expect_status 2 "$COLLECTOR" --db "$DB" --once --source kepler
expect_grep "go together" "$WORK/last.err"

"$COLLECTOR" --db "$DB" --interval 1 --node-name worker-1 \
        --sysfs "$NODE/sys" --procfs "$NODE/proc" \
        --cgroupfs "$NODE/sys/fs/cgroup" --pod-logs "$NODE/var/log/pods" \
        --source kepler --kepler-url "http://127.0.0.1:$PORT/metrics" \
        2>"$WORK/collector.err" &
COLLECTOR_PID=$!

# wait_rows SQL: waits (at most 20 s) until SQL returns a non-zero count.
wait_rows() {
        local i n
        for i in $(seq 1 100); do
                n=$(sqlite3 "$DB" "$1" 2>/dev/null || echo 0)
                [ -n "$n" ] && [ "$n" != 0 ] && return 0
                sleep 0.2
        done
        cat "$WORK/collector.err" >&2
        fail "no rows for: $1"
}

wait_rows "SELECT count(*) FROM sample"
cp "$CL_SRC/fixtures/kepler/metrics-2.txt" "$SERVE/metrics.new"
mv "$SERVE/metrics.new" "$SERVE/metrics"
wait_rows "SELECT count(*) FROM sample WHERE status = 'ok' AND energy_uj > 0"
row=$(sqlite3 "$DB" "SELECT source, method, energy_uj, idle_uj, pods_uj, system_uj FROM sample WHERE status = 'ok' AND energy_uj > 0")
[ "$row" = "kepler|measured|500000000|200000000|250000000|50000000" ] ||
        fail "Kepler interval: got '$row'"
pods=$(sqlite3 "$DB" "SELECT p.name || '=' || s.energy_uj FROM pod_sample s JOIN pod p USING (pod_id) JOIN sample USING (sample_id) WHERE sample.energy_uj > 0 ORDER BY p.name")
[ "$pods" = "$(printf 'db-0=100000000\nreport "nightly"=0\nweb-7d4b9c8f6d-x2x9k=150000000')" ] ||
        fail "Kepler pods: got '$pods'"
pass "Kepler interval split into idle, pods and system"

cp "$CL_SRC/fixtures/kepler/metrics-fault.txt" "$SERVE/metrics.new"
mv "$SERVE/metrics.new" "$SERVE/metrics"
wait_rows "SELECT count(*) FROM sample WHERE status = 'gap' AND gap_reason LIKE '%fault%'"
expect_grep "kepler_rejected" "$WORK/collector.err"
n=$(sqlite3 "$DB" "SELECT count(*) FROM sample WHERE energy_uj > 500000000")
[ "$n" = 0 ] || fail "a faulty counter was stored as energy"
pass "a 9.2e14 J pod counter is a gap, not energy"

# The package zone used 1500 J more since metrics-2, the last accepted
# text, across the rejected ones. That increase spans the gap intervals,
# so the first interval after them is a gap as well, never 1500 J in one
# interval of 1 s.
sed 's/zone="package"} 10500$/zone="package"} 12000/' \
        "$CL_SRC/fixtures/kepler/metrics-2.txt" >"$SERVE/metrics.new"
grep -q ' 12000$' "$SERVE/metrics.new" || fail "metrics-2 has no package counter of 10500"
mv "$SERVE/metrics.new" "$SERVE/metrics"
last_fault=$(sqlite3 "$DB" "SELECT max(end_ns) FROM sample WHERE gap_reason LIKE 'Kepler metrics rejected%'")
wait_rows "SELECT count(*) FROM sample WHERE start_ns > $last_fault AND coalesce(gap_reason, '') NOT LIKE 'Kepler metrics rejected%'"
n=$(sqlite3 "$DB" "SELECT count(*) FROM sample WHERE status = 'ok' AND energy_uj >= 1500000000")
[ "$n" = 0 ] || fail "$n intervals hold the energy of earlier gap intervals"
n=$(sqlite3 "$DB" "SELECT count(*) FROM sample s JOIN sample g ON g.end_ns = s.start_ns WHERE s.status = 'ok' AND g.gap_reason LIKE 'Kepler metrics rejected%'")
[ "$n" = 0 ] || fail "$n ok intervals follow a rejected Kepler reading"
n=$(sqlite3 "$DB" "SELECT count(*) FROM sample WHERE status = 'gap' AND gap_reason LIKE 'Kepler readings were rejected since%'")
[ "$n" = 1 ] || fail "$n intervals after the rejected readings are gaps, expected 1"
pass "energy across rejected readings is a gap"

echo "test_kepler_source: all checks passed"
