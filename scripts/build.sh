#!/usr/bin/env bash
# Configures and builds rb in build/ (Release, Ninja). Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$RB_TORCH_PREFIX" "$@" >build-configure.log 2>&1 \
  || { cat build-configure.log; exit 1; }
cmake --build build --parallel "$(nproc)"
