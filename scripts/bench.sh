#!/usr/bin/env bash
# Runs rb's benchmarks (installs what is missing and builds first) and writes JSON and plots to
# bench/results/: the C++ Google Benchmark binaries, the GPU benchmark where a GPU is present,
# and the Python block-entry benchmark once the Python package is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
results=bench/results
mkdir -p "$results"
min_time=${RB_BENCH_MIN_TIME:-0.2}

echo "== C++ benchmarks (this machine: $(nproc) cores) =="
./build/bench/rb_bench --benchmark_min_time="$min_time" \
  --benchmark_out="$results/rb_bench.json" --benchmark_out_format=json
# Where the CPU has AVX-512, rb's AVX2 kernels too (the README's results table has a column per
# instruction set): the rows that depend on them again, with RB_CPU_ISA=avx2.
if [ "$(grep -m1 -ow -e avx512f -e avx512dq -e avx512bw -e avx512vl /proc/cpuinfo | sort -u | wc -l)" = 4 ]; then
  RB_CPU_ISA=avx2 ./build/bench/rb_bench --benchmark_min_time="$min_time" \
    --benchmark_filter='^(Fill/|EnterExit/(rb_|torch_manual_seed)|Engine/(uniform|normal|bernoulli))' \
    --benchmark_out="$results/rb_bench_avx2.json" --benchmark_out_format=json
fi
if [ -x build/bench/gpu_bench ] && python3 -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  ./build/bench/gpu_bench --json "$results/gpu_bench.json"
else
  echo "no GPU here: GPU benchmarks skipped (see scripts/gpu.sh for the GPU machine)"
fi
if python3 -c 'import rblock' 2>/dev/null && [ -f bench/python/bench_block_entry.py ]; then
  python3 bench/python/bench_block_entry.py --json "$results/python_block_entry.json"
  python3 bench/python/bench_compile.py --json "$results/python_compile.json"
  python3 bench/python/bench_small_calls.py --json "$results/python_small_calls.json"
fi
python3 scripts/plot_bench.py "$results"
