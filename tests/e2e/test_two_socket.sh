#!/usr/bin/env bash
# End to end on a two-socket fixture: three intervals of 10 s sampled
# with --once while the test advances the counters, then the nightly run,
# checked against hand-computed values and with pdfsig, openssl,
# pdftotext and openpyxl.
#
# Intervals (node energy = package-0 + dram + package-1 + dram; core is
# inside package-0 and not counted; 8000 ticks = 80 CPU-s each):
#   1: 600 + 100 + 300 (across the package-1 wrap) + 200 = 1200 J,
#      idle 50 s: idle 750 J; pods A 12 s, B 6 s, C 2 s:
#      A 180 J, B 90 J, C 30 J, system 150 J.
#   2: 400 + 100 + 400 + 100 = 1000 J, idle 60 s: idle 750 J; pods
#      A 15 s, B 8 s, C 2 s = 25 s > 20 s busy, so scaled to 250 J:
#      A 150 J, B 80 J, C 20 J, system 0 J.
#   3: 500 + 50 + 400 + 50 = 1000 J, idle 40 s: idle 500 J; pods A 10 s,
#      B 4 s, D 3 s (new, no name), C gone: A 125 J, B 50 J, D 37.5 J,
#      system 287.5 J.
# Totals: 3200 J; A 455 J, B 220 J, C 50 J, D 37.5 J; idle 2000 J,
# system 437.5 J. Emissions at the 2026 official factor 433 g/kWh.
. "$(dirname "$0")/lib.sh"

NODE="$WORK/node"
cp -a "$CL_SRC/fixtures/nodes/two-socket" "$NODE"
DB="$WORK/ledger.db"
P="$NODE/sys/class/powercap"
CG="$NODE/sys/fs/cgroup/kubepods.slice"
POD_A="$CG/kubepods-burstable.slice/kubepods-burstable-pod2c9f8a79_5391_454b_88cb_86190881cb96.slice"
POD_B="$CG/kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a.slice"
POD_C="$CG/kubepods-besteffort.slice/kubepods-besteffort-pod0043435f_1854_4327_b76b_730f681a781d.slice"
POD_D="$CG/kubepods-besteffort.slice/kubepods-besteffort-pod11111111_2222_4333_8444_555555555555.slice"

collect() {
        expect_status 0 "$COLLECTOR" --db "$DB" --once --timestamp "$1" \
                --sysfs "$NODE/sys" --procfs "$NODE/proc" \
                --cgroupfs "$NODE/sys/fs/cgroup" \
                --pod-logs "$NODE/var/log/pods" --node-name node-a
}

set_zone() { echo "$2" >"$P/$1/energy_uj"; }
set_pod() { mkdir -p "$1"; printf 'usage_usec %s\nuser_usec 0\nsystem_usec 0\n' "$2" >"$1/cpu.stat"; }
set_stat() {
        printf 'cpu  %s %s %s %s %s 0 0 0 %s 0\nintr 1 0\n' "$1" 0 "$2" "$3" "$4" "$5" \
                >"$NODE/proc/stat"
}

# Baseline at 09:00 KST.
collect 2026-03-10T00:00:00Z
expect_grep "method=measured" "$WORK/last.err"

# Interval 1.
set_zone intel-rapl:0 241022366267
set_zone intel-rapl:0:0 119121284256
set_zone intel-rapl:0:1 1100000000
set_zone intel-rapl-mmio:0 241022366267
set_zone intel-rapl:1 256671150
set_zone intel-rapl:1:0 2200000000
set_stat 12000 6000 84500 1500 600
set_pod "$POD_A" 13000000
set_pod "$POD_B" 8000000
set_pod "$POD_C" 2500000
collect 2026-03-10T00:00:10Z

# Interval 2: the pods' CPU time exceeds the busy time.
set_zone intel-rapl:0 241422366267
set_zone intel-rapl:0:1 1200000000
set_zone intel-rapl:1 656671150
set_zone intel-rapl:1:0 2300000000
set_stat 13500 6500 90300 1700 700
set_pod "$POD_A" 28000000
set_pod "$POD_B" 16000000
set_pod "$POD_C" 4500000
collect 2026-03-10T00:00:20Z
expect_grep "pods_scaled" "$WORK/last.err"

# Interval 3: pod C ends, pod D starts without a log folder.
set_zone intel-rapl:0 241922366267
set_zone intel-rapl:0:1 1250000000
set_zone intel-rapl:1 1056671150
set_zone intel-rapl:1:0 2350000000
set_stat 16500 7500 94300 1700 800
set_pod "$POD_A" 38000000
set_pod "$POD_B" 20000000
rm -rf "$POD_C"
set_pod "$POD_D" 3000000
collect 2026-03-10T00:00:30Z
pass "four readings stored"

