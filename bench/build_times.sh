#!/usr/bin/env bash
# Times what a new user and CI wait for, from a fresh clone of this repository's HEAD (the
# dependencies already installed, as scripts/setup.sh leaves them):
#   bash bench/build_times.sh          # scripts/demo.sh: seconds until the demo has printed
#   bash bench/build_times.sh --ci     # and .ci/run (every test), with its per-phase table
# Each runs in its own temporary clone, removed afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run_ci=0
[ "${1:-}" = --ci ] && run_ci=1
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "commit: $(git -C "$root" rev-parse --short HEAD)"

time_in_clone() {  # time_in_clone <label> <command...>
  local label=$1
  shift
  local dir
  dir=$(mktemp -d)
  git clone -q "$root" "$dir/rb"
  local start=$SECONDS
  (cd "$dir/rb" && "$@") >"$dir/log" 2>&1 || { tail -30 "$dir/log"; rm -rf "$dir"; exit 1; }
  echo "$label: $((SECONDS - start)) s from a fresh clone"
  [ "$label" = ".ci/run" ] && sed -n '/Time per phase/,$p' "$dir/log"
  rm -rf "$dir"
}

time_in_clone "scripts/demo.sh" bash scripts/demo.sh
((run_ci)) && time_in_clone ".ci/run" bash .ci/run
exit 0
