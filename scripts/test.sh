#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test of rb (CTest suites,
# golden tables, the consumer project, the ThreadSanitizer and AddressSanitizer + UBSan builds and
# the Python tests) against the installed torch, then the CPU suites and the Python tests against
# the torch at the other end of rb's supported window, in a virtual environment of its own
# (scripts/test_other_torch.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f build-phases.txt
source scripts/phases.sh
phase "setup (Debian and Python packages)"
bash scripts/setup.sh
phase "build: rb, every test, benchmark and example (build/)"
bash scripts/build.sh
phase "CTest (build/)"
(cd build && ctest --output-on-failure --timeout 900 --parallel "$(nproc)")

phase "ThreadSanitizer: build and run the block, engine and generator tests"
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

phase "AddressSanitizer + UBSan: build and run the C++ tests"
# torch's libraries are not instrumented: ASan's leak, ODR and allocator-mismatch checks would
# only report torch's own allocations; every other report stops the run (exit code 66).
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRB_ASAN=ON -DRB_CUDA=OFF \
  -DRB_BUILD_BENCHMARKS=OFF -DRB_BUILD_EXAMPLES=OFF -DCMAKE_PREFIX_PATH="$RB_TORCH_PREFIX" \
  >build-asan-configure.log 2>&1 || { cat build-asan-configure.log; exit 1; }
asan_tests=(philox_test block_test block_unseeded_test engine_test dispatch_test multinomial_test generator_test generator_golden_test
            path_test ranks_test ops_checks_test limits_test memory_test fork_test toy_model_test
            protocol_test state_test)
cmake --build build-asan --parallel "$(nproc)" --target "${asan_tests[@]}"
for t in "${asan_tests[@]}"; do
  ASAN_OPTIONS="detect_leaks=0:detect_odr_violation=0:alloc_dealloc_mismatch=0:halt_on_error=1:exitcode=66" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=66" \
    build-asan/tests/$t --gtest_brief=1
done

phase "Python package: pip install"
PIP_ROOT_USER_ACTION=ignore $python -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps .
phase "Python tests (pytest)"
$python -m pytest -q tests/python
phase_end

bash scripts/test_other_torch.sh
echo "rb: every test passed. Time per phase (s):"
phase_table
