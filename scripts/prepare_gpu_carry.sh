#!/usr/bin/env bash
# Prepares .gpu-carry/ (ignored by git): what the lent GPU machine (CUDA 13.0, CMake, ninja, Python
# 3.12 with torch 2.11.0+cu130 and triton 3.6; no package registry, no Random123, no GoogleTest, no
# Google Benchmark, no pytest) needs to run rb's GPU tests and benchmarks without building them:
#   bin/      the CUDA test binaries, gpu_bench, rb_bench, the dropout_kernel example and
#             librb_torch.so, built here with nvcc for sm_90 (H100, H200) against torch 2.11.0
#             (the GPU machine's), GoogleTest linked statically, stripped;
#   the sources and libraries to build there instead (Random123, KAT file, GoogleTest, Google
#   Benchmark), used only if a prebuilt binary does not load;
#   wheels/   pytest, NumPy and scikit-build-core for its Python 3.12 (scripts/gpu.sh builds the
#             Python package there and runs tests/python).
#
#   bash scripts/prepare_gpu_carry.sh [--from <build dir>]
# --from reuses a build directory configured against torch 2.11 with CUDA (scripts/test_other_torch.sh
# passes build-other-torch); without it the binaries are built in build-gpu-carry/. Fails if the
# carry exceeds the device tool's 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
from=""
[ "${1:-}" = --from ] && from=$2
carry=.gpu-carry
gpu_tests=(philox_cuda_test portable_math_cuda_test block_cuda_test generator_cuda_test engine_cuda_test)
gpu_programs=(gpu_bench rb_bench dropout_kernel)

if [ -z "$from" ]; then
  bash scripts/setup.sh >/dev/null
  venv=build-venv-torch  # the GPU machine's torch, as CI's second torch (scripts/test_other_torch.sh)
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  PIP_ROOT_USER_ACTION=ignore "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "torch==2.11.0" numpy pytest "scikit-build-core>=0.10"
  export PYTHON=$PWD/$venv/bin/python
  source scripts/env.sh
  from=build-gpu-carry
  cmake -S . -B "$from" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRB_CUDA=ON \
    -DRB_CUDA_ARCHITECTURES=90 -DCMAKE_PREFIX_PATH="$RB_TORCH_PREFIX" \
    >"$from-configure.log" 2>&1 || { cat "$from-configure.log"; exit 1; }
fi
cmake --build "$from" --parallel "$(nproc)" --target "${gpu_tests[@]}" "${gpu_programs[@]}"

rm -rf "$carry"
mkdir -p "$carry/bin" "$carry/include" "$carry/benchmark/include" "$carry/benchmark/lib/x86_64-linux-gnu"
for t in "${gpu_tests[@]}"; do cp "$from/tests/$t" "$carry/bin/"; done
cp "$from/bench/gpu_bench" "$from/bench/rb_bench" "$from/examples/dropout_kernel" "$carry/bin/"
cp -L "$from/librb_torch.so" "$carry/bin/"
# (files, not symbolic links: links may not travel)
cp -L /usr/lib/x86_64-linux-gnu/libbenchmark.so* "$carry/bin/"
strip --strip-unneeded "$carry"/bin/*
grep -m1 '^Torch_DIR:PATH=' "$from/CMakeCache.txt" | cut -d= -f2 >"$carry/bin/BUILT_AGAINST"
# What a build on the GPU machine needs, if a binary does not load there.
cp -r /usr/include/Random123 "$carry/include/"
cp /usr/share/doc/librandom123-dev/tests/kat_vectors.gz "$carry/"
cp -r /usr/src/googletest "$carry/googletest"
cp -r /usr/include/benchmark "$carry/benchmark/include/"
cp -L /usr/lib/x86_64-linux-gnu/libbenchmark.so* /usr/lib/x86_64-linux-gnu/libbenchmark_main.a \
  "$carry/benchmark/lib/x86_64-linux-gnu/"
cp -r /usr/lib/x86_64-linux-gnu/cmake "$carry/benchmark/lib/x86_64-linux-gnu/"
find "$carry/benchmark/lib/x86_64-linux-gnu/cmake" -mindepth 1 -maxdepth 1 ! -name benchmark -exec rm -rf {} +

python3 -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version 3.12 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  --dest "$carry/wheels" pytest numpy "scikit-build-core>=0.10"

size_kib=$(du -sk "$carry" | cut -f1)
echo "prepare_gpu_carry: $carry holds $((size_kib / 1024)) MiB (the device tool carries at most 64 MiB)"
if ((size_kib > 64 * 1024)); then
  echo "prepare_gpu_carry: $carry is larger than 64 MiB: it would not travel" >&2
  exit 1
fi
echo "Check it here: bash scripts/gpu.sh --dry-run   (every GPU test skips, saying so)"
echo "On the GPU machine (the device tool), carrying .gpu-carry: bash scripts/gpu.sh"
