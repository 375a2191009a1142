#!/usr/bin/env bash
# import prometheus against a local stand-in for the Prometheus API
# (tests/e2e/prom_api_server.py) whose series are 100 W counters with one
# bad point each: -5, +Inf, 1e300, a jump of 200 kJ, a sampled-seconds
# value of 1e300 and a pod counter of -5. The steps at such a point must
# be gaps with the reason, never energy. Also checks the messages for a
# reversed period and that a failed import leaves no database behind.
. "$(dirname "$0")/lib.sh"

SERVER_PID=
trap 'kill $SERVER_PID 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

# 2025-10-24 00:00 KST; 11 points a minute apart give 10 steps.
"$PY" - "$WORK/series.json" <<'PY'
import json, sys
base, n = 1761231600, 11
series = []
def counter(node, metric, values, **labels):
    series.append({"metric": metric,
                   "labels": dict(labels, node_name=node), "values": values})
def node(name, energy=None, sampled=None):
    energy = energy or [100000 + 6000 * i for i in range(n)]
    sampled = sampled or [60 * i for i in range(n)]
    counter(name, "carbonledger_node_energy_joules_total", energy,
            method="measured")
    counter(name, "carbonledger_node_idle_joules_total",
            [3000 * i for i in range(n)], method="measured")
    counter(name, "carbonledger_node_sampled_seconds_total", sampled)
    counter(name, "carbonledger_node_gap_seconds_total", [0] * n)
def with_point(i, value):
    v = [100000 + 6000 * k for k in range(n)]
    v[i] = value
    return v
node("n-ok")
node("n-neg", energy=with_point(5, -5))
node("n-inf", energy=with_point(5, "+Inf"))
node("n-huge", energy=with_point(5, 1e300))
node("n-jump", energy=[100000 + 6000 * k + (200000 if k >= 5 else 0)
                       for k in range(n)])
node("n-sampled", sampled=[1e300 if k == 3 else 60 * k for k in range(n)])
node("n-pod")
pod = [1000 + 2400 * k for k in range(n)]
pod[7] = -5
counter("n-pod", "kepler_pod_cpu_joules_total", pod, zone="all",
        pod_id="2c9f8a79-5391-454b-88cb-86190881cb96", pod_name="web",
        pod_namespace="shop", state="running")
json.dump({"base": base, "step": 60, "series": series}, open(sys.argv[1], "w"))
PY
"$PY" "$CL_SRC/tests/e2e/prom_api_server.py" --series "$WORK/series.json" \
        --port-file "$WORK/port" 2>"$WORK/server.err" &
SERVER_PID=$!
for i in $(seq 1 100); do
        [ -s "$WORK/port" ] && break
        sleep 0.1
done
[ -s "$WORK/port" ] || fail "the Prometheus stand-in did not start"
URL="http://127.0.0.1:$(cat "$WORK/port")"
DB="$WORK/cluster.db"
PERIOD=(--from 2025-10-24T00:00:00+09:00 --to 2025-10-24T00:10:00+09:00)

expect_status 0 "$CARBONLEDGER" import prometheus --db "$DB" --url "$URL" \
        "${PERIOD[@]}" --step 60
expect_grep "imported 7 nodes" "$WORK/last.out"

q() { sqlite3 "$DB" "$1"; }
# sample_of NODE COLUMNS WHERE: the node's samples, one line each.
node_q() {
        q "SELECT $2 FROM sample s JOIN node n USING (node_id) WHERE n.name = '$1' $3 ORDER BY start_ns"
}
n=$(q "SELECT count(*) FROM sample WHERE status = 'ok' AND energy_uj * 1000.0 / (end_ns - start_ns) > 100.001")
[ "$n" = 0 ] || fail "$n ok samples above the nodes' 100 W"
n=$(q "SELECT count(*) FROM sample WHERE energy_uj < 0 OR idle_uj < 0 OR system_uj < 0")
[ "$n" = 0 ] || fail "$n samples with negative energy"
n=$(q "SELECT count(*) FROM pod_sample WHERE energy_uj < 0 OR energy_uj > 2400000000")
[ "$n" = 0 ] || fail "$n pod rows with negative or invented energy"
pass "no bad point becomes energy"
expect_grep "11 steps stored as gaps" "$WORK/last.out"
expect_grep "prometheus_step_rejected" "$WORK/last.err"

