#!/usr/bin/env bash
# Runs on the lent GPU machine: builds rb against its torch, runs every test (the GPU ones
# included) and the GPU benchmarks, and prints a short table last. Needs .gpu-carry/ from
# scripts/prepare_gpu_carry.sh. Logs go to $OUT when it is set (the device tool's folder).
set -uo pipefail
cd "$(dirname "$0")/.."
carry=$PWD/.gpu-carry
out=${OUT:-$PWD/build-gpu/out}
mkdir -p "$out"
[ -d "$carry" ] || { echo "missing .gpu-carry: run scripts/prepare_gpu_carry.sh here first" >&2; exit 2; }

python=${PYTHON:-python3}
torch_prefix=$($python -c 'import torch; print(torch.utils.cmake_prefix_path)')
torch_lib=$($python -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torch_lib:$carry/benchmark/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export RB_KAT_VECTORS=$carry/kat_vectors.gz
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

start=$SECONDS
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$carry/benchmark" \
  -DRB_RANDOM123_INCLUDE_DIR="$carry/include" -DRB_GTEST_SOURCE_DIR="$carry/googletest" \
  -DRB_KAT_VECTORS="$RB_KAT_VECTORS" >"$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
cmake --build build-gpu -j "$(nproc)" >"$out/build.log" 2>&1 || { grep -m20 -B2 -A10 "error" "$out/build.log"; exit 1; }
build_s=$((SECONDS - start))

(cd build-gpu && ctest --output-on-failure --timeout 600 -E consumer_project) >"$out/ctest.log" 2>&1
ctest_rc=$?
grep -E "tests passed|tests failed|\*\*\*|Failed|Skipped" "$out/ctest.log" | tail -30

bench_rows=""
if [ -x build-gpu/bench/gpu_bench ]; then
  build-gpu/bench/gpu_bench --json "$out/gpu_bench.json" >"$out/gpu_bench.txt" 2>&1 || echo "gpu_bench failed"
  bench_rows=$(cat "$out/gpu_bench.txt")
fi
if [ -x build-gpu/bench/rb_bench ]; then
  build-gpu/bench/rb_bench --benchmark_filter='Cuda|Block' --benchmark_min_time=0.2 \
    --benchmark_out="$out/rb_bench_gpu.json" --benchmark_out_format=json >"$out/rb_bench_gpu.txt" 2>&1 || true
fi

# The Python package and its tests (the compiled, engine and generator checks on CUDA among them).
$python -m pip install -q --no-index --find-links "$carry/wheels" pytest numpy "scikit-build-core>=0.10" \
  >"$out/pip.log" 2>&1 || tail -5 "$out/pip.log"
$python -m pip install -q --no-build-isolation --no-deps --config-settings=build-dir=build-gpu-python . \
  >>"$out/pip.log" 2>&1 || tail -20 "$out/pip.log"
$python -m pytest -q -p no:cacheprovider tests/python -rs >"$out/pytest.log" 2>&1
pytest_rc=$?
tail -3 "$out/pytest.log"

echo
echo "== rb on $(cat "$out/gpu.txt") =="
echo "build: ${build_s} s; ctest exit code: $ctest_rc; pytest exit code: $pytest_rc"
grep -E "^ *[0-9]+/[0-9]+ Test" "$out/ctest.log" | sed -E 's/ +/ /g' | cut -c1-80
[ -n "$bench_rows" ] && echo "$bench_rows"
exit $((ctest_rc | pytest_rc))
