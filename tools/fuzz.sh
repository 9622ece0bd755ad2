#!/usr/bin/env bash
# Runs each libFuzzer harness of fuzz/ (built in BUILD_DIR by make fuzz) for SECONDS, from a
# scratch copy of its seed corpus (fuzz/corpus/<harness>; the committed corpus never grows),
# and prints what each did. Fails when a harness finds a crash, a leak, undefined
# behaviour, an unexpected exception or a hang (an input running over 10 s); the input is
# left under the scratch directory, named in the output.
#   tools/fuzz.sh BUILD_DIR SECONDS [HARNESS ...]
set -euo pipefail
build=$1
seconds=$2
shift 2
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(libsvm idx cifar config checkpoint)
src=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/herd-fuzz.XXXXXX")
failed=()
for h in "${harnesses[@]}"; do
  work=$scratch/$h
  mkdir -p "$work/corpus" "$work/artifacts"
  cp "$src/fuzz/corpus/$h/"* "$work/corpus/"
  # -rss_limit_mb: a reader that allocates what the input claims rather than what it holds
  # is a finding. -timeout: a hang.
  if "$build/fuzz/fuzz_$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
      > "$work/log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$h")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
  coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/log" | tail -1 || true)
  printf 'fuzz_%-11s %s: %s execs in %s s (%s/s), %s\n' "$h" "$status" "${execs:-?}" \
    "$seconds" "${rate:-?}" "${coverage:-no coverage line}"
  if [ "$status" != ok ]; then
    grep -E 'ERROR|runtime error|invariant broken|uncaught|Test unit written' "$work/log" | head -20
    echo "  log: $work/log"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]} (inputs under $scratch)"
  exit 1
fi
rm -rf "$scratch"
