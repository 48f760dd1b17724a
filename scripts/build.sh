#!/usr/bin/env bash
# Configures and builds rb in build/ (Release, Ninja): everything, or only the targets named with
# --target (scripts/demo.sh builds toy_model and what it needs). Other arguments go to CMake's
# configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
targets=()
configure=()
while (($#)); do
  if [ "$1" = --target ]; then
    targets+=(--target "$2")
    shift 2
  else
    configure+=("$1")
    shift
  fi
done
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$RB_TORCH_PREFIX" ${configure[@]+"${configure[@]}"} >build-configure.log 2>&1 \
  || { cat build-configure.log; exit 1; }
cmake --build build --parallel "$(nproc)" ${targets[@]+"${targets[@]}"}