[ "$(node_q n-ok "sum(energy_uj)" "AND status = 'ok'")" = 60000000000 ] ||
        fail "n-ok: $(node_q n-ok "sum(energy_uj)" "AND status = 'ok'") uJ, expected 60 kJ"
[ "$(node_q n-ok "count(*)" "AND status = 'gap'")" = 0 ] ||
        fail "n-ok has gaps"
pass "a clean counter imports all ten steps"

# expect_gaps NODE STEPS REASON: the node's gap samples start at STEPS
# (minutes after 00:00 KST), last a whole step and name REASON.
expect_gaps() {
        local got want
        got=$(node_q "$1" "((start_ns / 1000000000 - 1761231600) / 60) || ':' || ((end_ns - start_ns) / 1000000000)" "AND status = 'gap'" | tr '\n' ' ')
        want=$(for s in $2; do printf '%s:60 ' "$s"; done)
        [ "$got" = "$want" ] || fail "$1: gaps '$got', expected '$want'"
        got=$(node_q "$1" "count(*)" "AND status = 'gap' AND gap_reason NOT LIKE '$3'")
        [ "$got" = 0 ] || fail "$1: $(node_q "$1" gap_reason "AND status = 'gap'")"
        got=$(node_q "$1" "sum(energy_uj)" "AND status = 'ok'")
        want=$(( (10 - $(echo $2 | wc -w)) * 6000000000 ))
        [ "$got" = "$want" ] || fail "$1: $got uJ in ok steps, expected $want"
}
expect_gaps n-neg "4 5" "invalid Prometheus counter: carbonledger_node_energy_joules_total is -5 at %"
expect_gaps n-inf "4 5" "invalid Prometheus counter: carbonledger_node_energy_joules_total is inf at %"
expect_gaps n-huge "4 5" "invalid Prometheus counter: % is 1e+300 at %"
expect_gaps n-jump "4" "implausible Prometheus counter: carbonledger_node_energy_joules_total rose by 206000 J in the 60 s from %above --max-watts%"
expect_gaps n-sampled "2 3" "invalid Prometheus counter: carbonledger_node_sampled_seconds_total is 1e+300%"
expect_gaps n-pod "6 7" "invalid Prometheus counter: kepler_pod_cpu_joules_total is -5 at %"
pass "each bad point makes its steps gaps with the reason"

# A lower --max-watts rejects the clean 100 W node too.
expect_status 0 "$CARBONLEDGER" import prometheus --db "$WORK/low.db" \
        --url "$URL" "${PERIOD[@]}" --step 60 --max-watts 50
n=$(sqlite3 "$WORK/low.db" "SELECT count(*) FROM sample WHERE status = 'ok'")
[ "$n" = 0 ] || fail "--max-watts 50 kept $n ok samples of 100 W nodes"
expect_status 2 "$CARBONLEDGER" import prometheus --db "$WORK/low.db" \
        --url "$URL" "${PERIOD[@]}" --max-watts -1
expect_grep "invalid --max-watts" "$WORK/last.err"
pass "--max-watts sets the bound"

expect_status 2 "$CARBONLEDGER" import prometheus --db "$WORK/r.db" \
        --url "$URL" --from 2025-10-24 --to 2025-10-23
expect_grep "to is not after --from" "$WORK/last.err"
[ ! -e "$WORK/r.db" ] || fail "a rejected period created the database"
pass "a reversed period says --to is before --from"

expect_status 1 "$CARBONLEDGER" import prometheus --db "$WORK/failed.db" \
        --url "$URL/broken" "${PERIOD[@]}" --step 60
expect_grep "nothing stored" "$WORK/last.err"
leftover=$(ls "$WORK" | grep '^failed\.db' || true)
[ -z "$leftover" ] || fail "a failed import left $leftover"
cp "$DB" "$WORK/kept.db"
expect_status 1 "$CARBONLEDGER" import prometheus --db "$WORK/kept.db" \
        --url "$URL/broken" "${PERIOD[@]}" --step 60
[ -s "$WORK/kept.db" ] || fail "a failed import removed an existing database"
pass "a failed import removes only a database it created"

echo "test_prometheus_faults: all checks passed"
