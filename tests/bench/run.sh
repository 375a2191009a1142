#!/usr/bin/env bash
# Benchmarks, run on demand (not part of ctest): generates its data under
# a temporary folder and prints one table per figure. Usage:
#   bash tests/bench/run.sh [BUILD_DIR]   (default: build)
# BENCH_SECTIONS picks sections (default "collector ingest nightly").
# Needs prometheus-node-exporter, prometheus-process-exporter, sqlite3,
# GNU time and a C compiler. Every server listens on 127.0.0.1 only.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$top/build}" && pwd)
COLLECTOR="$BUILD/collector/carbonledger-collector"
CARBONLEDGER="$BUILD/pipeline/carbonledger"
export CARBONLEDGER_TEMPLATES="$top/templates"
W=$(mktemp -d "${TMPDIR:-/tmp}/carbonledger-bench.XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"' EXIT

free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# CPU time of a process so far, in ns (schedstat: time on a CPU).
cpu_ns() { cut -d' ' -f1 "/proc/$1/schedstat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
tree() { # tree PODS PROCS: a generated node tree, made once per size
        local d="$W/tree-$1-$2"
        [ -d "$d" ] || python3 "$top/tests/bench/gen_tree.py" \
                "$top/fixtures/nodes/two-socket" "$d" "$1" "$2"
        echo "$d"
}

# collector_cost NAME SYSFS PROCFS CGROUPFS PODLOGS: prints CPU per cycle
# (us) and RSS (MB) of the sampling loop at 20 cycles a second.
collector_cost() {
        local db="$W/cost-$1.db" pid c0 c1 n0 n1
        rm -f "$db"*
        "$COLLECTOR" --db "$db" --interval 0.05 --node-name bench \
                --sysfs "$2" --procfs "$3" --cgroupfs "$4" --pod-logs "$5" \
                2>"$W/cost-$1.err" &
        pid=$!
        PIDS+=("$pid")
        sleep 2
        c0=$(cpu_ns "$pid")
        n0=$(sqlite3 "$db" "SELECT count(*) FROM sample")
        sleep 8
        c1=$(cpu_ns "$pid")
        n1=$(sqlite3 "$db" "SELECT count(*) FROM sample")
        rss=$(rss_kb "$pid")
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        awk -v c="$((c1 - c0))" -v n="$((n1 - n0))" -v r="$rss" \
                'BEGIN { printf "%.0f %.1f %d\n", c / n / 1000, r / 1024, n }'
}

# exporter_cost CMD...: starts an exporter whose command ends with
# "--web.listen-address 127.0.0.1:PORT" (PORT substituted), scrapes it 100
# times after 5 warm-up scrapes, and prints CPU per scrape (us) and RSS.
exporter_cost() {
        local port pid c0 c1
        port=$(free_port)
        "${@/PORT/$port}" >"$W/exporter.log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        for i in $(seq 1 50); do
                curl -sf "http://127.0.0.1:$port/metrics" >/dev/null && break
                sleep 0.1
        done
        for i in 1 2 3 4 5; do curl -sf "http://127.0.0.1:$port/metrics" >/dev/null; done
        c0=$(cpu_ns "$pid")
        for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/metrics" >/dev/null; done
        c1=$(cpu_ns "$pid")
        rss=$(rss_kb "$pid")
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        awk -v c="$((c1 - c0))" -v r="$rss" 'BEGIN { printf "%.0f %.1f 100\n", c / 100 / 1000, r / 1024 }'
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r), filesystem of $W: $(stat -f -c %T "$W")"
SECTIONS=" ${BENCH_SECTIONS:-collector ingest nightly} "
if [[ $SECTIONS == *" collector "* ]]; then
echo
echo "## Collector cost per sample (CPU us per cycle, RSS MB)"
echo "| tree | pods | processes | carbonledger cycle | node-exporter rapl scrape | process-exporter scrape |"
echo "| --- | --- | --- | --- | --- | --- |"
PECFG="$W/process-exporter.yml"
printf 'process_names:\n  - name: "{{.Comm}}"\n    cmdline:\n      - ".+"\n' >"$PECFG"
for size in "50 500" "100 1000" "200 2000" "400 4000"; do
        set -- $size
        t=$(tree "$1" "$2")
        read -r cc cr cn < <(collector_cost "$1" "$t/sys" "$t/proc" "$t/sys/fs/cgroup" "$t/var/log/pods")
        read -r nc nr _ < <(exporter_cost prometheus-node-exporter \
                --path.sysfs="$t/sys" --path.procfs="$t/proc" \
                --collector.disable-defaults --collector.rapl \
                --web.listen-address=127.0.0.1:PORT)
        read -r pc pr _ < <(exporter_cost prometheus-process-exporter \
                -procfs "$t/proc" -config.path "$PECFG" \
                -web.listen-address 127.0.0.1:PORT)
        echo "| generated | $1 | $2 | $cc us, $cr MB ($cn cycles) | $nc us, $nr MB | $pc us, $pr MB |"
done
read -r cc cr cn < <(collector_cost host /sys /proc /sys/fs/cgroup /var/log/pods)
read -r nc nr _ < <(exporter_cost prometheus-node-exporter \
        --collector.disable-defaults --collector.rapl \
        --web.listen-address=127.0.0.1:PORT)
read -r pc pr _ < <(exporter_cost prometheus-process-exporter \
        -config.path "$PECFG" -web.listen-address 127.0.0.1:PORT)
echo "| this host | $(ls -d /sys/fs/cgroup/kubepods* 2>/dev/null | wc -l) | $(ls -d /proc/[0-9]* | wc -l) | $cc us, $cr MB ($cn cycles) | $nc us, $nr MB | $pc us, $pr MB |"
fi

if [[ $SECTIONS == *" ingest "* ]]; then
echo
echo "## Ingest (rows per second)"
cc -O2 -o "$W/bench_ingest" "$top/tests/bench/bench_ingest.c" \
        -I"$top/collector" -I"$top/schema" -I"$top/common" \
        "$BUILD/collector/libcl_collector_core.a" "$BUILD/schema/libcl_schema.a" \
        "$BUILD/common/libcl_common.a" -lsqlite3 -lmicrohttpd -lcurl -lpthread -lm
echo "| pods per interval | collector store (one transaction per interval) | sqlite3 .import of the same rows (one transaction) |"
echo "| --- | --- | --- |"
for pods in 50 200 400; do
        cycles=$((400000 / pods))
        rate=$("$W/bench_ingest" "$W/ingest-$pods.db" "$pods" "$cycles")
        sqlite3 "$W/ingest-$pods.db" ".mode csv" ".output $W/rows.csv" \
                "SELECT sample_id, pod_id, cpu_usage_us, cpu_us, energy_uj FROM pod_sample"
        rows=$(wc -l <"$W/rows.csv")
        sqlite3 "$W/import.db" "PRAGMA journal_mode = WAL" "DROP TABLE IF EXISTS pod_sample" \
                "CREATE TABLE pod_sample (sample_id INTEGER NOT NULL, pod_id INTEGER NOT NULL, cpu_usage_us INTEGER NOT NULL, cpu_us INTEGER, energy_uj INTEGER, PRIMARY KEY (sample_id, pod_id)) WITHOUT ROWID" >/dev/null
        t0=$(date +%s.%N)
        sqlite3 "$W/import.db" "BEGIN" ".mode csv" ".import $W/rows.csv pod_sample" "COMMIT"
        t1=$(date +%s.%N)
        echo "| $pods | $rate | $(awk -v r="$rows" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", r / (b - a) }') |"
done
fi
[[ $SECTIONS == *" nightly "* ]] || exit 0

# day_db PODS HOURS: a database of one node's HOURS hours at 5 s with PODS
# pods, every interval 'ok' (generated in SQL, about 1 s per million rows).
day_db() {
        local db="$W/day-$1-$2.db" n=$(($2 * 720))
        rm -f "$db"*
        "$COLLECTOR" --db "$db" --once --timestamp 2026-03-09T15:00:00Z --node-name bench \
                --sysfs "$top/fixtures/nodes/two-socket/sys" --procfs "$top/fixtures/nodes/two-socket/proc" \
                --cgroupfs "$W/none" --pod-logs "$W/none" 2>/dev/null
        sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
INSERT INTO pod (node_id, uid, namespace, name)
  WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < $1)
  SELECT 1, printf('00000000-0000-4000-8000-%012d', x), 'ns' || (x % 20), 'pod-' || x FROM i;
INSERT INTO sample (node_id, boot_id, start_ns, end_ns, status, method, cpu_total_ticks,
    cpu_idle_ticks, clock_ticks_hz, cpu_total_us, cpu_idle_us, pods_cpu_us, energy_uj,
    idle_uj, system_uj, pods_uj)
  WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < $n)
  SELECT 1, 'b', 1773068400000000000 + (x - 1) * 5000000000,
    1773068400000000000 + x * 5000000000, 'ok', 'measured', x * 800, x * 400, 100,
    8000000, 4000000, $1 * 10000, 1000000000, 500000000, 500000000 - $1 * 2000000,
    $1 * 2000000 FROM i;
