#!/usr/bin/env bash
# The second half of the test command: rb's CPU C++ suites that use torch (rb's bits do not depend
# on torch: the golden table of its generator passes under both) and the Python package's tests
# against the torch at the other end of rb's window from the installed one (2.11 where 2.15 is
# installed, and the reverse), in a virtual environment under build-venv-torch/ that leaves the
# installed torch alone.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
spec=$($python scripts/torch_window.py other-end)
venv=build-venv-torch
source scripts/phases.sh
phase "other torch ($spec): virtual environment and pip install"
[ -x "$venv/bin/python" ] || $python -m venv "$venv"
PIP_ROOT_USER_ACTION=ignore "$venv/bin/python" -m pip install -q --disable-pip-version-check \
  "$spec" numpy pytest "scikit-build-core>=0.10"
"$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "in", torch.__file__)'

export PYTHON=$PWD/$venv/bin/python
phase "other torch: build and run the C++ suites that use torch"
source scripts/env.sh
# With nvcc, for sm_90 only: the same build gives the GPU machine's prebuilt carry below (its torch
# is 2.11), so no target is built twice.
cuda=OFF
command -v nvcc >/dev/null && cuda=ON
cmake -S . -B build-other-torch -G Ninja -DCMAKE_BUILD_TYPE=Release -DRB_CUDA=$cuda \
  -DRB_CUDA_ARCHITECTURES=90 -DRB_BUILD_BENCHMARKS=ON -DRB_BUILD_EXAMPLES=ON \
  -DCMAKE_PREFIX_PATH="$RB_TORCH_PREFIX" \
  >build-other-torch-configure.log 2>&1 || { cat build-other-torch-configure.log; exit 1; }
# The suites that use torch (the golden table of rb's generator among them); the torch-free core's
# suites (Philox, paths, portable math, their golden tables) and the CUDA ones do not depend on it.
torch_tests=(block_test block_unseeded_test ranks_test generator_test generator_golden_test
             philox_batch_test engine_test dispatch_test multinomial_test protocol_test state_test ops_checks_test limits_test
             memory_test fork_test reuse_test trace_test toy_model_test)
cmake --build build-other-torch --parallel "$(nproc)" --target "${torch_tests[@]}"
(cd build-other-torch && ctest --output-on-failure --timeout 900 --parallel "$(nproc)" \
  -R "^($(IFS='|'; echo "${torch_tests[*]}"))\$")

if [ $cuda = ON ] && [[ "$spec" == *2.11* ]]; then
  phase "GPU carry: prebuilt sm_90 binaries against torch 2.11, then the dry run"
  bash scripts/prepare_gpu_carry.sh --from build-other-torch
  bash scripts/gpu.sh --dry-run
fi

phase "other torch: Python package, pip install"
# The package's own build tree (pyproject's build-dir is per wheel tag, so it would be shared with
# the installed torch's build): a separate one.
PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install -q --disable-pip-version-check \
  --no-build-isolation --no-deps --config-settings=build-dir=build-python-other-torch .
phase "other torch: Python tests (pytest)"
"$PYTHON" -m pytest -q tests/python
phase_end
