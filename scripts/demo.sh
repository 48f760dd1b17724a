#!/usr/bin/env bash
# The main job: installs what is missing, builds rb's library and the blocks demo only
# (examples/toy_model.cpp; scripts/test.sh builds everything), and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh --target toy_model
./build/examples/toy_model
