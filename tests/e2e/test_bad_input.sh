#!/usr/bin/env bash
# Bad input gets a clear error naming the input and the reason, the right
# exit status, and nothing already stored is lost or half-written.
. "$(dirname "$0")/lib.sh"

NODE="$WORK/node"
cp -a "$CL_SRC/fixtures/nodes/two-socket" "$NODE"
DB="$WORK/c.db"
collect() {
        "$COLLECTOR" --db "$DB" --once --sysfs "$NODE/sys" --procfs "$NODE/proc" \
                --cgroupfs "$NODE/sys/fs/cgroup" --pod-logs "$NODE/var/log/pods" \
                --node-name n1 "$@"
}
rows() { sqlite3 "$DB" "SELECT count(*) FROM sample"; }

expect_status 0 "$CARBONLEDGER" keygen --out "$WORK/keys"
KEY="$WORK/keys/key.pem"
CERT="$WORK/keys/cert.pem"
expect_status 1 "$CARBONLEDGER" keygen --out "$WORK/keys"
expect_grep "key.pem" "$WORK/last.err"
pass "keygen will not overwrite a key"

# Usage errors exit 2.
expect_status 2 "$CARBONLEDGER" run --out "$WORK/o" --sign-key "$KEY" --sign-cert "$CERT"
expect_grep "db is required" "$WORK/last.err"
expect_status 2 "$CARBONLEDGER" run --db "$DB" --date 2026-02-30 --out "$WORK/o" \
        --sign-key "$KEY" --sign-cert "$CERT"
expect_grep "2026-02-30" "$WORK/last.err"
expect_status 2 "$CARBONLEDGER" frobnicate
expect_status 2 "$CARBONLEDGER" verify
expect_status 2 "$CARBONLEDGER" verify "$WORK/missing.pdf"
expect_grep "missing.pdf" "$WORK/last.err"
expect_status 2 "$COLLECTOR" --interval -1 --db "$DB"
expect_status 2 "$COLLECTOR" --db "$DB" --idle-watts 300 --max-watts 100
pass "usage errors exit 2 with the option named"

# A missing database is an error for the nightly run, naming the path.
expect_status 1 "$CARBONLEDGER" run --db "$WORK/none.db" --date 2026-03-10 \
        --out "$WORK/o" --sign-key "$KEY" --sign-cert "$CERT"
expect_grep "none.db" "$WORK/last.err"
echo "not a database" >"$WORK/text.db"
expect_status 1 "$CARBONLEDGER" run --db "$WORK/text.db" --date 2026-03-10 \
        --out "$WORK/o" --sign-key "$KEY" --sign-cert "$CERT"
expect_grep "text.db" "$WORK/last.err"
expect_status 1 "$COLLECTOR" --db "$WORK/no/such/dir/c.db" --once
expect_grep "no/such/dir" "$WORK/last.err"
pass "missing or invalid databases are named"

# Malformed /proc/stat: the sample fails, stored samples stay.
expect_status 0 collect --timestamp 2026-03-10T01:00:00Z
cp "$NODE/proc/stat" "$WORK/stat.good"
echo "cpu  1 2 three 4 5 6 7 8" >"$NODE/proc/stat"
expect_status 1 collect --timestamp 2026-03-10T01:00:05Z
expect_grep "proc/stat" "$WORK/last.err"
[ "$(rows)" = 1 ] || fail "a failed sample changed the database"
cp "$WORK/stat.good" "$NODE/proc/stat"
pass "malformed /proc/stat is named and stores nothing"

# Malformed cpu.stat of one pod: that pod is skipped, the sample stored.
POD_B="$NODE/sys/fs/cgroup/kubepods.slice/kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a.slice"
echo "usage_usec lots" >"$POD_B/cpu.stat"
expect_status 0 collect --timestamp 2026-03-10T01:00:10Z
expect_grep "cpu.stat" "$WORK/last.err"
[ "$(rows)" = 2 ] || fail "sample with one bad pod was not stored"
pass "malformed cpu.stat skips only that pod"

# An empty powercap folder: estimated, and the log states it.
EMPTY="$WORK/empty-sys"
mkdir -p "$EMPTY/class/powercap"
expect_status 0 "$COLLECTOR" --db "$WORK/e.db" --once --sysfs "$EMPTY" \
        --procfs "$NODE/proc" --cgroupfs "$NODE/sys/fs/cgroup" --node-name e
expect_grep "method=estimated" "$WORK/last.err"
pass "no RAPL falls back to the power model and says so"

# A newer schema is rejected by both programs and left untouched.
cp "$DB" "$WORK/newer.db"
sqlite3 "$WORK/newer.db" "PRAGMA user_version = 99"
sum_before=$(sha256sum "$WORK/newer.db")
expect_status 1 "$COLLECTOR" --db "$WORK/newer.db" --once --sysfs "$NODE/sys" \
        --procfs "$NODE/proc" --cgroupfs "$NODE/sys/fs/cgroup"
