#!/usr/bin/env bash
# Prepares .gpu-carry/ (ignored by git): what the GPU machine lacks and scripts/gpu.sh needs,
# copied from this machine's Debian packages. The GPU machine has CUDA 13.0, CMake, ninja and
# torch 2.11.0+cu130, but no package registry, no Random123, no GoogleTest, no Google Benchmark,
# no pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
carry=.gpu-carry
rm -rf "$carry"
mkdir -p "$carry/include" "$carry/benchmark/include" "$carry/benchmark/lib/x86_64-linux-gnu"
cp -r /usr/include/Random123 "$carry/include/"
cp /usr/share/doc/librandom123-dev/tests/kat_vectors.gz "$carry/"
cp -r /usr/src/googletest "$carry/googletest"
cp -r /usr/include/benchmark "$carry/benchmark/include/"
cp -a /usr/lib/x86_64-linux-gnu/libbenchmark.so* /usr/lib/x86_64-linux-gnu/libbenchmark_main.a \
  "$carry/benchmark/lib/x86_64-linux-gnu/"
cp -r /usr/lib/x86_64-linux-gnu/cmake "$carry/benchmark/lib/x86_64-linux-gnu/"
find "$carry/benchmark/lib/x86_64-linux-gnu/cmake" -mindepth 1 -maxdepth 1 ! -name benchmark -exec rm -rf {} +
# The Python tests there: wheels for its Python 3.12 (pytest, NumPy, scikit-build-core to build
# rblock), installed by scripts/gpu.sh without a registry.
python3 -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version 3.12 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  --dest "$carry/wheels" pytest numpy "scikit-build-core>=0.10"
du -sh "$carry"
echo "Now run on the GPU machine (the device tool), carrying .gpu-carry:"
echo "  bash scripts/gpu.sh"
