#pragma once
// One algorithm on one problem with K ranks, on a runtime: the part of a run that the CLI
// driver, the tests and the benchmarks share.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "herd/algo/algorithm.hpp"
#include "herd/algo/checkpoint.hpp"
#include "herd/algo/monitor.hpp"
#include "herd/comm/communicator.hpp"

namespace herd::algo {

// A runtime runs a per-rank program on `ranks` ranks (comm::run_threads is one).
using Runtime = std::function<void(int ranks, const std::function<void(comm::Communicator&)>&)>;

struct JobSpec {
  const model::Problem* problem = nullptr;
  std::string algorithm;
  int workers = 1;
  std::uint64_t seed = 0;
  AlgoSettings settings;
  optim::OptimizerSpec optimizer;
  optim::ScheduleSpec schedule;
  MonitorShared monitor;
  // Optional per-worker starting points (e.g. mirror-image starts on a symmetric landscape);
  // by default every rank starts at problem->initial_point().
  std::function<void(int worker, Span x)> worker_start;
  // Checkpoints and resumption (checkpoint.hpp); none by default.
  CheckpointSettings checkpoint;
};

struct JobResult {
  std::vector<std::vector<float>> final_x;  // every rank's parameters at the end (rank order)
  MetricsRow last;                          // the last evaluation (rank 0's record)
  std::string stop_reason;
};

// Runs the job; on failure `partial` (when given) receives what was recorded before the
// exception is rethrown.
JobResult run_job(const JobSpec& spec, const Runtime& runtime, JobResult* partial = nullptr);

}  // namespace herd::algo
