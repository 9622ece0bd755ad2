#!/usr/bin/env bash
# The stress mode of the test suite (make stress): the test programs that run on the threads
# runtime, PASSES times in a row, with LOAD busy loops competing for the cores, so that the
# OS interrupts the ranks' threads at other points than on an idle machine. A test on threads
# may assert only what every interleaving of its threads allows; one that fails here asserts
# something the schedule decides (it belongs on the simulator, where the schedule is exact).
#
#   tools/stress.sh BUILD_DIR [PASSES] [LOAD] [FILTER]
#   tools/stress.sh --programs      the CMake targets of those programs, one line
#     PASSES  passes of every program (default 100)
#     LOAD    busy loops started for the run and ended with it (default: one per core)
#     FILTER  a GoogleTest filter for the cases to run (default: all of them)
#
# Each pass runs every program once; a failing program's output is kept in
# BUILD_DIR/stress/. Prints one line per pass with a failure, and a summary; exit status 1
# when any pass failed.
set -uo pipefail

# The programs whose tests run ranks as threads: the communicator and the runtimes, the
# algorithms (synchronous, asynchronous, leader and elastic, checkpoints, settings). The
# Makefile's tsan-threads target builds and runs the same list under ThreadSanitizer.
programs=(comm/test_comm comm/test_runtimes algo/test_algo algo/test_async algo/test_leader
  algo/test_checkpoint algo/test_settings)
if [[ ${1:-} == --programs ]]; then
  basename -a "${programs[@]}" | tr '\n' ' '
  echo
  exit 0
fi

build=${1:?usage: tools/stress.sh BUILD_DIR [PASSES] [LOAD] [FILTER]}
passes=${2:-100}
load=${3:-$(nproc)}
filter=${4:-*}
for p in "${programs[@]}"; do
  if [[ ! -x "$build/tests/$p" ]]; then
    echo "stress: $build/tests/$p is missing; build first (make build)" >&2
    exit 2
  fi
done

logs="$build/stress"
rm -rf "$logs"
mkdir -p "$logs"

# The load: busy loops in subshells, ended by their ids when this script exits.
loaders=()
stop_load() {
  for pid in "${loaders[@]}"; do kill "$pid" 2> /dev/null; done
  wait 2> /dev/null
}
trap stop_load EXIT
trap 'exit 130' INT TERM
for ((i = 0; i < load; ++i)); do
  (while :; do :; done) &
  loaders+=($!)
done

echo "stress: ${#programs[@]} programs x $passes passes, $load busy loops on $(nproc) cores," \
  "filter '$filter'"
start=$SECONDS
failed_passes=0
for ((pass = 1; pass <= passes; ++pass)); do
  failures=()
  for p in "${programs[@]}"; do
    log="$logs/pass$pass-$(basename "$p").log"
    # A generous limit: a hang is a failure too.
    timeout 600 "$build/tests/$p" --gtest_filter="$filter" --gtest_brief=1 > "$log" 2>&1
    status=$?
    if ((status != 0)); then
      tail -n 40 "$log" | sed "s|^|  $(basename "$p"): |"  # why, in the output (CI)
      failures+=("$p: $(grep -h '^\[  FAILED  \]' "$log" | grep -v 'listed below' |
        sed 's/^\[  FAILED  \] //; s/ (.*//' | sort -u | tr '\n' ' ')")
      if ((status == 124)); then
        failures+=("(timed out)")
      elif ((status > 128)); then
        failures+=("(killed by signal $((status - 128)))")
      fi
    else
      rm -f "$log"
    fi
  done
  if ((${#failures[@]})); then
    ((++failed_passes))
    printf 'stress: pass %d failed: %s\n' "$pass" "${failures[*]}"
  fi
  if ((pass % 10 == 0)); then
    echo "stress: $pass passes, $failed_passes failed, $((SECONDS - start)) s"
  fi
done
echo "stress: $passes passes with $load busy loops: $failed_passes failed" \
  "($((SECONDS - start)) s; logs of failures in $logs)"
((failed_passes == 0))
