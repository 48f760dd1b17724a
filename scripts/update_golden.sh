#!/usr/bin/env bash
# Rewrites rb's golden tables from the current build. Changing them breaks every user's
# reproducibility: only run this with a bump of rb::kStreamVersion and a line in the README's
# changelog saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/tests/golden_core_O3 > tests/golden/core.txt
./build/tests/golden_portable_math_O3 > tests/golden/portable_math.txt
./build/tests/golden_path_O3 > tests/golden/path.txt
for t in build/tests/*_golden_test; do
  [ -x "$t" ] && RB_UPDATE_GOLDEN=1 "$t" --gtest_brief=1
done
git --no-pager diff --stat -- tests/golden