INSERT INTO pod_sample SELECT s.sample_id, p.pod_id, s.sample_id * 10000, 10000,
  2000000 FROM sample s, pod p WHERE s.status = 'ok';
COMMIT;
SQL
        echo "$db"
}
run_report() { # run_report DB ARGS...: prints seconds and peak RSS MB
        local db=$1
        shift
        /usr/bin/time -f "%e %M" -o "$W/time.out" "$CARBONLEDGER" run --db "$db" \
                --out "$W/out" --sign-key "$W/keys/key.pem" --sign-cert "$W/keys/cert.pem" \
                "$@" >/dev/null 2>"$W/run.err" || { cat "$W/run.err" >&2; return 1; }
        awk '{ printf "%.2f s, %.0f MB", $1, $2 / 1024 }' "$W/time.out"
}
"$CARBONLEDGER" keygen --out "$W/keys" >/dev/null

echo
echo "## Nightly run, database to signed PDF and XLSX (includes the day's rollup)"
echo "| pods | hours of samples at 5 s | pod rows | time, peak RSS | database size |"
echo "| --- | --- | --- | --- | --- |"
for size in "200 6" "200 12" "50 24" "100 24" "200 24"; do
        set -- $size
        db=$(day_db "$1" "$2")
        rows=$(sqlite3 "$db" "SELECT count(*) FROM pod_sample")
        sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
        bytes=$(stat -c %s "$db")
        echo "| $1 | $2 | $rows | $(run_report "$db" --date 2026-03-10) | $(awk -v b="$bytes" 'BEGIN { printf "%.0f MB", b / 1048576 }') |"
