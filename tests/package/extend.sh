#!/usr/bin/env bash
# The C++ package: installs this build into a temporary prefix, builds examples/extend against
# it (find_package(herd), herd::herd), runs the example's algorithm on its model on the threads,
# sim and mpi (np = 2) runtimes and checks what they wrote; then the installed herd program,
# bash completion and Python module.
#   tests/package/extend.sh BUILD_DIR SOURCE_DIR MPIEXEC PYTHON
set -euo pipefail
build=$1 source=$2 mpiexec=$3 python=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/herd-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
cmake -S "$source/examples/extend" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
nice cmake --build "$work/build" > "$work/build.log" || { cat "$work/build.log"; exit 1; }

app=$work/build/herd_extend
config=$source/examples/extend/extend.toml
for runtime in threads sim; do
  "$app" run "$config" run.runtime=$runtime run.progress=none --out "$work/$runtime" > /dev/null
done
"$mpiexec" --allow-run-as-root --oversubscribe -np 2 \
  "$app" run "$config" run.runtime=mpi run.progress=none --out "$work/mpi" > /dev/null

"$python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
summaries = {r: json.load(open("%s/%s/summary.json" % (work, r))) for r in ("threads", "sim", "mpi")}
for runtime, s in summaries.items():
    final = s["final"]
    assert s["status"] == "ok" and s["algorithm"] == "doubling_sgd", s
    # Averaging after steps 1, 2, 4, ..., 128 of 200: 8 rounds; from 10 to near F* = 0.
    assert final["rounds"] == 8 and final["step"] == 200, final
    assert final["suboptimality"] < 1e-3, final
    print("%-7s rounds %d  suboptimality %.3e  parameters %s"
          % (runtime, final["rounds"], final["suboptimality"], s["parameters_crc32"]))
# A synchronous algorithm ends with the same parameters on every runtime, bit for bit.
assert len({s["parameters_crc32"] for s in summaries.values()}) == 1, summaries
PY

# The installed program, its completion, and the installed Python module.
"$prefix/bin/herd" config --keys > "$work/keys"
grep -q "^algo.name .*local_sgd" "$work/keys"
# The application's additions are in its own option table, not in herd's.
"$app" config --keys > "$work/app_keys"
grep -q "^algo.name .*doubling_sgd" "$work/app_keys"
grep -q "^model.sphere_dim" "$work/app_keys"
if grep -q "doubling_sgd" "$work/keys"; then echo "herd itself lists doubling_sgd"; exit 1; fi
test -f "$prefix/share/bash-completion/completions/herd"
test -f "$prefix/lib/cmake/herd/herdConfig.cmake" || test -f "$prefix"/lib/*/cmake/herd/herdConfig.cmake
if [ -d "$prefix/lib/python3/dist-packages/herd" ]; then
  PYTHONPATH="$prefix/lib/python3/dist-packages" "$python" -c \
    "import herd; assert 'local_sgd' in herd.algorithms(); print('installed module:', herd.__file__)"
fi
echo "package: examples/extend built against $prefix and ran on threads, sim and mpi"
