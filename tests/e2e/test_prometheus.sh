#!/usr/bin/env bash
# Two collectors on two copies of the two-socket fixture serve /metrics,
# a real Prometheus (Debian's package, started here on 127.0.0.1 with its
# own configuration and a temporary storage folder) scrapes them every
# second, and the test advances the counters: node-a through three
# intervals, node-b through two. Then `import prometheus` reads the
# period back into a cluster database, `merge` combines copies of the two
# node databases, and the nightly report of each must equal the sum of
# the two nodes' own reports, node by node and pod by pod.
. "$(dirname "$0")/lib.sh"

PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
[ -x "$PROMETHEUS" ] || fail "$PROMETHEUS missing: apt-get install prometheus"

free_port() {
        "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

PIDS=()
PROM_PID=
stop_pids() {
        for p in "$@"; do kill "$p" 2>/dev/null || true; done
        for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_pids "${PIDS[@]}" $PROM_PID; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

POD_A=sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c9f8a79_5391_454b_88cb_86190881cb96.slice
POD_B=sys/fs/cgroup/kubepods.slice/kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a.slice
POD_C=sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0043435f_1854_4327_b76b_730f681a781d.slice

set_zone() { printf '%s\n' "$3" >"$1/sys/class/powercap/$2/energy_uj"; }
set_pod() {
        printf 'usage_usec %s\nuser_usec 0\nsystem_usec 0\n' "$3" >"$1/$2/cpu.stat.new"
        mv "$1/$2/cpu.stat.new" "$1/$2/cpu.stat"
}
set_stat() {
        printf 'cpu  %s 0 %s %s %s 0 0 0 %s 0\nintr 1 0\n' "$2" "$3" "$4" "$5" "$6" \
                >"$1/proc/stat.new"
        mv "$1/proc/stat.new" "$1/proc/stat"
}

# The rounds of counter values of tests/e2e/test_two_socket.sh.
round() {
        local n=$1 node=$2
        case $round_no in
        1)
                set_stat "$node" 12000 6000 84500 1500 600
                set_pod "$node" "$POD_A" 13000000
                set_pod "$node" "$POD_B" 8000000
                set_pod "$node" "$POD_C" 2500000
                set_zone "$node" intel-rapl:0 241022366267
                set_zone "$node" intel-rapl:0:1 1100000000
                set_zone "$node" intel-rapl:1 256671150
                set_zone "$node" intel-rapl:1:0 2200000000
                ;;
        2)
                set_stat "$node" 13500 6500 90300 1700 700
                set_pod "$node" "$POD_A" 28000000
                set_pod "$node" "$POD_B" 16000000
                set_pod "$node" "$POD_C" 4500000
                set_zone "$node" intel-rapl:0 241422366267
                set_zone "$node" intel-rapl:0:1 1200000000
                set_zone "$node" intel-rapl:1 656671150
                set_zone "$node" intel-rapl:1:0 2300000000
                ;;
        3)
                set_stat "$node" 16500 7500 94300 1700 800
                set_pod "$node" "$POD_A" 38000000
                set_pod "$node" "$POD_B" 20000000
                set_zone "$node" intel-rapl:0 241922366267
                set_zone "$node" intel-rapl:0:1 1250000000
                set_zone "$node" intel-rapl:1 1056671150
                set_zone "$node" intel-rapl:1:0 2350000000
                ;;
        esac
        : "$n"
}

# prom_query PROMQL: prints the instant query's JSON.
prom_query() {
        curl -sf --max-time 5 -G "http://127.0.0.1:$PPORT/api/v1/query" \
                --data-urlencode "query=$1"
}

# wait_for PROMQL VALUE: waits (at most 30 s) until the query's one value is VALUE.
wait_for() {
        local i got
        for i in $(seq 1 60); do
                got=$(prom_query "$1" | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null || true)
                [ "$got" = "$2" ] && return 0
                sleep 0.5
        done
        fail "Prometheus: $1 is '$got', expected $2"
}

TODAY=$(TZ=Asia/Seoul date +%F)
FROM=$(date -u +%Y-%m-%dT%H:%M:%SZ)
PA=$(free_port)
PB=$(free_port)
PPORT=$(free_port)
for n in a b; do
        cp -a "$CL_SRC/fixtures/nodes/two-socket" "$WORK/node-$n"
done
for n in a b; do
        port=$PA
        [ $n = b ] && port=$PB
        "$COLLECTOR" --db "$WORK/node-$n.db" --interval 1 --node-name "node-$n" \
                --sysfs "$WORK/node-$n/sys" --procfs "$WORK/node-$n/proc" \
                --cgroupfs "$WORK/node-$n/sys/fs/cgroup" \
                --pod-logs "$WORK/node-$n/var/log/pods" \
                --metrics-listen "127.0.0.1:$port" 2>"$WORK/collector-$n.err" &
        PIDS+=($!)
done

mkdir -p "$WORK/prom-data"
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1m
scrape_configs:
  - job_name: carbonledger
    static_configs:
      - targets: ['127.0.0.1:$PA', '127.0.0.1:$PB']
EOF
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" \
        --storage.tsdb.path="$WORK/prom-data" \
        --web.listen-address="127.0.0.1:$PPORT" \
        --storage.tsdb.retention.time=1d \
        --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!

wait_for 'count(carbonledger_node_energy_joules_total)' 2
wait_for 'sum(carbonledger_node_energy_joules_total)' 0
pass "Prometheus scrapes both collectors at zero"

for round_no in 1 2 3; do
        round x "$WORK/node-a"
        [ $round_no -le 2 ] && round x "$WORK/node-b"
        sleep 2.5
done

