#!/usr/bin/env bash
# Hourly intensity end to end against a local HTTP server on 127.0.0.1
# (intensity_server.py) that serves the recorded-format bodies of
# fixtures/api. Every bad-input case ends with the stored state checked
# with sqlite3 and a log line, and no key appears in any output or row.
# The day is 2025-10-23 KST, whose hours start at 2025-10-22T15:00Z.
#
# Hand-computed KPX values (lifecycle factors, g/kWh):
#   02:00 KST: 6 samples of coal 20000 + nuclear 20000 + gas 10000 MW and
#     6 of coal 10000 + nuclear 20000 + gas 20000 (pumped storage -1000
#     and +500 excluded): mean coal 15000, nuclear 20000, gas 15000 MWh;
#     (15000 x 820 + 20000 x 12 + 15000 x 490) / 50000 = 397.8.
#   03:00 KST: the documented sample alone: 24416411.5 / 58960.3 = 414.1.
#   04:00 KST: all fuels 0 (missing); 05:00 KST: all fuels null (missing).
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

KEY='e2e+Key/Secret=1'
export CARBONLEDGER_KPX_KEY="$KEY"
export CARBONLEDGER_ELECTRICITYMAPS_TOKEN='em-token-e2e-secret'
export CARBONLEDGER_WATTTIME_USER='wt-user'
export CARBONLEDGER_WATTTIME_PASSWORD='wt-pass-secret'
SECRETS=("$KEY" 'e2e%2BKey' 'em-token-e2e-secret' 'wt-pass-secret' \
        'wt-test-token-0123456789')

H02=1761152400000000000 # 2025-10-22T17:00Z = 02:00 KST on 2025-10-23
H03=1761156000000000000
H04=1761159600000000000
H05=1761163200000000000
FAST=(--retry-delay-ms 10 --connect-timeout-ms 500 --timeout-ms 1000
        --max-attempts 3)

# kpx DB CASE [LEGACY_CASE]: fetches 2025-10-23 from case CASE into DB.
kpx() {
        local db=$1 case=$2 legacy=${3:-}
        "$CARBONLEDGER" intensity fetch --db "$db" --source kpx --zone KR \
                --from 2025-10-23 --to 2025-10-23 --kpx-url "$BASE/$case" \
                --kpx-legacy-url "${legacy:+$BASE/$legacy}" "${FAST[@]}"
}
q() { sqlite3 "$1" "$2"; }
requests() { grep -c "^$1 " "$WORK/requests.log" || true; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; }
# expect_no_grep PATTERN FILE: fails when FILE contains PATTERN.
expect_no_grep() {
        if grep -q -- "$1" "$2"; then
                cat "$2" >&2
                fail "'$1' found in $2"
        fi
}

# no_secrets FILE...: fails when any key, token or password appears.
no_secrets() {
        for s in "${SECRETS[@]}"; do
                if grep -qF -- "$s" "$@"; then
                        fail "secret '$s' found in $*"
                fi
        done
}
dump() { sqlite3 "$1" .dump >"$1.sql"; no_secrets "$1.sql"; }

# --- KPX: good responses in every shape ---------------------------------

DB="$WORK/array.db"
expect_status 0 kpx "$DB" kpx-array
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 24 "rows"
expect_eq "$(q "$DB" "SELECT printf('%.1f', g_per_kwh) || quality || basis || factor_set FROM intensity_hour WHERE hour_ns = $H02")" \
        "397.8measuredgenerationlifecycle" "02:00 KST from 12 samples"
expect_eq "$(q "$DB" "SELECT printf('%.1f', g_per_kwh) FROM intensity_hour WHERE hour_ns = $H03")" \
        "414.1" "03:00 KST from the documented sample"
expect_eq "$(q "$DB" "SELECT quality FROM intensity_hour WHERE hour_ns IN ($H04, $H05) AND g_per_kwh IS NULL")" \
        "$(printf 'missing\nmissing')" "0 and null hours are missing"
expect_eq "$(q "$DB" "SELECT length(response_sha256) FROM intensity_hour WHERE hour_ns = $H02")" 64 "hash"
expect_eq "$(q "$DB" "SELECT outcome || http_status || result_code FROM api_call")" "ok20000" "api_call"
expect_grep "event=api_call source=kpx" "$WORK/last.err"
expect_grep "serviceKey=REDACTED" "$WORK/last.err"
expect_grep "serviceKey=e2e%2BKey%2FSecret%3D1&" "$WORK/requests.log"
no_secrets "$WORK/last.out" "$WORK/last.err"
dump "$DB"
pass "kpx array, strings, negative pumped storage, 0 and null hours"

