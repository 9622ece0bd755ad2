// Allreduce-mean bandwidth through MpiCommunicator against raw MPI_Allreduce on the same
// buffers: run with `mpiexec -np 2 ./bench_mpi` (add --allow-run-as-root as root and
// --oversubscribe for more ranks than cores).
//
// Each benchmark iteration runs, back to back on the same buffer of d floats, the raw
// MPI_Allreduce (+ the scaling by 1/P the mean needs), herd's ordered allreduce (alltoallv,
// rank-ordered sum, allgatherv: bit-reproducible) and herd's native one (MPI_Allreduce behind
// the communicator), each timed on its own, in an order that rotates from one iteration to
// the next; interleaving them exposes all three to the same machine load, so their ratio is
// meaningful on a noisy machine. Bandwidths are algorithm bandwidths, 4 d bytes / time
// (nccl-tests' "algbw"). The ratios are herd's bandwidth over raw MPI's: 1 means no overhead.
//
// Every rank runs the same collectives in lock-step: iteration counts are fixed (no
// estimation run), and only rank 0 reports. Do not use --benchmark_enable_random_interleaving
// (each rank would shuffle differently and the job would deadlock).
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "herd/comm/mpi.hpp"

namespace {

using namespace herd;

double timed(const std::function<void()>& op) {
  const double start = MPI_Wtime();
  op();
  return MPI_Wtime() - start;
}

void raw_allreduce_mean(std::vector<float>& x, int ranks) {
  MPI_Allreduce(MPI_IN_PLACE, x.data(), int(x.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  const float inv = 1.0f / float(ranks);
  for (float& v : x) v *= inv;
}

void AllreduceMean(benchmark::State& state) {
  const auto d = std::size_t(state.range(0));
  comm::MpiCommunicator ordered(MPI_COMM_WORLD, comm::MpiReduction::ordered);
  comm::MpiCommunicator native(MPI_COMM_WORLD, comm::MpiReduction::native);
  const int P = ordered.size();
  std::vector<float> x(d, 1.0f);  // the mean of equal buffers keeps them equal
  double raw_s = 0, ordered_s = 0, native_s = 0, herd_s = 0;
  const std::function<void()> ops[] = {
      [&] { raw_s += timed([&] { raw_allreduce_mean(x, P); }); },
      [&] { ordered_s += herd_s = timed([&] { ordered.allreduce(x, comm::ReduceOp::mean); }); },
      [&] { native_s += timed([&] { native.allreduce(x, comm::ReduceOp::mean); }); },
  };
  std::size_t first = 0;
  for (auto _ : state) {
    // Each variant goes first, second and third in turn: the one after another collective
    // starts with the ranks as skewed as that one left them.
    for (std::size_t i = 0; i < 3; ++i) ops[(first + i) % 3]();
    first = (first + 1) % 3;
    state.SetIterationTime(herd_s);  // the reported time: herd's default, ordered
  }
  const double bytes = 4.0 * double(d) * double(state.iterations());
  state.counters["raw_GBps"] = bytes / raw_s / 1e9;
  state.counters["ordered_GBps"] = bytes / ordered_s / 1e9;
  state.counters["native_GBps"] = bytes / native_s / 1e9;
  state.counters["ordered_vs_raw"] = raw_s / ordered_s;
  state.counters["native_vs_raw"] = raw_s / native_s;
  state.counters["ranks"] = P;
  benchmark::DoNotOptimize(x.data());
}

// Fixed iteration counts (about a second per size on a 2-core machine), one registration
// per size: Iterations() holds for a whole registration.
void register_sizes() {
  for (std::int64_t d = 1000; d <= 10'000'000; d *= 10)
    benchmark::RegisterBenchmark("AllreduceMean", AllreduceMean)
        ->Arg(d)
        ->Iterations(std::clamp<std::int64_t>(200'000'000 / d, 20, 20'000))
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
}

class SilentReporter final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  comm::mpi_initialize(&argc, &argv);
  const int rank = comm::mpi_world_rank();
  // Ranks other than 0 run the same benchmarks silently and write no output file.
  std::vector<char*> args(argv, argv + argc);
  if (rank != 0)
    std::erase_if(args, [](const char* a) { return std::strncmp(a, "--benchmark_out", 15) == 0; });
  int count = int(args.size());
  register_sizes();
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  if (rank == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    SilentReporter silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  return 0;
}
