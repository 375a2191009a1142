#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, checks the
# formatting and runs the whole test suite (cmocka unit tests and the
# end-to-end scripts) through ctest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/install-deps.sh
bash scripts/build.sh

# Formatting: .clang-format at 80 columns; any difference fails.
mapfile -t sources < <(git ls-files '*.c' '*.h')
clang-format --dry-run --Werror "${sources[@]}"
echo "format: ${#sources[@]} files match .clang-format"

ctest --test-dir build --output-on-failure --timeout 300
