// The in-process allreduce of the threads runtime (2 ranks, allreduce mean) against memcpy
// on this machine, for the sizes of bench_mpi.cpp. No MPI.
//
// Each iteration runs R allreduces on run_threads(2) (timed by rank 0 between two barriers,
// so starting the threads is not counted) and R memcpy of the same d floats, so both see the
// same load. Bandwidths are 4 d bytes / time; inproc_vs_memcpy is the allreduce's bandwidth
// over memcpy's. The allreduce moves more than one copy: each rank reads both inputs of its
// half (d floats in all), writes its half of the shared result, then copies the whole result
// (d floats) into its buffer, both ranks at once.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "herd/comm/threads.hpp"

namespace {

using namespace herd;
using Clock = std::chrono::steady_clock;

std::int64_t repeats(std::int64_t d) {
  return std::clamp<std::int64_t>(20'000'000 / d, 2, 2'000);
}

void InprocAllreduceMean(benchmark::State& state) {
  const auto d = std::size_t(state.range(0));
  const std::int64_t R = repeats(state.range(0));
  std::vector<float> from(d, 1.0f), to(d);
  double inproc_s = 0, memcpy_s = 0;
  for (auto _ : state) {
    double this_run = 0;
    comm::run_threads(2, [&](comm::Communicator& c) {
      std::vector<float> x(d, 1.0f);
      c.barrier();
      const auto start = Clock::now();
      for (std::int64_t i = 0; i < R; ++i) c.allreduce(x, comm::ReduceOp::mean);
      c.barrier();
      if (c.rank() == 0) this_run = std::chrono::duration<double>(Clock::now() - start).count();
    });
    inproc_s += this_run;
    const auto start = Clock::now();
    for (std::int64_t i = 0; i < R; ++i) {
      std::memcpy(to.data(), from.data(), d * sizeof(float));
      benchmark::ClobberMemory();
    }
    memcpy_s += std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(this_run);
  }
  const double bytes = 4.0 * double(d) * double(R) * double(state.iterations());
  state.counters["inproc_GBps"] = bytes / inproc_s / 1e9;
  state.counters["memcpy_GBps"] = bytes / memcpy_s / 1e9;
  state.counters["inproc_vs_memcpy"] = memcpy_s / inproc_s;
  benchmark::DoNotOptimize(to.data());
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t d = 1000; d <= 10'000'000; d *= 10) b->Arg(d);
}
BENCHMARK(InprocAllreduceMean)->Apply(sizes)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
