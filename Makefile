# The two commands of the README:
#   make run    installs what is missing, builds, and runs the quickstart comparison
#   make test   installs what is missing, builds, and runs the whole test suite
# and those of its development section:
#   make stress the threads-runtime tests PASSES times with LOAD busy loops on the cores
#   make asan   the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (-O1)
#   make tsan   every in-process test under ThreadSanitizer (-O1)
#   make tsan-threads  the threads-runtime test programs under ThreadSanitizer (CI)
#   make fuzz   the libFuzzer harnesses of fuzz/ with clang, each for FUZZ_SECONDS
# and CI's stages beyond the tests (.ci/run):
#   make reproduce-quick  every study at quick scale; fails when one that reproduced stops
BUILD ?= build
JOBS ?= $(shell nproc)
PASSES ?= 100
LOAD ?= $(shell nproc)
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
# The tests that start MPI processes (mpiexec and the herd CLI under it): not in-process.
MPI_TESTS = mpi|Mpi

.PHONY: all deps build run test bench format clean stress asan tsan tsan-configure tsan-threads \
  fuzz reproduce-quick
all: build

deps:
	@bash tools/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release > $(BUILD).configure.log 2>&1 \
	  || (cat $(BUILD).configure.log; exit 1)
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/herd run examples/quickstart.toml --out runs/quickstart --force

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: build
	./$(BUILD)/bench/bench_local_sgd --benchmark_enable_random_interleaving=true \
	  --benchmark_report_aggregates_only=true

# The science as a regression test: every study of studies/ at quick scale (a few minutes),
# from scratch, then the check that those listed in studies/reproduced-at-quick-scale still
# reproduce.
reproduce-quick: build
	rm -rf $(BUILD)/reproduce-quick
	./$(BUILD)/herd reproduce all --scale quick --out $(BUILD)/reproduce-quick --quiet
	python3 tools/check_reproduced.py $(BUILD)/reproduce-quick/index.json \
	  studies/reproduced-at-quick-scale

stress: build
	bash tools/stress.sh $(BUILD) $(PASSES) $(LOAD)

# Each sanitizer build has its own directory, -O1 with debug information and assertions
# (the speed the sanitizers' authors recommend; -O0 runs the suite about twice as long); the
# benchmarks and the Python module (whose interpreter is not instrumented) are left out.
# SANITIZE_TORCH=OFF leaves out the LibTorch models and their tests too (CI: .ci/run).
SANITIZE_TORCH ?= ON
SANITIZE_CONFIGURE = -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g" \
  -DHERD_BUILD_BENCH=OFF -DHERD_WITH_PYTHON=OFF -DHERD_WITH_TORCH=$(SANITIZE_TORCH)
asan: deps
	@cmake -S . -B $(ASAN_BUILD) $(SANITIZE_CONFIGURE) -DHERD_SANITIZE=address,undefined \
	  > $(ASAN_BUILD).configure.log 2>&1 || (cat $(ASAN_BUILD).configure.log; exit 1)
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

tsan-configure: deps
	@cmake -S . -B $(TSAN_BUILD) $(SANITIZE_CONFIGURE) -DHERD_SANITIZE=thread \
	  > $(TSAN_BUILD).configure.log 2>&1 || (cat $(TSAN_BUILD).configure.log; exit 1)

# Every in-process test (all but the MPI ones: Open MPI is not built with ThreadSanitizer).
tsan: tsan-configure
	@cmake --build $(TSAN_BUILD) -j $(JOBS)
	ctest --test-dir $(TSAN_BUILD) --output-on-failure -j $(JOBS) -E '$(MPI_TESTS)'

# The test programs whose ranks are threads (tools/stress.sh's list), built and run once.
tsan-threads: tsan-configure
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(shell bash tools/stress.sh --programs)
	bash tools/stress.sh $(TSAN_BUILD) 1 0

# The harnesses alone (fuzz/CMakeLists.txt): clang, -O1 with assertions, instrumented for
# libFuzzer, ASan and UBSan; no torch, Python, tests or benchmarks.
fuzz:
	@bash tools/install-deps.sh fuzz
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g" \
	  -DHERD_FUZZ=ON -DHERD_WITH_TORCH=OFF -DHERD_WITH_PYTHON=OFF -DHERD_BUILD_BENCH=OFF \
	  -DHERD_BUILD_TESTS=OFF > $(FUZZ_BUILD).configure.log 2>&1 \
	  || (cat $(FUZZ_BUILD).configure.log; exit 1)
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	bash tools/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(BUILD).configure.log runs $(ASAN_BUILD) $(ASAN_BUILD).configure.log \
	  $(TSAN_BUILD) $(TSAN_BUILD).configure.log $(FUZZ_BUILD) $(FUZZ_BUILD).configure.log
