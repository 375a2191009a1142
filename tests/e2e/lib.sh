# Shared helpers of the end-to-end tests. CL_BIN is the build folder and
# CL_SRC the source folder; ctest sets both.
set -euo pipefail

: "${CL_BIN:?CL_BIN must name the build folder}"
: "${CL_SRC:?CL_SRC must name the source folder}"
COLLECTOR="$CL_BIN/collector/carbonledger-collector"
CARBONLEDGER="$CL_BIN/pipeline/carbonledger"
# Debian's interpreter, which has python3-openpyxl.
PY=/usr/bin/python3
export CARBONLEDGER_TEMPLATES="$CL_SRC/templates"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/carbonledger-e2e.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

pass() {
        echo "ok: $*"
}

# expect_status WANT CMD...: runs CMD, fails unless it exits with WANT.
expect_status() {
        local want=$1 got=0
        shift
        "$@" >"$WORK/last.out" 2>"$WORK/last.err" || got=$?
        if [ "$got" != "$want" ]; then
                cat "$WORK/last.out" "$WORK/last.err" >&2
                fail "exit $got, expected $want: $*"
        fi
}

# expect_grep PATTERN FILE: fails unless FILE contains PATTERN.
expect_grep() {
        grep -q -- "$1" "$2" || { cat "$2" >&2; fail "'$1' not in $2"; }
}
