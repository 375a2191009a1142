"""Checks the two-socket report's JSON against hand-computed values and
the XLSX numbers against the JSON. Arguments: REPORT.json REPORT.xlsx."""
import json
import math
import sys

import openpyxl

FACTOR = 433.0  # gCO2eq/kWh: GIR 2025 approval, in force for 2026
UJ_PER_KWH = 3.6e12
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def close(a, b, what, rel=1e-9):
    check(a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-9),
          f"{what}: got {a}, expected {b}")


doc = json.load(open(sys.argv[1]))
check(doc["period"]["start"] == "2026-03-09T15:00:00Z", "period start")
check(doc["period"]["end"] == "2026-03-10T15:00:00Z", "period end")
check(doc["period"]["timezone"] == "Asia/Seoul", "timezone")
check(doc["has_samples"] is True, "has_samples")

t = doc["totals"]
close(t["energy_j"], 3200.0, "total energy J")
close(t["energy_kwh"], 3200.0 / 3.6e6, "total energy kWh")
close(t["emissions_g"], 3200.0 / 3.6e6 * FACTOR, "emissions g")
close(t["facility_emissions_g"], 3200.0 / 3.6e6 * FACTOR * 1.4,
      "facility emissions g")
close(t["measured_share"], 1.0, "measured share")

check(doc["pue"]["method"] == "measured", "PUE method")
close(doc["pue"]["value"], 1.4, "PUE = 560 / 400")
check(doc["intensity"]["source"] == "gir", "intensity source")
close(doc["intensity"]["g_per_kwh"], FACTOR, "intensity")

check(len(doc["nodes"]) == 1, "one node")
n = doc["nodes"][0]
check(n["name"] == "node-a", "node name")
close(n["energy_j"], 3200.0, "node energy")
close(n["idle_energy_j"], 2000.0, "node idle energy")
close(n["system_energy_j"], 437.5, "node system energy")
close(n["pods_energy_j"], 762.5, "node pods energy")
check(n["method"] == "measured", "node method")
check(n["scaled_intervals"] == 1, "one scaled interval")
close(n["coverage"], 30.0 / 86400.0, "node coverage")
close(n["peak_power_w"], 120.0, "peak power 1200 J / 10 s")
node_checks = {c["check"]: c for c in n["checks"]}
check(node_checks["coverage"]["result"] == "INSUFFICIENT_DATA",
      "30 s of a day is insufficient")

pods = {w["pod_uid"]: w for w in doc["workloads"]}
expected = {
    "2c9f8a79-5391-454b-88cb-86190881cb96": ("shop", "web-7d4b9c8f6d-x2x9k",
                                             455.0, 37.0, 30.0),
    "7922aa99-d4aa-4885-a953-82976860b23a": ("payments", "db-0", 220.0,
                                             18.0, 30.0),
    "0043435f-1854-4327-b76b-730f681a781d": ("batch", "report-28931-abcde",
                                             50.0, 4.0, 20.0),
    "11111111-2222-4333-8444-555555555555": (
        "", "11111111-2222-4333-8444-555555555555", 37.5, 3.0, 10.0),
}
check(len(pods) == 4, f"four pods, got {len(pods)}")
for uid, (ns, name, joules, cpu_s, run_s) in expected.items():
    w = pods.get(uid)
    if w is None:
        failures.append(f"pod {uid} missing")
        continue
    check(w["namespace"] == ns, f"{uid} namespace {w['namespace']}")
    check(w["pod"] == name, f"{uid} name {w['pod']}")
    close(w["energy_j"], joules, f"{uid} energy")
    close(w["cpu_s"], cpu_s, f"{uid} CPU s")
    close(w["run_s"], run_s, f"{uid} run s")
    close(w["emissions_g"], joules / 3.6e6 * FACTOR, f"{uid} emissions")
    check(w["method"] == "attributed", f"{uid} method")
    check(w["status"] == "INSUFFICIENT_DATA", f"{uid} status")
    for c in w["checks"]:
        for key in ("check", "target", "value", "unit", "result", "reason"):
            check(key in c, f"{uid} check lacks {key}")
total_pods = sum(w["energy_j"] for w in doc["workloads"])
close(n["idle_energy_j"] + n["system_energy_j"] + total_pods, n["energy_j"],
      "pods + idle + system = node")

hours = doc["hours"]
check(len(hours) == 24, "24 hours")
check(hours[9]["start_kst"] == "2026-03-10 09:00", "hour 9 is 09:00 KST")
close(hours[9]["energy_j"], 3200.0, "all energy in 09:00 KST")

# The XLSX: numbers are typed and equal the JSON's.
wb = openpyxl.load_workbook(sys.argv[2])
for sheet in ("Summary", "Workloads", "Nodes", "Hours", "Method"):
    check(sheet in wb.sheetnames, f"sheet {sheet} in {wb.sheetnames}")


def header_index(ws, prefix):
    for row in ws.iter_rows(min_row=1, max_row=5):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(prefix):
                return cell.row, cell.column
    return None, None


if "Workloads" in wb.sheetnames:
    ws = wb["Workloads"]
    hrow, uid_col = header_index(ws, "Pod UID")
    _, ej_col = header_index(ws, "Energy (J)")
    _, em_col = header_index(ws, "Emissions (gCO2eq)")
    check(uid_col and ej_col and em_col,
          "Workloads headers 'Pod UID', 'Energy (J)', 'Emissions (gCO2eq)'")
    if uid_col and ej_col and em_col:
        seen = 0
        for r in range(hrow + 1, ws.max_row + 1):
            uid = ws.cell(r, uid_col).value
            if uid not in pods:
                continue
            seen += 1
            ej = ws.cell(r, ej_col)
            em = ws.cell(r, em_col)
            check(ej.data_type == "n", f"{uid} energy cell is numeric")
            close(ej.value, pods[uid]["energy_j"], f"xlsx {uid} energy")
            close(em.value, pods[uid]["emissions_g"], f"xlsx {uid} emissions")
        check(seen == 4, f"four pods in Workloads, saw {seen}")

if failures:
    for f in failures:
        print("FAIL:", f)
    sys.exit(1)
print("check_two_socket: JSON and XLSX match the hand-computed values")
