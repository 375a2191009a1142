#!/usr/bin/env bash
# Configures and builds carbonledger in build/ (warnings are errors).
# Arguments name CMake targets; without any, everything is built.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$top" -B "$top/build" -DCL_WERROR=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for t in "$@"; do
        targets+=(--target "$t")
done
cmake --build "$top/build" -j"$(nproc)" "${targets[@]}"