expect_status 0 kpx "$DB" kpx-array
expect_eq "$(requests kpx-array)" 1 "requests after the second fetch"
expect_grep "24 already stored" "$WORK/last.out"
expect_grep "event=intensity_cached" "$WORK/last.err"
pass "kpx stored hours are not fetched again"

DB="$WORK/object.db"
expect_status 0 kpx "$DB" kpx-object
expect_eq "$(q "$DB" "SELECT printf('%.1f', g_per_kwh) FROM intensity_hour WHERE g_per_kwh IS NOT NULL")" \
        "414.1" "item as one object"
pass "kpx item as one object"

DB="$WORK/xml.db"
expect_status 0 kpx "$DB" kpx-xml
expect_eq "$(q "$DB" "SELECT printf('%.1f', g_per_kwh) FROM intensity_hour WHERE hour_ns = $H03")" \
        "414.1" "XML body"
pass "kpx XML body"

DB="$WORK/empty.db"
expect_status 0 kpx "$DB" kpx-empty
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour WHERE quality = 'missing'")" 24 "empty items"
pass "kpx items as an empty string stores missing hours"

# --- KPX: result codes -------------------------------------------------

DB="$WORK/03.db"
expect_status 0 kpx "$DB" kpx-03
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour WHERE quality = 'missing' AND detail LIKE 'resultCode 03%'")" 24 "03 rows"
expect_eq "$(q "$DB" "SELECT outcome FROM api_call")" "no_data" "03 outcome"
expect_grep "event=kpx_no_data" "$WORK/last.err"
pass "kpx code 03 stores the day as missing"

