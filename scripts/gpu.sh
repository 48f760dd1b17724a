#!/usr/bin/env bash
# Runs on the lent GPU machine: rb's GPU tests and benchmarks, then the Python package's tests,
# and prints a short table last. Needs .gpu-carry/ from scripts/prepare_gpu_carry.sh, whose
# prebuilt binaries (sm_90, torch 2.11) it runs without building; only if one does not load does it
# build rb there instead. Logs go to $OUT when it is set (the device tool's folder).
#
#   bash scripts/gpu.sh             # on the GPU machine
#   bash scripts/gpu.sh --dry-run   # here: the same binaries from the carry, every GPU test
#                                   # skipping visibly (PYTHON: a Python with torch 2.11)
set -uo pipefail
cd "$(dirname "$0")/.."
dry_run=0
[ "${1:-}" = --dry-run ] && dry_run=1
carry=$PWD/.gpu-carry
out=${OUT:-$PWD/build-gpu/out}
mkdir -p "$out"
[ -d "$carry" ] || { echo "missing .gpu-carry: run scripts/prepare_gpu_carry.sh here first" >&2; exit 2; }

python=${PYTHON:-python3}
torch_prefix=$($python -c 'import torch; print(torch.utils.cmake_prefix_path)')
torch_lib=$($python -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
# torch's own CUDA runtime (pip's nvidia packages), for binaries built against it.
cuda_libs=$($python - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("nvidia")
dirs = [str(p) for root in (spec.submodule_search_locations if spec else [])
        for p in pathlib.Path(root).glob("*/lib") if p.is_dir()]
print(":".join(dirs))
PY
)
export RB_KAT_VECTORS=$carry/kat_vectors.gz
if ((dry_run)); then
  echo "dry run on $(nproc) CPU cores, no GPU: every GPU test below must skip, saying so" | tee "$out/gpu.txt"
else
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
fi
start=$SECONDS

# ---- C++: the prebuilt binaries, or a build here --------------------------------------------------
bin=$carry/bin
export LD_LIBRARY_PATH="$bin:$torch_lib:$cuda_libs:$carry/benchmark/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
tests=(philox_cuda_test portable_math_cuda_test block_cuda_test generator_cuda_test engine_cuda_test)
prebuilt=0
if [ -x "$bin/block_cuda_test" ] && "$bin/block_cuda_test" --gtest_list_tests >"$out/load.log" 2>&1; then
  prebuilt=1
  echo "prebuilt binaries from .gpu-carry/bin (built against $(cat "$bin/BUILT_AGAINST" 2>/dev/null))"
elif ((dry_run)); then
  echo "the prebuilt binaries do not load here:" >&2
  cat "$out/load.log" >&2
  exit 1
else
  echo "the prebuilt binaries do not load here ($(head -c 300 "$out/load.log")): building rb"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DRB_CUDA_ARCHITECTURES=90 \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$carry/benchmark" \
    -DRB_RANDOM123_INCLUDE_DIR="$carry/include" -DRB_GTEST_SOURCE_DIR="$carry/googletest" \
    -DRB_KAT_VECTORS="$RB_KAT_VECTORS" >"$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
  cmake --build build-gpu -j "$(nproc)" --target "${tests[@]}" gpu_bench rb_bench dropout_kernel \
    >"$out/build.log" 2>&1 || { grep -m20 -B2 -A10 "error" "$out/build.log"; exit 1; }
  bin=$PWD/build-gpu/bin-links
  mkdir -p "$bin"
  for t in "${tests[@]}"; do ln -sf "$PWD/build-gpu/tests/$t" "$bin/$t"; done
  ln -sf "$PWD/build-gpu/bench/gpu_bench" "$PWD/build-gpu/bench/rb_bench" \
    "$PWD/build-gpu/examples/dropout_kernel" "$bin/"
fi
build_s=$((SECONDS - start))

ctest_rc=0
summary=()
for t in "${tests[@]}" dropout_kernel; do
  if [ "$t" = dropout_kernel ]; then "$bin/$t" >"$out/$t.log" 2>&1; else "$bin/$t" --gtest_brief=0 >"$out/$t.log" 2>&1; fi
  rc=$?
  passed=$(grep -c "^\[       OK \]" "$out/$t.log")
  skipped=$(grep -c "^\[  SKIPPED \]" "$out/$t.log")
  failed=$(grep -c "^\[  FAILED  \]" "$out/$t.log")
  ((rc != 0)) && ctest_rc=1
  summary+=("$(printf '%-26s exit %d  passed %3d  skipped %3d  failed %3d  %s' "$t" "$rc" \
    "$passed" "$skipped" "$failed" "$(grep -m1 -E 'SKIPPED|no CUDA|equals' "$out/$t.log" | cut -c1-60)")")
done

bench_rows=""
"$bin/gpu_bench" --json "$out/gpu_bench.json" >"$out/gpu_bench.txt" 2>&1 || { echo "gpu_bench failed"; ctest_rc=1; }
bench_rows=$(cat "$out/gpu_bench.txt")
bench_filter='Cuda|Block' bench_time=0.2
((dry_run)) && bench_filter='Cuda' bench_time=0  # the CPU rows are measured elsewhere
"$bin/rb_bench" --benchmark_filter="$bench_filter" --benchmark_min_time=$bench_time \
  --benchmark_out="$out/rb_bench_gpu.json" --benchmark_out_format=json >"$out/rb_bench_gpu.txt" 2>&1 || true

# ---- Python: build the package with the carried wheels, then tests/python ---------------------------
pytest_rc=0
if ((dry_run)); then
  echo "dry run: the Python tests ran in CI's own phases (tests/python, skipping their GPU cases)"
else
  $python -m pip install -q --no-index --find-links "$carry/wheels" pytest numpy "scikit-build-core>=0.10" \
    >"$out/pip.log" 2>&1 || tail -5 "$out/pip.log"
  $python -m pip install -q --no-build-isolation --no-deps --config-settings=build-dir=build-gpu-python . \
    >>"$out/pip.log" 2>&1 || tail -20 "$out/pip.log"
  $python -m pytest -q -p no:cacheprovider tests/python -rs >"$out/pytest.log" 2>&1
  pytest_rc=$?
  tail -3 "$out/pytest.log"
fi

echo
echo "== rb on $(cat "$out/gpu.txt") =="
echo "C++ binaries: $( ((prebuilt)) && echo prebuilt || echo "built here in ${build_s} s"); exit codes: C++ $ctest_rc, pytest $pytest_rc"
printf '%s\n' "${summary[@]}"
[ -n "$bench_rows" ] && echo "$bench_rows"
exit $((ctest_rc | pytest_rc))
