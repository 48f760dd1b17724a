# Sourced by scripts/test.sh and scripts/test_other_torch.sh: times the test command's phases.
#   phase "name"        ends the running phase (if any) and starts "name"
#   phase_end           ends the running phase
#   phase_table         prints every phase's seconds, as a table
# Phases go to $RB_PHASES (a file shared by the scripts of one run).
: "${RB_PHASES:=$PWD/build-phases.txt}"
export RB_PHASES
rb_phase_name=""
rb_phase_start=0

phase_end() {
  if [ -n "$rb_phase_name" ]; then
    printf '%s\t%d\n' "$rb_phase_name" $((SECONDS - rb_phase_start)) >>"$RB_PHASES"
    rb_phase_name=""
  fi
}

phase() {
  phase_end
  rb_phase_name=$1
  rb_phase_start=$SECONDS
  echo "== $1 =="
}

phase_table() {
  phase_end
  awk -F'\t' '{ printf "| %-62s | %6d |\n", $1, $2; total += $2 }
              END { printf "| %-62s | %6d |\n", "total", total }' "$RB_PHASES"
}
