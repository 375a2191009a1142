#!/usr/bin/env bash
# The nightly run with hourly intensity: it fetches the hours the policy's
# source lacks from a local KPX-format server on 127.0.0.1, applies them
# on the hourly basis (generation side / (1 - 3.6 % grid loss)), fills the
# hours without data from the official factor and says so, compares the
# time-matched intensity with the grid reference, and still signs a report
# when the source fails or the run is offline.
#
# Day 2025-10-23 KST. The server's kpx-array case has 397.8 g/kWh at
# 02:00 KST and 414.1 at 03:00; 04:00 and 05:00 are missing. Energy: one
# 10 s interval of 100 J at 02:00 KST and one of 50 J at 04:00 KST.
. "$(dirname "$0")/lib.sh"

SERVER_PID=""
cleanup() {
        [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
        [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

"$PY" "$CL_SRC/tests/e2e/intensity_server.py" --fixtures "$CL_SRC/fixtures/api" \
        --port-file "$WORK/port" --log "$WORK/requests.log" &
SERVER_PID=$!
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || fail "the test server did not start"
BASE="http://127.0.0.1:$(cat "$WORK/port")"
touch "$WORK/requests.log"
export CARBONLEDGER_KPX_KEY='run-e2e-key'
FAST=(--retry-delay-ms 10 --connect-timeout-ms 500 --timeout-ms 1000
        --max-attempts 2)

NODE="$WORK/node"
cp -a "$CL_SRC/fixtures/nodes/two-socket" "$NODE"
P="$NODE/sys/class/powercap/intel-rapl:0/energy_uj"
collect() {
        expect_status 0 "$COLLECTOR" --db "$1" --once --timestamp "$2" \
                --sysfs "$NODE/sys" --procfs "$NODE/proc" \
                --cgroupfs "$NODE/sys/fs/cgroup" --node-name n1
}
make_db() {
        local db=$1
        echo 240422366267 >"$P"
        collect "$db" 2025-10-22T17:10:00Z
        echo 240522366267 >"$P"
        collect "$db" 2025-10-22T17:10:10Z
        collect "$db" 2025-10-22T19:10:00Z
        echo 240572366267 >"$P"
        collect "$db" 2025-10-22T19:10:10Z
}
expect_status 0 "$CARBONLEDGER" keygen --out "$WORK/keys"
SIGN=(--sign-key "$WORK/keys/key.pem" --sign-cert "$WORK/keys/cert.pem")
cat >"$WORK/hourly.json" <<'JSON'
{"accounting": {"basis": "hourly"}}
JSON

# Hourly basis, source responding.
make_db "$WORK/a.db"
expect_status 0 "$CARBONLEDGER" run --db "$WORK/a.db" --date 2025-10-23 \
        --out "$WORK/a" "${SIGN[@]}" --policy "$WORK/hourly.json" \
        --kpx-url "$BASE/kpx-array" "${FAST[@]}"
expect_grep "intensity_fetched" "$WORK/last.err"
"$PY" - "$WORK/a/carbonledger-2025-10-23.json" <<'PY' || fail "hourly basis values"
import json, math, sys
d = json.load(open(sys.argv[1]))
i, h = d["intensity"], d["hours"]
def close(a, b, what):
    assert a is not None and math.isclose(a, b, rel_tol=1e-9), (what, a, b)
assert i["accounting_basis"] == "hourly", i
assert i["hourly_source"] == "kpx", i
close(i["official_g_per_kwh"], 454.1, "official 2025 factor")
assert h[2]["start_kst"] == "2025-10-23 02:00"
close(h[2]["time_matched"]["g_per_kwh"], 397.8, "02:00 time matched")
assert h[2]["time_matched"]["basis"] == "generation"
close(h[2]["g_per_kwh"], 397.8 / (1 - 0.036), "02:00 applied")
assert h[2]["fell_back"] is False
assert h[2]["g_per_kwh_source"] == "kpx"
assert h[4]["time_matched"]["g_per_kwh"] is None
assert h[4]["fell_back"] is True
close(h[4]["g_per_kwh"], 454.1, "04:00 falls back to the official factor")
assert h[4]["g_per_kwh_source"] == "gir"
assert h[7]["energy_j"] is None, "an hour without samples has no energy"
close(h[2]["energy_j"], 100.0, "02:00 energy")
close(h[4]["energy_j"], 50.0, "04:00 energy")
assert i["hours_fallback"] == 22, i["hours_fallback"]
assert i["hours_with_hourly"] == 2, i["hours_with_hourly"]
close(i["time_matched_g_per_kwh"], 397.8, "time matched of the energy")
close(i["time_matched_energy_share"], 100.0 / 150.0, "share")
expected = (100 * 397.8 / 0.964 + 50 * 454.1) / 3.6e6
close(d["totals"]["emissions_g"], expected, "emissions")
close(d["nodes"][0]["emissions_g"], expected, "node emissions by hour")
grid = [c for c in d["site_checks"] if c["check"] == "grid_intensity"][0]
assert grid["result"] == "COMPLIANT", grid
close(grid["value"], 397.8, "grid check value")
PY
pdfsig "$WORK/a/carbonledger-2025-10-23.pdf" >"$WORK/sig.out" 2>&1 || true
expect_grep "Signature is Valid." "$WORK/sig.out"
pass "hourly basis applies KPX hours and falls back for the rest"

# A second run fetches nothing: the hours are stored.
calls_before=$(grep -c "getPwrAmountByGen" "$WORK/requests.log" || true)
expect_status 0 "$CARBONLEDGER" run --db "$WORK/a.db" --date 2025-10-23 \
        --out "$WORK/a" "${SIGN[@]}" --policy "$WORK/hourly.json" \
        --kpx-url "$BASE/kpx-array" "${FAST[@]}"
calls_after=$(grep -c "getPwrAmountByGen" "$WORK/requests.log" || true)
[ "$calls_before" = "$calls_after" ] || fail "stored hours were fetched again"
pass "stored hours are not fetched again"

# The source fails permanently: still a signed report, every hour from the
# official factor, and the reason in the grid check.
make_db "$WORK/b.db"
expect_status 0 "$CARBONLEDGER" run --db "$WORK/b.db" --date 2025-10-23 \
        --out "$WORK/b" "${SIGN[@]}" --policy "$WORK/hourly.json" \
        --kpx-url "$BASE/kpx-30" "${FAST[@]}"
expect_grep "intensity_unavailable" "$WORK/last.err"
"$PY" - "$WORK/b/carbonledger-2025-10-23.json" <<'PY' || fail "fallback values"
import json, sys
d = json.load(open(sys.argv[1]))
i = d["intensity"]
assert i["hours_fallback"] == 24, i
assert i["time_matched_g_per_kwh"] is None, i
assert "fetch failed" in i["note"], i["note"]
grid = [c for c in d["site_checks"] if c["check"] == "grid_intensity"][0]
assert grid["result"] == "NOT_ASSESSED", grid
assert "fetch failed" in grid["reason"], grid["reason"]
PY
pdfsig "$WORK/b/carbonledger-2025-10-23.pdf" >"$WORK/sig.out" 2>&1 || true
expect_grep "Signature is Valid." "$WORK/sig.out"
pass "a failing source still gives a signed report that says so"

# Official basis, offline: no request, the official factor everywhere.
make_db "$WORK/c.db"
before=$(wc -l <"$WORK/requests.log")
expect_status 0 "$CARBONLEDGER" run --db "$WORK/c.db" --date 2025-10-23 \
        --out "$WORK/c" "${SIGN[@]}" --offline --kpx-url "$BASE/kpx-array"
[ "$before" = "$(wc -l <"$WORK/requests.log")" ] || fail "an offline run made a request"
"$PY" - "$WORK/c/carbonledger-2025-10-23.json" <<'PY' || fail "offline values"
import json, math, sys
d = json.load(open(sys.argv[1]))
i = d["intensity"]
assert i["accounting_basis"] == "official", i
assert math.isclose(d["totals"]["emissions_g"], 150 / 3.6e6 * 454.1), d["totals"]
assert "offline" in i["note"], i["note"]
PY
pass "an offline run uses the official factor and makes no request"

echo "test_run_intensity: all checks passed"
