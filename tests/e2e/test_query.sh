#!/usr/bin/env bash
# End to end: `carbonledger query` on the database of tests/mcp/make-db.sh
# (one node, 100 W for the whole of 2026-03-10 KST; pods 30 + 10 W of
# Deployment nginx-light, 20 W of StatefulSet db, 5 W and 2 W), checked
# against hand-computed values, bad input, and the nightly report of the
# same day.
. "$(dirname "$0")/lib.sh"

DB="$WORK/q.db"
bash "$CL_SRC/tests/mcp/make-db.sh" "$COLLECTOR" \
        "$CL_SRC/fixtures/nodes/two-socket" "$DB"
PROFILE=380,375,370,365,370,380,390,410,430,445,455,460,465,470,475,470,465,460,450,440,425,410,400,390

# jq-like checks with Debian's python: field PATH equals VALUE.
check_json() {
        "$PY" - "$@" <<'PY' || fail "JSON check failed: $*"
import json, sys
doc = json.load(open(sys.argv[1]))
for spec in sys.argv[2:]:
    path, want = spec.split("=", 1)
    v = doc
    for part in path.split("."):
        v = v[int(part)] if isinstance(v, list) else v[part]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        ok = abs(v - float(want)) < 1e-6 * (1 + abs(float(want)))
    else:
        ok = str(v) == want
    if not ok:
        sys.exit(f"{path}: got {v!r}, expected {want}")
PY
}

query() {
        "$CARBONLEDGER" query "$@" --db "$DB"
}

expect_status 0 query get_cluster_carbon_summary --date 2026-03-10 --json
cp "$WORK/last.out" "$WORK/summary.json"
check_json "$WORK/summary.json" cluster.energy_j=8640000 \
        cluster.idle_energy_j=1728000 cluster.system_energy_j=1123200 \
        cluster.measured_share=1 namespaces.web.energy_j=3456000 \
        top_consumers.0.workload=nginx-light period.start=2026-03-09T15:00:00Z
pass "cluster summary: totals, idle, system, namespaces"

expect_status 0 query get_cluster_carbon_summary --date 2026-03-10
expect_grep "analysis: get_cluster_carbon_summary" "$WORK/last.out"
expect_grep "  energy_j: 8640000.0" "$WORK/last.out"
pass "plain text by default"

printf '{"budgets_g_per_hour": {"namespaces": {"web": 10}}}\n' >"$WORK/policy.json"
expect_status 0 query assess_workload_compliance --date 2026-03-10 \
        --workload nginx-light --policy "$WORK/policy.json" --json
check_json "$WORK/last.out" status=NON_COMPLIANT workload.kind=Deployment \
        figures.energy_j=3456000 figures.mean_power_w=40 \
        figures.peak_power_w=30 figures.energy_method=attributed
pass "assess: nginx-light over its namespace budget"

expect_status 0 query list_workloads_by_compliance --date 2026-03-10 \
        --sort-by power --json
check_json "$WORK/last.out" counts.NOT_ASSESSED=4 pods=5 \
        pod_counts.NOT_ASSESSED=5 \
        workloads_by_status.NOT_ASSESSED.0.workload=nginx-light \
        workloads_by_status.NOT_ASSESSED.1.workload=db
pass "list by compliance, sorted by power"

expect_status 0 query calculate_optimal_schedule --duration-hours 4 \
        --earliest-start 2026-03-10T00:00+09:00 --profile "$PROFILE" --json
check_json "$WORK/last.out" "best.start_kst=2026-03-10 01:00" \
        best.mean_intensity_g_per_kwh=370
expect_status 0 query calculate_optimal_schedule --duration-hours 8 \
        --earliest-start 2026-03-10T00:00+09:00 --profile "$PROFILE" --json
check_json "$WORK/last.out" "best.start_kst=2026-03-10 23:00" \
        best.mean_intensity_g_per_kwh=377.5
pass "schedule: 4 h at 01:00 (370.0), 8 h at 23:00 (377.5)"

expect_status 0 query compare_optimization_impact --date 2026-03-10 \
        --workload nginx-light --rightsizing-percent 10 --pue 1.275 --json
check_json "$WORK/last.out" combined.reduction_percent=23.5 \
        effects.0.reduction_percent=10 effects.1.reduction_percent=15
expect_status 0 query get_regional_comparison --date 2026-03-10 --json
check_json "$WORK/last.out" regions.0.region=SE current_region.region=KR
expect_status 0 query get_power_hotspots --date 2026-03-10 --top-n 2 --json
check_json "$WORK/last.out" hotspots.0.workload=nginx-light \
        hotspots.0.share_of_node_energy=0.4 listed=2
expect_status 0 query analyze_workload_power_trend --date 2026-03-10 \
        --days 3 --json
check_json "$WORK/last.out" days.2.energy_j=8640000 trend.days_with_data=1
expect_grep '"gap":"no samples on this day"' "$WORK/last.out"
pass "compare, regions, hotspots and trend"

# Bad input: clear messages, exit 2 for arguments and 1 for data.
expect_status 2 query get_power_hotspots --date 2026-03-10 --threshold-w abc
expect_grep "\-\-threshold-w must be a number" "$WORK/last.err"
expect_status 1 query assess_workload_compliance --date 2026-03-10 --workload nope
expect_grep "workload 'nope' not found" "$WORK/last.err"
expect_status 1 query list_workloads_by_compliance --date 2026-03-10 --namespace shop
expect_grep "namespace 'shop'" "$WORK/last.err"
expect_status 1 query get_cluster_carbon_summary --date 2026-02-01
expect_grep "no samples" "$WORK/last.err"
for d in 0 -2; do
        expect_status 2 query calculate_optimal_schedule --duration-hours "$d" \
                --profile "$PROFILE"
        expect_grep "at least 1" "$WORK/last.err"
