#pragma once
// One algorithm on one problem with K ranks, on a runtime: the part of a run that the CLI
// driver, the tests and the benchmarks share.
#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "herd/algo/algorithm.hpp"
#include "herd/algo/checkpoint.hpp"
#include "herd/algo/monitor.hpp"
#include "herd/algo/registry.hpp"
#include "herd/comm/communicator.hpp"

namespace herd::algo {

// A runtime runs a per-rank program on `ranks` ranks (comm::run_threads is one).
using Runtime = std::function<void(int ranks, const std::function<void(comm::Communicator&)>&)>;

struct JobSpec {
  const model::Problem* problem = nullptr;
  std::string algorithm;
  int workers = 1;
  std::uint64_t seed = 0;
  // The algorithm's options given explicitly, by key (options["algo.period"] = 4); every
  // other option of the algorithm takes its declared default. run_job validates them against
  // the options (InvalidInput naming the key) and the algorithm's rules before any rank
  // starts; keys that only other algorithms read are ignored.
  OptionValues options;
  // Known compute time per worker (the cluster's fixed-computation model), for the
  // algorithms that use it (rescaled_asgd); empty when there is none.
  std::vector<double> worker_tau;
  optim::OptimizerSpec optimizer;
  optim::ScheduleSpec schedule;
  MonitorShared monitor;
  // Optional per-worker starting points (e.g. mirror-image starts on a symmetric landscape);
  // by default every rank starts at problem->initial_point().
  std::function<void(int worker, Span x)> worker_start;
  // Checkpoints and resumption (checkpoint.hpp); none by default.
  CheckpointSettings checkpoint;

  // options[key] = value, with integers as std::int64_t, floating point as double and text
  // as std::string: set("algo.period", 4), set("algo.outer_optimizer", "nesterov").
  template <class T>
  JobSpec& set(std::string_view key, const T& value) {
    if constexpr (std::same_as<T, bool>)
      options[std::string(key)] = value;
    else if constexpr (std::integral<T>)
      options[std::string(key)] = static_cast<std::int64_t>(value);
    else if constexpr (std::floating_point<T>)
      options[std::string(key)] = static_cast<double>(value);
    else
      options[std::string(key)] = std::string(value);
    return *this;
  }
};

// The job's algorithm: its typed settings made from spec.options, resolved against the job
// and checked. InvalidInput as prepare_algorithm (registry.hpp).
PreparedAlgorithm prepare_algorithm(const JobSpec& spec);

struct JobResult {
  std::vector<std::vector<float>> final_x;  // every rank's parameters at the end (rank order)
  MetricsRow last;                          // the last evaluation (rank 0's record)
  std::string stop_reason;
};

// What a checkpoint of this job records of it (checkpoint.hpp): algorithm, problem, workers,
// ranks (a server's included), dimension, seed. spec.problem must be set.
JobIdentity job_identity(const JobSpec& spec);

// Runs the job (prepare_algorithm first, so a refused job starts no rank); on failure `partial`
// (when given) receives what was recorded before the exception is rethrown.
JobResult run_job(const JobSpec& spec, const Runtime& runtime, JobResult* partial = nullptr);

}  // namespace herd::algo