expect_grep "newer than this program" "$WORK/last.err"
expect_status 1 "$CARBONLEDGER" run --db "$WORK/newer.db" --date 2026-03-10 \
        --out "$WORK/o" --sign-key "$KEY" --sign-cert "$CERT"
expect_grep "newer than this program" "$WORK/last.err"
[ "$sum_before" = "$(sha256sum "$WORK/newer.db")" ] || fail "newer database was changed"
pass "a newer schema is an error, not a downgrade"

# Signing key problems fail before any report is written.
OUT="$WORK/out"
expect_status 1 "$CARBONLEDGER" run --db "$DB" --date 2026-03-10 --out "$OUT" \
        --sign-key "$WORK/absent.pem" --sign-cert "$CERT"
expect_grep "absent.pem" "$WORK/last.err"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/other.pem" 2>/dev/null
expect_status 1 "$CARBONLEDGER" run --db "$DB" --date 2026-03-10 --out "$OUT" \
        --sign-key "$WORK/other.pem" --sign-cert "$CERT"
expect_grep "does not match" "$WORK/last.err"
echo "garbage" >"$WORK/garbage.pem"
expect_status 1 "$CARBONLEDGER" run --db "$DB" --date 2026-03-10 --out "$OUT" \
        --sign-key "$WORK/garbage.pem" --sign-cert "$CERT"
expect_grep "garbage.pem" "$WORK/last.err"
[ ! -e "$OUT" ] || [ -z "$(ls -A "$OUT")" ] || fail "files left after a key error"
pass "missing, mismatched and unreadable keys are named"

# An invalid policy file is named with its key.
echo '{"pue": {"target": "high"}}' >"$WORK/policy.json"
expect_status 1 "$CARBONLEDGER" run --db "$DB" --date 2026-03-10 --out "$OUT" \
        --sign-key "$KEY" --sign-cert "$CERT" --policy "$WORK/policy.json"
expect_grep "policy.json" "$WORK/last.err"
expect_grep "target" "$WORK/last.err"
pass "an invalid policy is named"

# A font without Hangul would print boxes: the run fails and names it.
if [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
        expect_status 1 "$CARBONLEDGER" run --db "$DB" --date 2026-03-10 --out "$OUT" \
                --sign-key "$KEY" --sign-cert "$CERT" \
                --font /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
        expect_grep "DejaVuSans.ttf has no glyph" "$WORK/last.err"
        pass "a font without Hangul is rejected"
fi

# A meter CSV with one bad row stores nothing.
cat >"$WORK/meter.csv" <<'CSV'
interval_start,interval_end,facility_kwh,it_kwh
2026-03-10T09:00:00+09:00,2026-03-10T10:00:00+09:00,200,100
2026-03-10T10:00:00+09:00,2026-03-10T11:00:00+09:00,three hundred,300
CSV
expect_status 1 "$CARBONLEDGER" import meter --db "$DB" "$WORK/meter.csv"
expect_grep "meter.csv:3" "$WORK/last.err"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM meter")" = 0 ] || fail "bad meter CSV stored rows"
pass "a bad meter row is named by line and stores nothing"

# A day without samples still gets a signed report stating it.
expect_status 0 "$CARBONLEDGER" run --db "$DB" --date 2026-03-01 --out "$OUT" \
        --sign-key "$KEY" --sign-cert "$CERT"
expect_grep "no samples" "$WORK/last.out"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["has_samples"] is False, d["has_samples"]; assert d["totals"]["energy_j"] == 0' \
        "$OUT/carbonledger-2026-03-01.json" || fail "empty day JSON"
pdfsig "$OUT/carbonledger-2026-03-01.pdf" >"$WORK/pdfsig.out" 2>&1 || true
expect_grep "Signature is Valid." "$WORK/pdfsig.out"
pdftotext "$OUT/carbonledger-2026-03-01.pdf" "$WORK/empty.txt" 2>/dev/null
grep -qi "no samples" "$WORK/empty.txt" || fail "empty-day PDF does not say it has no samples"
pass "an empty day is reported, signed, and says so"

# An unsigned or foreign PDF does not verify.
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n' >"$WORK/plain.pdf"
expect_status 1 "$CARBONLEDGER" verify "$WORK/plain.pdf"
pass "an unsigned PDF is reported invalid"

# A failed re-run keeps the reports of the earlier run.
sum_json=$(sha256sum <"$OUT/carbonledger-2026-03-01.json")
rm "$OUT/carbonledger-2026-03-01.pdf"
mkdir "$OUT/carbonledger-2026-03-01.pdf"
expect_status 1 "$CARBONLEDGER" run --db "$DB" --date 2026-03-01 --out "$OUT" \
        --sign-key "$KEY" --sign-cert "$CERT"
