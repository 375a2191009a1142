#!/usr/bin/env bash
# merge opens its sources read-only: a copy is byte for byte the same
# after a merge, and an empty file, a text file or a copy of an older
# schema version is an error (exit 1) that names the file and is left
# unchanged.
. "$(dirname "$0")/lib.sh"

NODE="$WORK/node"
cp -a "$CL_SRC/fixtures/nodes/two-socket" "$NODE"
collect() {
        expect_status 0 "$COLLECTOR" --db "$WORK/node-a.db" --once \
                --timestamp "$1" --sysfs "$NODE/sys" --procfs "$NODE/proc" \
                --cgroupfs "$NODE/sys/fs/cgroup" \
                --pod-logs "$NODE/var/log/pods" --node-name node-a
}
collect 2026-03-10T01:00:00Z
echo 240522366267 >"$NODE/sys/class/powercap/intel-rapl:0/energy_uj"
collect 2026-03-10T01:00:10Z

# Each source with its sidecar files (-wal, -shm), as a copy would be.
snapshot() { (cd "$WORK" && ls -A | grep "^$1" | sort | xargs sha256sum); }
cp "$WORK/node-a.db" "$WORK/copy.db"
before=$(snapshot copy.db)
expect_status 0 "$CARBONLEDGER" merge --into "$WORK/mg.db" "$WORK/copy.db"
expect_grep "node node-a: 2 samples added" "$WORK/last.out"
[ "$(snapshot copy.db)" = "$before" ] || fail "merge changed its source: $(snapshot copy.db)"
pass "merge leaves its source unchanged"

: >"$WORK/empty.db"
expect_status 1 "$CARBONLEDGER" merge --into "$WORK/mg.db" "$WORK/empty.db"
expect_grep "empty.db is empty (0 bytes), not a carbonledger database" "$WORK/last.err"
[ ! -s "$WORK/empty.db" ] || fail "merge wrote to the empty source"
pass "an empty source is an error"

echo "node-a,1,2" >"$WORK/notes.db"
expect_status 1 "$CARBONLEDGER" merge --into "$WORK/mg.db" "$WORK/notes.db"
expect_grep "notes.db is not a carbonledger database" "$WORK/last.err"
[ "$(cat "$WORK/notes.db")" = "node-a,1,2" ] || fail "merge changed a text file"
pass "a file that is not a database is an error"

# A database of schema version 2 (the first two migrations).
cat "$CL_SRC/schema/001_initial.sql" "$CL_SRC/schema/002_intensity.sql" |
        sqlite3 "$WORK/old.db"
sqlite3 "$WORK/old.db" "PRAGMA user_version = 2"
before=$(snapshot old.db)
expect_status 1 "$CARBONLEDGER" merge --into "$WORK/mg.db" "$WORK/old.db"
expect_grep "old.db: schema version 2" "$WORK/last.err"
[ "$(snapshot old.db)" = "$before" ] || fail "merge migrated its source"
pass "an older schema is an error naming its version"

# The target keeps what the good copy added.
n=$(sqlite3 "$WORK/mg.db" "SELECT count(*) FROM sample")
[ "$n" = 2 ] || fail "target has $n samples, expected 2"
pass "failed sources add nothing"

echo "test_merge: all checks passed"
