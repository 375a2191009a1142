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
cp "$WORK/out/carbonledger-2026-03-10.json" "$WORK/day1-before.json"
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

# Day 1 again, now that retention deleted its samples: from its rollup.
run --date 2026-03-10
"$PY" - "$WORK/day1-before.json" "$WORK/out/carbonledger-2026-03-10.json" <<'PY' || fail "day 1 after retention"
import json, math, sys
before, after = (json.load(open(p)) for p in sys.argv[1:])
e = after["totals"]["energy_j"]
assert math.isclose(e, 300.0, rel_tol=1e-9), f"day 1 energy {e} J, expected 300 J"
assert [n["name"] for n in after["nodes"]] == ["node-a"], after["nodes"]
for k in ("energy_j", "idle_energy_j", "pods_energy_j"):
    assert math.isclose(after["nodes"][0][k], before["nodes"][0][k],
                        rel_tol=1e-9, abs_tol=1e-6), k
assert len(after["workloads"]) == len(before["workloads"]), after["workloads"]
hours = [h["energy_j"] for h in after["hours"] if h["energy_j"] is not None]
assert math.isclose(sum(hours), 300.0, rel_tol=1e-9), hours
print("day 1 ok")
PY
pass "a day past retention is reported from its rollup"

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
hours = [h for h in doc["hours"] if h["energy_j"] is not None]
assert len(doc["hours"]) == 744, len(doc["hours"])
assert len(hours) >= 2, "the month's hourly table is empty"
assert math.isclose(sum(h["energy_j"] for h in hours), 510.0, rel_tol=1e-9)
print("month ok")
PY
pass "the month report sums the rollups and the newer samples"

pdftotext -layout "$WORK/out/carbonledger-2026-03.pdf" "$WORK/month.txt"
expect_grep "2026-03-10 10:00.11:00" "$WORK/month.txt"
expect_grep "2026-03-31 23:00.24:00" "$WORK/month.txt"
pass "the month's hour table shows each hour's KST date"

expect_status 2 "$CARBONLEDGER" run --db "$DB" --out "$WORK/out" \
        --sign-key "$WORK/keys/key.pem" --sign-cert "$WORK/keys/cert.pem" \
        --month 2026-13
expect_status 2 "$CARBONLEDGER" run --db "$DB" --out "$WORK/out" \
        --sign-key "$WORK/keys/key.pem" --sign-cert "$WORK/keys/cert.pem" \
        --month 2026-03 --date 2026-03-10
pass "invalid month options are usage errors"

echo "test_rollup: all checks passed"