# Both collectors sampled the final state and Prometheus scraped it.
total_db() {
        sqlite3 "$WORK/node-$1.db" "SELECT printf('%.6f', coalesce(sum(energy_uj), 0) / 1e6) FROM sample WHERE status = 'ok'"
}
for i in $(seq 1 40); do
        ea=$(total_db a)
        eb=$(total_db b)
        pa=$(prom_query 'carbonledger_node_energy_joules_total{node_name="node-a"}' | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print("%.6f" % float(r[0]["value"][1]))')
        pb=$(prom_query 'carbonledger_node_energy_joules_total{node_name="node-b"}' | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print("%.6f" % float(r[0]["value"][1]))')
        [ "$ea" = "$pa" ] && [ "$eb" = "$pb" ] && [ "$ea" != 0.000000 ] && break
        sleep 0.5
done
[ "$ea" = "$pa" ] || fail "node-a: database $ea J, Prometheus $pa J"
[ "$eb" = "$pb" ] || fail "node-b: database $eb J, Prometheus $pb J"
pass "Prometheus holds the energy the databases hold ($ea J, $eb J)"

curl -sf "http://127.0.0.1:$PA/metrics" >"$WORK/metrics-a.txt"
expect_grep '^# TYPE kepler_pod_cpu_joules_total counter' "$WORK/metrics-a.txt"
expect_grep 'pod_name="web-7d4b9c8f6d-x2x9k",pod_namespace="shop",zone="all",state="running"' "$WORK/metrics-a.txt"
expect_grep '^kepler_node_cpu_joules_total{node_name="node-a",zone="package",path="intel-rapl:1"} 1100.000000' "$WORK/metrics-a.txt"
pass "collector exposition has Kepler names and the wrap-corrected zone"

sleep 1.5
TO=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
stop_pids "${PIDS[@]}"
PIDS=()

expect_status 0 "$CARBONLEDGER" import prometheus --db "$WORK/cluster.db" \
        --url "http://127.0.0.1:$PPORT" --from "$FROM" --to "$TO" --step 1
expect_grep "imported 2 nodes" "$WORK/last.out"
# A second import of the same period replaces the first.
expect_status 0 "$CARBONLEDGER" import prometheus --db "$WORK/cluster.db" \
        --url "http://127.0.0.1:$PPORT" --from "$FROM" --to "$TO" --step 1
n=$(sqlite3 "$WORK/cluster.db" "SELECT count(DISTINCT source) || ' ' || min(source) FROM sample")
[ "$n" = "1 prometheus" ] || fail "imported samples not marked: $n"
pass "import prometheus stores both nodes, again without doubling"

# Importing into a node database would count its energy twice.
cp "$WORK/node-a.db" "$WORK/node-a-copy.db"
expect_status 1 "$CARBONLEDGER" import prometheus --db "$WORK/node-a-copy.db" \
        --url "http://127.0.0.1:$PPORT" --from "$FROM" --to "$TO" --step 1
expect_grep "count its energy twice" "$WORK/last.err"
pass "import rejects a database with the node's own samples"

expect_status 0 "$CARBONLEDGER" merge --into "$WORK/merged.db" \
        "$WORK/node-a.db" "$WORK/node-b.db"
expect_status 0 "$CARBONLEDGER" merge --into "$WORK/merged.db" \
        "$WORK/node-a.db" "$WORK/node-b.db"
expect_grep "node node-b: 0 samples added" "$WORK/last.out"
pass "merge adds each node once"

expect_status 0 "$CARBONLEDGER" keygen --out "$WORK/keys"
for db in node-a node-b cluster merged; do
        expect_status 0 "$CARBONLEDGER" run --db "$WORK/$db.db" --date "$TODAY" \
                --out "$WORK/out-$db" --sign-key "$WORK/keys/key.pem" \
                --sign-cert "$WORK/keys/cert.pem"
done
"$PY" - "$WORK" "$TODAY" <<'PY' || fail "cluster reports differ from the sum of the nodes"
import json, math, sys
work, day = sys.argv[1], sys.argv[2]
def load(name):
    return json.load(open(f"{work}/out-{name}/carbonledger-{day}.json"))
a, b = load("node-a"), load("node-b")
bad = []
def same(x, y, what):
    if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6):
        bad.append(f"{what}: {x} != {y}")
nodes = {n["name"]: n for n in a["nodes"] + b["nodes"]}
pods = {(w["node"], w["pod_uid"]): w for w in a["workloads"] + b["workloads"]}
for cluster in ("cluster", "merged"):
    c = load(cluster)
    same(c["totals"]["energy_j"], a["totals"]["energy_j"] + b["totals"]["energy_j"], f"{cluster} total")
    if {n["name"] for n in c["nodes"]} != set(nodes):
        bad.append(f"{cluster} nodes {[n['name'] for n in c['nodes']]}")
    for n in c["nodes"]:
        for k in ("energy_j", "idle_energy_j", "system_energy_j", "pods_energy_j"):
            same(n[k], nodes[n["name"]][k], f"{cluster} {n['name']} {k}")
    got = {(w["node"], w["pod_uid"]): w for w in c["workloads"]}
    for key, w in pods.items():
        if w["energy_j"] == 0:
            continue
        if key not in got:
            bad.append(f"{cluster} lacks pod {key}")
            continue
        same(got[key]["energy_j"], w["energy_j"], f"{cluster} pod {key}")
        if got[key]["pod"] != w["pod"]:
            bad.append(f"{cluster} pod name {got[key]['pod']} != {w['pod']}")
if a["totals"]["energy_j"] <= 0 or b["totals"]["energy_j"] <= 0:
    bad.append("a node report has no energy")
print("\n".join(bad) if bad else "sums match")
sys.exit(1 if bad else 0)
PY
pass "imported and merged cluster reports equal the sum of the nodes"

echo "test_prometheus: all checks passed"