expect_grep "carbonledger-2026-03-01.pdf" "$WORK/last.err"
[ "$(sha256sum <"$OUT/carbonledger-2026-03-01.json")" = "$sum_json" ] ||
        fail "the earlier JSON report was not kept"
[ -s "$OUT/carbonledger-2026-03-01.xlsx" ] || fail "the earlier XLSX was lost"
[ -z "$(ls -A "$OUT" | grep '^\.' || true)" ] || fail "temporary files left"
rmdir "$OUT/carbonledger-2026-03-01.pdf"
pass "a failed re-run restores the earlier reports"

# A sample time at or before the last stored reading stores nothing.
before=$(rows)
expect_status 1 collect --timestamp 2026-03-10T00:59:00Z
expect_grep "not after the last stored reading" "$WORK/last.err"
[ "$(rows)" = "$before" ] || fail "a backwards sample was stored"
expect_status 2 collect --timestamp 2400-01-01T00:00:00Z
expect_grep "2400" "$WORK/last.err"
pass "backwards and out-of-range sample times are rejected"

# An expired certificate and a weak key fail before any report.
# OpenSSL 3.0's req cannot backdate, so a throwaway CA signs with dates.
mkdir -p "$WORK/ca/newcerts"
: >"$WORK/ca/index.txt"
echo 01 >"$WORK/ca/serial"
cat >"$WORK/ca/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $WORK/ca
database = $WORK/ca/index.txt
new_certs_dir = $WORK/ca/newcerts
serial = $WORK/ca/serial
default_md = sha256
policy = any
[ any ]
commonName = supplied
CNF
openssl req -new -newkey rsa:2048 -nodes -keyout "$WORK/old.key" -out "$WORK/old.csr" \
        -subj "/CN=expired" 2>/dev/null
openssl ca -batch -config "$WORK/ca/ca.cnf" -selfsign -keyfile "$WORK/old.key" \
        -in "$WORK/old.csr" -out "$WORK/old.pem" -startdate 20200101000000Z \
        -enddate 20200201000000Z >/dev/null 2>&1 || fail "openssl ca failed"
if openssl x509 -in "$WORK/old.pem" -noout -checkend 0 >/dev/null 2>&1; then
        fail "could not make an expired test certificate"
fi
expect_status 1 "$CARBONLEDGER" run --db "$DB" --date 2026-03-02 --out "$OUT" \
        --sign-key "$WORK/old.key" --sign-cert "$WORK/old.pem"
expect_grep "expired" "$WORK/last.err"
openssl req -x509 -newkey rsa:1024 -nodes -keyout "$WORK/weak.key" -out "$WORK/weak.pem" \
        -subj "/CN=weak" -days 30 2>/dev/null
expect_status 1 "$CARBONLEDGER" run --db "$DB" --date 2026-03-02 --out "$OUT" \
        --sign-key "$WORK/weak.key" --sign-cert "$WORK/weak.pem"
expect_grep "too weak" "$WORK/last.err"
[ ! -e "$OUT/carbonledger-2026-03-02.pdf" ] || fail "report written with a bad certificate"
pass "expired certificates and weak keys are rejected"

# SIGTERM ends the loop after a closing sample, with exit status 0.
before=$(rows)
"$COLLECTOR" --db "$DB" --interval 0.2 --sysfs "$NODE/sys" --procfs "$NODE/proc" \
        --cgroupfs "$NODE/sys/fs/cgroup" --node-name n1 2>"$WORK/loop.err" &
pid=$!
sleep 1
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 0 ] || { cat "$WORK/loop.err"; fail "collector exited $status on SIGTERM"; }
expect_grep "collector_stopped" "$WORK/loop.err"
[ "$(rows)" -gt "$before" ] || fail "no samples stored by the loop"
pass "SIGTERM finishes the interval and exits 0"

# A second collector on the same database is refused.
"$COLLECTOR" --db "$DB" --interval 0.2 --sysfs "$NODE/sys" --procfs "$NODE/proc" \
        --cgroupfs "$NODE/sys/fs/cgroup" --node-name n1 2>/dev/null &
pid=$!
sleep 0.5
expect_status 1 "$COLLECTOR" --db "$DB" --once --sysfs "$NODE/sys" --procfs "$NODE/proc" \
        --cgroupfs "$NODE/sys/fs/cgroup" --node-name n1
expect_grep "in use by another carbonledger-collector" "$WORK/last.err"
kill -TERM "$pid"
wait "$pid" || true
pass "one collector per database"

echo "test_bad_input: all checks passed"