for case in kpx-gw-200:200 kpx-gw-401:401 kpx-30:200; do
        name=${case%:*} status=${case#*:}
        DB="$WORK/$name.db"
        expect_status 1 kpx "$DB" "$name"
        expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 0 "$name rows"
        expect_eq "$(q "$DB" "SELECT outcome || '/' || http_status || '/' || result_code FROM api_call")" \
                "permanent/$status/30" "$name api_call"
        expect_grep "event=kpx_day_failed" "$WORK/last.err"
        expect_grep "resultCode 30" "$WORK/last.err"
        expect_no_grep "event=intensity_fetched" "$WORK/last.err"
        no_secrets "$WORK/last.out" "$WORK/last.err"
        dump "$DB"
done
expect_grep "SERVICE_KEY_IS_NOT_REGISTERED_ERROR" "$WORK/last.err"
pass "kpx key errors (XML on HTTP 200 and 401, JSON) are not retried"

DB="$WORK/22.db"
expect_status 1 kpx "$DB" kpx-22
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 0 "22 rows"
expect_eq "$(q "$DB" "SELECT outcome || result_code FROM api_call")" "quota22" "22 api_call"
until_ns=$(q "$DB" "SELECT blocked_until_ns FROM api_quota WHERE source = 'kpx'")
want_ns=$("$PY" -c 'import time
k = int(time.time()) + 9 * 3600
print(((k // 86400 + 1) * 86400 - 9 * 3600) * 10**9)')
expect_eq "$until_ns" "$want_ns" "blocked until the next midnight KST"
expect_grep "event=kpx_quota_exceeded" "$WORK/last.err"
expect_status 1 kpx "$DB" kpx-22
expect_eq "$(requests kpx-22)" 1 "requests while blocked"
expect_grep "no calls until" "$WORK/last.err"
pass "kpx code 22 blocks calls until midnight KST"

DB="$WORK/23.db"
expect_status 0 kpx "$DB" kpx-23
expect_eq "$(q "$DB" "SELECT group_concat(outcome || result_code, ' ') FROM api_call")" \
        "transient23 ok00" "23 then ok"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour WHERE g_per_kwh IS NOT NULL")" 1 "23 value"
expect_grep "event=api_retry" "$WORK/last.err"
pass "kpx code 23 is retried after a backoff"

DB="$WORK/99.db"
expect_status 1 kpx "$DB" kpx-99
expect_eq "$(q "$DB" "SELECT count(*) FROM api_call WHERE outcome = 'transient' AND result_code = '99'")" 3 "99 attempts"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 0 "99 rows"
expect_grep "event=kpx_day_failed" "$WORK/last.err"
pass "kpx code 99 retries, then stores nothing"

# --- KPX: HTTP and transport failures --------------------------------

DB="$WORK/429.db"
expect_status 0 kpx "$DB" kpx-429
expect_eq "$(q "$DB" "SELECT group_concat(outcome || http_status, ' ') FROM api_call")" \
        "transient429 ok200" "429 then ok"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour WHERE g_per_kwh IS NOT NULL")" 1 "429 value"
pass "kpx HTTP 429 is retried"

DB="$WORK/503.db"
expect_status 0 kpx "$DB" kpx-503 kpx-legacy
expect_eq "$(q "$DB" "SELECT count(*) FROM api_call WHERE http_status = 503")" 3 "503 attempts"
expect_eq "$(q "$DB" "SELECT count(*) FROM api_call WHERE url LIKE '%/kpx-legacy/%' AND outcome = 'ok'")" 1 "legacy call"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour WHERE detail LIKE '%legacy host'")" 1 "legacy value"
expect_grep "event=kpx_fallback" "$WORK/last.err"
pass "kpx HTTP 503 falls back to the legacy host"

DB="$WORK/truncated.db"
expect_status 1 kpx "$DB" kpx-truncated
expect_eq "$(q "$DB" "SELECT count(*) FROM api_call WHERE outcome = 'transient' AND http_status = 200")" 3 "truncated attempts"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 0 "truncated rows"
expect_grep "outcome=transient" "$WORK/last.err"
pass "kpx truncated body stores nothing"

DB="$WORK/invalid.db"
expect_status 1 kpx "$DB" kpx-invalid
expect_eq "$(q "$DB" "SELECT outcome FROM api_call")" "invalid" "invalid outcome"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 0 "invalid rows"
expect_grep "invalid JSON" "$WORK/last.err"
pass "kpx invalid JSON stores nothing"

DB="$WORK/slow.db"
start=$(date +%s)
FAST=(--retry-delay-ms 10 --connect-timeout-ms 500 --timeout-ms 1000
        --max-attempts 2)
expect_status 1 kpx "$DB" kpx-slow
elapsed=$(($(date +%s) - start))
[ "$elapsed" -le 6 ] || fail "slow server: took $elapsed s"
expect_eq "$(q "$DB" "SELECT count(*) FROM api_call WHERE http_status IS NULL AND outcome = 'transient'")" 2 "timeouts"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 0 "slow rows"
expect_grep "timed out after" "$WORK/last.err"
pass "kpx slow server times out"
FAST=(--retry-delay-ms 10 --connect-timeout-ms 500 --timeout-ms 1000
        --max-attempts 3)

# --- Keys --------------------------------------------------------------

DB="$WORK/keyfile.db"
printf 'CARBONLEDGER_KPX_KEY=%s\n' "$KEY" >"$WORK/keys"
chmod 644 "$WORK/keys"
expect_status 1 env -u CARBONLEDGER_KPX_KEY "$CARBONLEDGER" intensity fetch \
        --db "$DB" --source kpx --zone KR --from 2025-10-23 --to 2025-10-23 \
        --kpx-url "$BASE/kpx-object" --key-file "$WORK/keys"
expect_grep "mode 0644" "$WORK/last.err"
expect_eq "$(q "$DB" "SELECT count(*) FROM api_call")" 0 "no call with a readable key file"
chmod 600 "$WORK/keys"
expect_status 0 env -u CARBONLEDGER_KPX_KEY "$CARBONLEDGER" intensity fetch \
        --db "$DB" --source kpx --zone KR --from 2025-10-23 --to 2025-10-23 \
        --kpx-url "$BASE/kpx-object" --key-file "$WORK/keys" --insecure
expect_grep "event=tls_verification_disabled" "$WORK/last.err"
no_secrets "$WORK/last.out" "$WORK/last.err"
expect_status 1 env -u CARBONLEDGER_KPX_KEY "$CARBONLEDGER" intensity fetch \
        --db "$WORK/nokey.db" --source kpx --zone KR --from 2025-10-23 \
        --to 2025-10-23 --kpx-url "$BASE/kpx-object"
expect_grep "no API key" "$WORK/last.err"
pass "key file must be private; --insecure is logged"

# --- Electricity Maps, WattTime, GIR, static ---------------------------

DB="$WORK/em.db"
expect_status 0 "$CARBONLEDGER" intensity fetch --db "$DB" \
        --source electricitymaps --zone KR --from 2025-10-23 --to 2025-10-23 \
        --electricitymaps-url "$BASE/em" "${FAST[@]}"
expect_eq "$(q "$DB" "SELECT hour_ns || ':' || coalesce(g_per_kwh, '-') || ':' || quality FROM intensity_hour WHERE hour_ns BETWEEN $H02 AND $H05 ORDER BY hour_ns")" \
        "$(printf '%s\n' "$H02:423.0:measured" "$H03:-:missing" "$H04:-:missing" "$H05:401.0:estimated")" \
        "electricitymaps hours"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 24 "electricitymaps rows"
expect_grep "auth=em-token-e2e-secret" "$WORK/requests.log"
expect_grep "em carbon-intensity/past-range?zone=KR&start=2025-10-22T15:00:00Z&end=2025-10-23T15:00:00Z" \
        "$WORK/requests.log"
no_secrets "$WORK/last.out" "$WORK/last.err"
dump "$DB"
pass "electricitymaps past-range: null, 0 and estimated hours"

DB="$WORK/em401.db"
expect_status 1 "$CARBONLEDGER" intensity fetch --db "$DB" \
        --source electricitymaps --zone KR --from 2025-10-23 --to 2025-10-23 \
        --electricitymaps-url "$BASE/em-401" "${FAST[@]}"
expect_eq "$(q "$DB" "SELECT outcome || http_status FROM api_call")" "permanent401" "em 401"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 0 "em 401 rows"
expect_grep "event=electricitymaps_failed" "$WORK/last.err"
no_secrets "$WORK/last.out" "$WORK/last.err"
pass "electricitymaps HTTP 401 stores nothing"

DB="$WORK/wt.db"
expect_status 0 "$CARBONLEDGER" intensity fetch --db "$DB" --source watttime \
        --zone KR --from 2025-10-23 --to 2025-10-23 --watttime-url "$BASE/wt" \
        "${FAST[@]}"
expect_eq "$(q "$DB" "SELECT printf('%.1f', g_per_kwh) || basis FROM intensity_hour WHERE hour_ns = $H02")" \
        "413.2marginal" "911 lb/MWh"
expect_eq "$(q "$DB" "SELECT printf('%.1f', g_per_kwh) FROM intensity_hour WHERE hour_ns = $H03")" \
        "408.2" "mean of 800 and 1000 lb/MWh"
expect_eq "$(q "$DB" "SELECT quality FROM intensity_hour WHERE hour_ns = $H04")" "missing" "null point"
no_secrets "$WORK/last.out" "$WORK/last.err"
dump "$DB"
pass "watttime login, lb/MWh conversion, marginal basis"

DB="$WORK/gir.db"
expect_status 0 "$CARBONLEDGER" intensity fetch --db "$DB" --source gir \
        --zone KR --from 2025-10-23 --to 2025-10-23
expect_eq "$(q "$DB" "SELECT DISTINCT printf('%.1f', g_per_kwh) || quality || basis FROM intensity_hour")" \
        "454.1declaredconsumption" "gir 2025 factor"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 24 "gir rows"
pass "gir declared consumption factor"

DB="$WORK/static.db"
expect_status 0 "$CARBONLEDGER" intensity fetch --db "$DB" --source static \
        --zone KR --from 2025-10-23 --to 2025-10-23 \
        --static-file "$CL_SRC/fixtures/api/static/kr.csv"
expect_eq "$(q "$DB" "SELECT hour_ns || ':' || coalesce(g_per_kwh, '-') || ':' || quality || ':' || basis FROM intensity_hour ORDER BY hour_ns")" \
        "$(printf '%s\n' "$H02:430.5:declared:consumption" "$H03:-:missing:consumption" "$H04:-:missing:consumption" "$H05:415.25:declared:consumption")" \
        "static hours"
expect_eq "$(q "$DB" "SELECT count(*) FROM api_call")" 0 "static calls"
expect_grep "level=info prog=carbonledger event=intensity_fetched source=static" \
        "$WORK/last.err"
pass "static CSV for zone KR"

DB="$WORK/static-bad.db"
printf 'hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,1e300\n' \
        >"$WORK/huge.csv"
expect_status 1 "$CARBONLEDGER" intensity fetch --db "$DB" --source static \
        --zone KR --from 2025-10-23 --to 2025-10-23 \
        --static-file "$WORK/huge.csv"
expect_grep "huge.csv: line 2: g_per_kwh '1e300'" "$WORK/last.err"
expect_grep "level=error prog=carbonledger event=intensity_fetch_failed source=static" \
        "$WORK/last.err"
expect_no_grep "event=intensity_fetched" "$WORK/last.err"
expect_eq "$(q "$DB" "SELECT count(*) FROM intensity_hour")" 0 "1e300 rows"
pass "static implausible value stores nothing"

# --- show and usage ----------------------------------------------------

expect_status 0 "$CARBONLEDGER" intensity show --db "$WORK/array.db"
expect_grep "2025-10-22T17:00:00Z  2025-10-23 02:00" "$WORK/last.out"
expect_grep "397.8  generation   measured   lifecycle" "$WORK/last.out"
expect_grep "api calls:" "$WORK/last.out"
expect_status 0 "$CARBONLEDGER" intensity show --db "$WORK/22.db" --json
"$PY" - "$WORK/last.out" <<'EOF' || fail "show --json"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["quota"][0]["source"] == "kpx", doc["quota"]
assert doc["quota"][0]["active"] is True
assert doc["api_calls"][0]["outcome"] == "quota"
EOF
expect_status 0 "$CARBONLEDGER" intensity show --db "$WORK/em.db" --json \
        --from 2025-10-23 --to 2025-10-23 --source electricitymaps
"$PY" - "$WORK/last.out" <<'EOF' || fail "show --json hours"
import json, sys
hours = json.load(open(sys.argv[1]))["hours"]
assert len(hours) == 24, len(hours)
h = [x for x in hours if x["hour_kst"] == "2025-10-23 02:00"][0]
assert h["g_per_kwh"] == 423, h
assert h["quality"] == "measured", h
assert len(h["response_sha256"]) == 64
EOF
pass "show prints provenance and the call log"

expect_status 2 "$CARBONLEDGER" intensity fetch --db "$WORK/u.db" --source nope \
        --zone KR --from 2025-10-23 --to 2025-10-23
expect_grep "unknown source 'nope'" "$WORK/last.err"
expect_status 2 "$CARBONLEDGER" intensity fetch --db "$WORK/u.db" --source kpx \
        --zone KR --from 2025-10-23 --to 2025-10-22
expect_status 2 "$CARBONLEDGER" intensity fetch --source kpx --zone KR \
        --from 2025-10-23 --to 2025-10-23
expect_status 2 "$CARBONLEDGER" intensity fetch --db "$WORK/u.db" --source kpx \
        --zone KR --from 2025-10-23 --to 2025-10-23 --max-attempts 0
expect_grep "max-attempts" "$WORK/last.err"
expect_status 1 "$CARBONLEDGER" intensity fetch --db "$WORK/u.db" --source kpx \
        --zone JP --from 2025-10-23 --to 2025-10-23 --kpx-url "$BASE/kpx-array"
expect_grep "serves only zone KR" "$WORK/last.err"
pass "usage errors exit 2, a wrong zone exits 1"

expect_status 2 "$CARBONLEDGER" intensity show --db "$WORK/array.db" \
        --source nope
expect_grep "unknown source 'nope'" "$WORK/last.err"
expect_status 2 "$CARBONLEDGER" intensity show --db "$WORK/array.db" \
        --source kpx --kpx-url "$BASE/kpx-array"
expect_grep "'--kpx-url' does not apply to intensity show" "$WORK/last.err"
expect_status 2 "$CARBONLEDGER" intensity fetch --db "$WORK/opts.db" --source kpx \
        --zone KR --from 2025-10-23 --to 2025-10-23 --kpx-url "$BASE/kpx-array" \
        --static-file "$CL_SRC/fixtures/api/static/kr.csv"
expect_grep "'--static-file' does not apply to source kpx" "$WORK/last.err"
expect_status 2 "$CARBONLEDGER" intensity fetch --db "$WORK/opts.db" \
        --source static --zone KR --from 2025-10-23 --to 2025-10-23 \
        --static-file "$CL_SRC/fixtures/api/static/kr.csv" --max-attempts 2
expect_grep "'--max-attempts' does not apply to source static" "$WORK/last.err"
expect_status 2 "$CARBONLEDGER" intensity fetch --db "$WORK/opts.db" --source gir \
        --zone KR --from 2025-10-23 --to 2025-10-23 --factor-set direct
expect_grep "'--factor-set' does not apply to source gir" "$WORK/last.err"
[ ! -e "$WORK/opts.db" ] || fail "a usage error created the database"
pass "show and fetch reject options of other sources"

expect_status 0 "$CARBONLEDGER" intensity --help
expect_grep "Hours stored as missing are fetched again" "$WORK/last.out"
expect_grep "least 6 hours ago" "$WORK/last.out"
expect_no_grep "Hours already stored are" "$WORK/last.out"
pass "help states the missing-hour retry rule"
