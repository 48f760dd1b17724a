#!/usr/bin/env bash
# The benchmark-only peers of bench/python/bench_peers.py, in a virtual environment of their own:
# build-peers-venv/ at the repository root (ignored by git, like every /build*/ folder). It sees
# the system Python's packages (--system-site-packages), so torch, rblock and NumPy are the ones
# installed there; it adds Intel oneMKL's vector statistics through mkl-random (which pulls mkl,
# intel-openmp and tbb wheels). None of this is a dependency of rb or of `pip install .`.
#
#     bash bench/python/peers_env.sh
#     taskset -c 1 build-peers-venv/bin/python bench/python/bench_peers.py [--threads 1]
#
# Idempotent: an existing venv is kept, and pip leaves a satisfied pin alone.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/build-peers-venv"
python="${PYTHON:-python3}"

# mkl-random 1.5.0 (oneMKL 2026.x) has a cp311 manylinux_2_28 x86_64 wheel; it needs numpy>=1.26.4,
# which the system NumPy satisfies, so pip installs no NumPy of its own.
MKL_RANDOM_VERSION="${MKL_RANDOM_VERSION:-1.5.0}"

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "mkl-random==$MKL_RANDOM_VERSION"

echo "peers venv: $venv"
"$venv/bin/python" -m pip list --disable-pip-version-check --local --format=freeze
"$venv/bin/python" - <<'EOF'
import numpy, torch, rblock, mkl_random
print(f"torch {torch.__version__} ({torch.__file__})")
print(f"rblock {rblock.__version__}, numpy {numpy.__version__} ({numpy.__file__})")
print(f"mkl_random {mkl_random.__version__}")
EOF
