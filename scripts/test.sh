#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, checks the
# formatting and runs the whole test suite (cmocka unit tests and the
# end-to-end scripts) through ctest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/install-deps.sh
bash scripts/build.sh

status=0
ctest --test-dir build --output-on-failure --timeout 300 || status=$?

# The whole suite again under AddressSanitizer and UBSan, within a fixed
# budget so CI stays well inside its limit. Skip with CL_SKIP_SANITIZE=1.
if [ -z "${CL_SKIP_SANITIZE:-}" ]; then
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
        export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
        if timeout 900 bash -c '
                cmake -S "$1" -B "$1/build-asan" -DCL_WERROR=ON \
                        -DCL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null &&
                cmake --build "$1/build-asan" -j"$(nproc)" >/dev/null &&
                ctest --test-dir "$1/build-asan" \
                        --output-on-failure --timeout 300' _ "$top"; then
                echo "sanitizers: the suite passes under ASan and UBSan"
        else
                echo "sanitizers: tests failed or ran out of time" >&2
                status=1
        fi
fi

# Formatting: .clang-format at 80 columns; any difference fails.
mapfile -t sources < <(git ls-files '*.c' '*.h')
if clang-format --dry-run --Werror "${sources[@]}" 2>/dev/null; then
        echo "format: ${#sources[@]} files match .clang-format"
else
        echo "format: files differ from .clang-format:" >&2
        for f in "${sources[@]}"; do
                clang-format --dry-run --Werror "$f" 2>/dev/null || echo "  $f" >&2
        done
        status=1
fi
exit "$status"
