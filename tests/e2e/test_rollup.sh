#!/usr/bin/env bash
# Rollups and retention: two days of samples replayed with --once
# --timestamp, one nightly run per day (the second with a retention of
# 30 days, which the replayed March days are older than), then a month
# report from the rollups alone. The month must hold the energy of both
# days, and raw samples go only once their day is rolled up.
. "$(dirname "$0")/lib.sh"

NODE="$WORK/node"
cp -a "$CL_SRC/fixtures/nodes/two-socket" "$NODE"
DB="$WORK/ledger.db"
P="$NODE/sys/class/powercap"

collect() {
        expect_status 0 "$COLLECTOR" --db "$DB" --once --timestamp "$1" \
                --sysfs "$NODE/sys" --procfs "$NODE/proc" \
                --cgroupfs "$NODE/sys/fs/cgroup" \
                --pod-logs "$NODE/var/log/pods" --node-name node-a
}
# advance J: adds J joules to package-0, and CPU time to the node.
pkg=240422366267
ticks=80000
advance() {
        pkg=$((pkg + $1 * 1000000))
        ticks=$((ticks + 1000))
        echo "$pkg" >"$P/intel-rapl:0/energy_uj"
        printf 'cpu  %s 0 5000 %s 1000 0 0 0 0 0\nintr 1 0\n' "$ticks" 80000 \
                >"$NODE/proc/stat"
}

# Day 1 (KST 2026-03-10): 100 J then 200 J; day 2: 50 J then 150 J.
collect 2026-03-10T01:00:00Z
advance 100
collect 2026-03-10T01:00:10Z
advance 200
collect 2026-03-10T01:00:20Z
collect 2026-03-11T01:00:00Z
advance 50
collect 2026-03-11T01:00:05Z
advance 150
collect 2026-03-11T01:00:10Z
pass "two days of samples stored"

expect_status 0 "$CARBONLEDGER" keygen --out "$WORK/keys"
run() {
        expect_status 0 "$CARBONLEDGER" run --db "$DB" --out "$WORK/out" \
                --sign-key "$WORK/keys/key.pem" \
                --sign-cert "$WORK/keys/cert.pem" "$@"
}
run --date 2026-03-10
n=$(sqlite3 "$DB" "SELECT count(*) FROM rollup_day")
[ "$n" = 1 ] || fail "expected one rolled-up day, got $n"
n=$(sqlite3 "$DB" "SELECT sum(energy_uj) FROM rollup_node_hour")
[ "$n" = 300000000 ] || fail "day 1 rollup energy: $n uJ"
n=$(sqlite3 "$DB" "SELECT count(*) FROM sample")
[ "$n" = 6 ] || fail "without retention all 6 samples stay, got $n"
pass "the nightly run rolls its day up and keeps the samples"

run --date 2026-03-11 --retention-days 30
expect_grep "rollup_written" "$WORK/last.err"
# The newest sample stays, so sample ids keep growing.
n=$(sqlite3 "$DB" "SELECT count(*) || ' ' || max(sample_id) FROM sample")
[ "$n" = "1 6" ] || fail "expected only the newest sample (id 6) left, got $n"
n=$(sqlite3 "$DB" "SELECT count(*) FROM pod_sample WHERE sample_id != 6")
[ "$n" = 0 ] || fail "pod rows past retention remain: $n"
n=$(sqlite3 "$DB" "SELECT sum(energy_uj) FROM rollup_node_hour")
[ "$n" = 500000000 ] || fail "rollups hold $n uJ, expected 500 J"
pass "retention deletes samples only after their day is rolled up"

# A sample added later to a rolled-up day is not deleted before its day is
# rolled up again.
collect 2026-03-11T02:00:00Z
advance 10
collect 2026-03-11T02:00:05Z
n=$(sqlite3 "$DB" "SELECT count(*) FROM sample WHERE sample_id > (SELECT max(max_sample_id) FROM rollup_day)")
[ "$n" = 2 ] || fail "expected 2 samples newer than the rollups, got $n"

run --month 2026-03
for f in pdf xlsx xlsx.p7s json; do
        [ -s "$WORK/out/carbonledger-2026-03.$f" ] || fail "missing month .$f"
done
"$PY" - "$WORK/out/carbonledger-2026-03.json" <<'PY' || fail "month report"
import json, math, sys
doc = json.load(open(sys.argv[1]))
e = doc["totals"]["energy_j"]
assert math.isclose(e, 510.0, rel_tol=1e-9), f"month energy {e} J, expected 510 J"
assert doc["period"]["start"] == "2026-02-28T15:00:00Z", doc["period"]["start"]
assert doc["period"]["end"] == "2026-03-31T15:00:00Z", doc["period"]["end"]
print("month ok")
PY
pass "the month report sums the rollups and the newer samples"

expect_status 2 "$CARBONLEDGER" run --db "$DB" --out "$WORK/out" \
        --sign-key "$WORK/keys/key.pem" --sign-cert "$WORK/keys/cert.pem" \
        --month 2026-13
expect_status 2 "$CARBONLEDGER" run --db "$DB" --out "$WORK/out" \
        --sign-key "$WORK/keys/key.pem" --sign-cert "$WORK/keys/cert.pem" \
        --month 2026-03 --date 2026-03-10
pass "invalid month options are usage errors"

echo "test_rollup: all checks passed"
