#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the blocks demo (examples/toy_model.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/examples/toy_model
