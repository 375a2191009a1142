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