done
expect_status 2 query calculate_optimal_schedule --duration-hours 25 --profile "$PROFILE"
expect_grep "longer than the 24-hour profile" "$WORK/last.err"
expect_status 2 query calculate_optimal_schedule --duration-hours 2 \
        --profile "$PROFILE" --earliest-start 2026-03-10T05:00+09:00 \
        --deadline 2026-03-10T01:00+09:00
expect_grep "deadline" "$WORK/last.err"
expect_status 2 query calculate_optimal_schedule --duration-hours 2 --zone XX
expect_grep "unknown zone 'XX'" "$WORK/last.err"
expect_status 2 query no_such_analysis
expect_status 2 "$CARBONLEDGER" query get_power_hotspots --date 2026-03-10
expect_grep "\-\-db is required" "$WORK/last.err"
expect_status 2 query get_power_hotspots --colour blue
pass "bad input rejected with a message"

# Option values: the message names the option and the text as given, and
# every invalid value exits 2.
expect_status 2 query get_power_hotspots --date 2026-03-10 \
        --top-n 99999999999999999999
expect_grep "\-\-top-n is out of range" "$WORK/last.err"
expect_grep "got 99999999999999999999" "$WORK/last.err"
expect_status 2 query get_power_hotspots --top-n 0 --date 2026-03-10
expect_grep "\-\-top-n must be 1 to 1000" "$WORK/last.err"
expect_status 2 "$CARBONLEDGER" query get_power_hotspots --date --db "$DB"
expect_grep "\-\-date needs a value" "$WORK/last.err"
expect_status 2 query compare_optimization_impact --date 2026-03-10 --pue 2
expect_grep "\-\-pue 2 is above the period's PUE 1.500" "$WORK/last.err"
expect_status 2 query compare_optimization_impact --date 2026-03-10 \
        --region ZZ
expect_grep "\-\-region: unknown region 'ZZ'" "$WORK/last.err"
expect_status 2 query get_regional_comparison --date 2026-03-10 \
        --current-region ZZ
expect_grep "\-\-current-region: unknown region 'ZZ'" "$WORK/last.err"
expect_status 2 query calculate_optimal_schedule --duration-hours 2 \
        --intensity-source bogus
expect_grep "\-\-intensity-source: invalid value" "$WORK/last.err"
expect_status 2 query calculate_optimal_schedule --duration-hours 4 \
        --profile "1e308${PROFILE#380}"
expect_grep "\-\-profile value 1 (KST hour 0)" "$WORK/last.err"
expect_grep "at most 2000 gCO2eq/kWh" "$WORK/last.err"
pass "option values: option names, given text, exit 2"

# The query and the nightly report read the same model.
expect_status 0 "$CARBONLEDGER" keygen --out "$WORK/keys"
expect_status 0 "$CARBONLEDGER" run --db "$DB" --date 2026-03-10 --out "$WORK/out" \
        --sign-key "$WORK/keys/key.pem" --sign-cert "$WORK/keys/cert.pem"
"$PY" - "$WORK/out/carbonledger-2026-03-10.json" "$WORK/summary.json" <<'PY' || fail "query and report disagree"
import json, sys
report, summary = (json.load(open(p)) for p in sys.argv[1:3])
assert abs(report["totals"]["energy_j"] - summary["cluster"]["energy_j"]) < 1e-6
assert abs(report["totals"]["emissions_g"] - summary["cluster"]["emissions_g"]) < 1e-6
PY
pass "query totals equal the nightly report's"

# The nightly report carries the analyses: JSON part, PDF section, sheet.
"$PY" - "$WORK/out/carbonledger-2026-03-10.json" "$WORK/out/carbonledger-2026-03-10.xlsx" <<'PY' || fail "analyses section"
import json, sys, openpyxl
sections = {s["analysis"]: s for s in json.load(open(sys.argv[1]))["analyses"]}
assert len(sections) == 8, sorted(sections)
assert sections["get_power_hotspots"]["rows"][0]["value"] == 40, sections["get_power_hotspots"]["rows"][0]
assert not sections["calculate_optimal_schedule"]["ok"]
assert "no hourly intensity" in sections["calculate_optimal_schedule"]["message"]
rows = list(openpyxl.load_workbook(sys.argv[2])["Analyses"].iter_rows(values_only=True))
assert rows[0][:4] == ("analysis", "arguments", "item", "value"), rows[0]
assert ("get_cluster_carbon_summary", "cluster energy", 2.4) in [(r[0], r[2], r[3]) for r in rows]
PY
pdftotext -layout "$WORK/out/carbonledger-2026-03-10.pdf" "$WORK/report.txt" 2>/dev/null
expect_grep "분석 *Analyses" "$WORK/report.txt"
expect_grep "web/nginx-light (Deployment)" "$WORK/report.txt"
expect_grep "4 workloads containing 5 pods" "$WORK/report.txt"
expect_grep "NOT_ASSESSED (grouped workloads, 5 pods)" "$WORK/report.txt"
expect_grep "emissions (IT energy x official factor): .* (declared)" \
        "$WORK/report.txt"
pass "the nightly report has the analyses in JSON, PDF and XLSX"
