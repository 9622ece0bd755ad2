#pragma once
// The run driver: from a resolved configuration to a finished run directory.
// Everything that can be wrong with the input (options, data files, shard sizes, stopping
// rules) is found by plan() before anything is written, so a refused run leaves no output.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "herd/algo/job.hpp"
#include "herd/algo/target.hpp"
#include "herd/data/dataset.hpp"
#include "herd/model/problem.hpp"
#include "herd/optim/optimizer.hpp"
#include "herd/optim/schedule.hpp"
#include "herd/run/cluster.hpp"
#include "herd/run/config.hpp"

namespace herd::run {

// A validated run, ready to execute: the problem is built and its data loaded.
struct RunPlan {
  Config config;
  std::string label;  // for tables, plots and summary.json
  std::shared_ptr<const data::Dataset> train, test;
  std::unique_ptr<model::Problem> problem;
  // Algorithm, workers, seed, knobs, optimizer, schedule, stopping and evaluation rules;
  // execute() adds the problem and the metrics sink.
  algo::JobSpec job;
  std::string runtime;  // run.runtime, as chosen (comm/runtimes.hpp)
  // Whether this process writes the outputs: on the mpi runtime every process runs the
  // driver, and only world rank 0 writes files and prints.
  bool writer = true;
  bool resume = false;                // continue from OUT/checkpoint.bin (see resume())
  double earlier_wall_seconds = 0;    // a resumed run's wall time before its checkpoint
  Cluster cluster;                    // compute, network and fault models ([cluster])
  std::string data_description;       // what was loaded, for the log and summary.json
  std::vector<algo::Target> targets;  // eval.target: reported, not stopping
};

// A target of eval.target and where the run first met it (none: never).
struct TargetResult {
  algo::Target target;
  std::optional<algo::TargetHit> hit;
};

struct RunResult {
  std::filesystem::path dir;
  std::string label, algorithm, stop_reason;
  // "ok", "diverged", "failed" (as summary.json says), or "incomplete" for a run directory
  // read back without a summary (a run that was killed).
  std::string status = "ok";
  std::string error;      // what failed, for "diverged" and "failed"
  algo::MetricsRow last;  // the final evaluation
  double wall_seconds = 0;
  std::vector<TargetResult> targets;  // one per eval.target, in order
  // CRC-32 of rank 0's final parameters (the server's x, or worker 0's), the same on every
  // runtime: equal fingerprints mean equal parameters, bit for bit.
  std::string parameters_crc32;
  // Those parameters themselves, for callers in the same process (the Python module); empty
  // when read back from a run directory or on the ranks other than 0 of an mpi job.
  std::vector<float> parameters;
};

// Validates the configuration and loads what it needs; InvalidInput names the key or file.
RunPlan plan(const Config& config, const std::string& label);

// Whether this process prints and writes outputs: false on the ranks other than 0 of a job
// started by mpirun (the mpi runtime runs the driver in every process).
bool is_output_process();

// This machine's memory, for the checks that refuse configurations that cannot fit.
double physical_memory_bytes();

// How a run reports its progress on the terminal.
enum class Progress { none, lines, bar };
Progress resolve_progress(const std::string& setting);  // "auto" looks at the terminal

// Executes the plan into out_dir (created if needed): config.toml, metrics.jsonl,
// summary.json. On failure summary.json records the error, then the error is rethrown.
// With checkpoints (run.checkpoint_every > 0), OUT/checkpoint.bin is rewritten every N rounds
// and at the end.
RunResult execute(RunPlan& plan, const std::filesystem::path& out_dir, Progress progress);

// Continues the run of `dir` (a run directory with config.toml, metrics.jsonl and
// checkpoint.bin) from its checkpoint, with `overrides` applied (e.g. a larger stop.steps):
// metrics.jsonl keeps the rows recorded up to the checkpoint and the resumed rows follow, so
// every evaluation appears exactly once. InvalidInput when the configuration no longer
// describes the checkpointed job; IoError when a file is missing or damaged.
RunResult resume(const std::filesystem::path& dir, const std::vector<std::string>& overrides,
                 Progress progress);

}  // namespace herd::run