done

echo
echo "## Month report from rollups (200 pods, 30 rolled-up days)"
db="$W/day-200-24.db"
sqlite3 "$db" "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'rollup%'" >"$W/rollup-day.bytes" 2>/dev/null || echo 0 >"$W/rollup-day.bytes"
sqlite3 "$db" >/dev/null <<'SQL'
BEGIN;
INSERT INTO rollup_node_hour SELECT node_id, hour_start_ns + d * 86400000000000, energy_uj, idle_uj,
  pods_uj, measured_uj, estimated_uj, sampled_ns, gap_ns, intervals, gaps, scaled_intervals,
  measured_n, estimated_n, peak_w, model_idle_w, model_max_w FROM rollup_node_hour,
  (WITH RECURSIVE i(d) AS (SELECT 1 UNION ALL SELECT d + 1 FROM i WHERE d < 29) SELECT d FROM i);
INSERT INTO rollup_pod_hour SELECT pod_id, hour_start_ns + d * 86400000000000, energy_uj, cpu_us,
  run_ns, first_ns + d * 86400000000000, last_ns + d * 86400000000000, peak_w, measured_n,
  estimated_n FROM rollup_pod_hour,
  (WITH RECURSIVE i(d) AS (SELECT 1 UNION ALL SELECT d + 1 FROM i WHERE d < 29) SELECT d FROM i);
INSERT INTO rollup_day SELECT day_start_ns + d * 86400000000000, max_sample_id, rolled_ns, 0
  FROM rollup_day, (WITH RECURSIVE i(d) AS (SELECT 1 UNION ALL SELECT d + 1 FROM i WHERE d < 29) SELECT d FROM i);
DELETE FROM pod_sample WHERE sample_id < (SELECT max(sample_id) FROM sample);
DELETE FROM sample WHERE sample_id < (SELECT max(sample_id) FROM sample);
COMMIT;
VACUUM;
SQL
echo "| rollup rows | time, peak RSS |"
echo "| --- | --- |"
echo "| $(sqlite3 "$db" "SELECT (SELECT count(*) FROM rollup_node_hour) + (SELECT count(*) FROM rollup_pod_hour)") | $(run_report "$db" --month 2026-03) |"
echo
echo "rollup bytes per node-day (200 pods): $(cat "$W/rollup-day.bytes")"
echo "month database (30 days of rollups, raw deleted): $(stat -c %s "$db") bytes"