# The database keeps the raw counters beside the deltas.
n=$(sqlite3 "$DB" "SELECT count(*) FROM zone_sample WHERE delta_uj IS NOT NULL")
[ "$n" = 15 ] || fail "expected 15 zone deltas (5 zones x 3), got $n"
raw=$(sqlite3 "$DB" "SELECT z.energy_uj || ' ' || z.delta_uj FROM zone_sample z JOIN zone USING (zone_id) JOIN sample s USING (sample_id) WHERE zone.path = 'intel-rapl:1' AND s.end_ns = 1773100810000000000")
[ "$raw" = "256671150 300000000" ] || fail "package-1 wrap: got '$raw'"
pass "wrap-corrected delta stored beside the raw counter"

# Facility meter: PUE = (200 + 360) / (100 + 300) = 1.40.
cat >"$WORK/meter.csv" <<'CSV'
interval_start,interval_end,facility_kwh,it_kwh
2026-03-10T00:00:00+09:00,2026-03-10T12:00:00+09:00,200,100
2026-03-10T12:00:00+09:00,2026-03-11T00:00:00+09:00,360,300
CSV
expect_status 0 "$CARBONLEDGER" import meter --db "$DB" "$WORK/meter.csv"

expect_status 0 "$CARBONLEDGER" keygen --out "$WORK/keys"
[ "$(stat -c %a "$WORK/keys/key.pem")" = 600 ] || fail "key.pem is not mode 0600"

OUT="$WORK/out"
expect_status 0 "$CARBONLEDGER" run --db "$DB" --date 2026-03-10 --out "$OUT" \
        --sign-key "$WORK/keys/key.pem" --sign-cert "$WORK/keys/cert.pem"
for f in pdf xlsx xlsx.p7s json; do
        [ -s "$OUT/carbonledger-2026-03-10.$f" ] || fail "missing .$f"
done
[ -z "$(ls -A "$OUT" | grep '^\.' || true)" ] || fail "temporary files left in $OUT"
pass "reports written"

"$PY" "$(dirname "$0")/check_two_socket.py" "$OUT/carbonledger-2026-03-10.json" \
        "$OUT/carbonledger-2026-03-10.xlsx" || fail "report values"

pdfsig "$OUT/carbonledger-2026-03-10.pdf" >"$WORK/pdfsig.out" 2>&1 || true
expect_grep "Signature is Valid." "$WORK/pdfsig.out"
expect_grep "Total document signed" "$WORK/pdfsig.out"
openssl cms -verify -binary -inform DER -in "$OUT/carbonledger-2026-03-10.xlsx.p7s" \
        -content "$OUT/carbonledger-2026-03-10.xlsx" -CAfile "$WORK/keys/cert.pem" \
        -purpose any -out /dev/null 2>"$WORK/cms.err" || { cat "$WORK/cms.err"; fail "openssl cms -verify"; }
expect_status 0 "$CARBONLEDGER" verify "$OUT/carbonledger-2026-03-10.pdf"
expect_grep "UNTRUSTED" "$WORK/last.out"
expect_status 0 "$CARBONLEDGER" verify "$OUT/carbonledger-2026-03-10.pdf" --ca "$WORK/keys/cert.pem"
expect_grep "TRUSTED" "$WORK/last.out"
expect_status 0 "$CARBONLEDGER" verify "$OUT/carbonledger-2026-03-10.xlsx"
pass "signatures verify with pdfsig, openssl and carbonledger verify"

pdftotext -layout "$OUT/carbonledger-2026-03-10.pdf" "$WORK/report.txt" 2>/dev/null
expect_grep "탄소" "$WORK/report.txt"
expect_grep "web-7d4b9c8f6d-x2x9k" "$WORK/report.txt"
expect_grep "11111111-2222-4333-8444-555555" "$WORK/report.txt"
pdffonts "$OUT/carbonledger-2026-03-10.pdf" >"$WORK/fonts.txt"
expect_grep "NanumGothic" "$WORK/fonts.txt"
pass "PDF text holds Korean and the pods"

# Tampering: one changed byte makes both verifiers reject.
cp "$OUT/carbonledger-2026-03-10.pdf" "$WORK/tampered.pdf"
printf 'X' | dd of="$WORK/tampered.pdf" bs=1 seek=200 conv=notrunc status=none
expect_status 1 "$CARBONLEDGER" verify "$WORK/tampered.pdf"
cp "$OUT/carbonledger-2026-03-10.xlsx" "$WORK/tampered.xlsx"
cp "$OUT/carbonledger-2026-03-10.xlsx.p7s" "$WORK/tampered.xlsx.p7s"
printf 'X' | dd of="$WORK/tampered.xlsx" bs=1 seek=100 conv=notrunc status=none
expect_status 1 "$CARBONLEDGER" verify "$WORK/tampered.xlsx"
pass "tampered files are rejected"

echo "test_two_socket: all checks passed"
