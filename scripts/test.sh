#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test of rb (CTest suites,
# golden tables, the consumer project, the ThreadSanitizer build and the Python tests) against the
# installed torch, then the CPU suites and the Python tests against the torch at the other end of
# rb's supported window, in a virtual environment of its own (scripts/test_other_torch.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
bash scripts/setup.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure --timeout 900)

echo "== ThreadSanitizer build of the block, engine and generator tests =="
source scripts/env.sh
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRB_TSAN=ON -DRB_CUDA=OFF \
  -DRB_BUILD_BENCHMARKS=OFF -DRB_BUILD_EXAMPLES=OFF -DCMAKE_PREFIX_PATH="$RB_TORCH_PREFIX" \
  >build-tsan-configure.log 2>&1 || { cat build-tsan-configure.log; exit 1; }
tsan_tests=(block_test engine_test generator_test)
cmake --build build-tsan --parallel "$(nproc)" --target "${tsan_tests[@]}"
for t in "${tsan_tests[@]}"; do
  TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
    build-tsan/tests/$t --gtest_brief=1
done

echo "== Python package (rblock, reproducible_block): pip install, then pytest =="
PIP_ROOT_USER_ACTION=ignore $python -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps .
$python -m pytest -q tests/python

bash scripts/test_other_torch.sh
echo "rb: every test passed in $((SECONDS - start)) s"
