#pragma once
// Checkpoints: every rank's state in one file, written every N communication rounds and at
// the end of a run, from which a job resumes as if it had never stopped.
//
// What is kept, per rank: x, the local optimizer's velocity, the oracle's sampler and RNG
// positions, the worker's counters (rounds, gradients, last loss), the step to continue at,
// the traffic counters, the runtime's clock and compute-noise stream, the monitor's state
// (rows recorded, excluded time, stop decision, last row), and the algorithm's own buffers,
// registered by name in Worker::algo_state. Rank 0 also writes the job's identity
// (algorithm, problem, workers, ranks, dimension, seed): resuming another job is an
// InvalidInput.
//
// Synchronous algorithms checkpoint at a consistent cut: after a step's communication and
// evaluation, when every rank holds the state the next step starts from. Resuming from it
// continues the same computation bit for bit (same reductions in the same order, same
// samples, same clocks on the simulator), and the resumed run records exactly the
// evaluations after the checkpoint's step: truncating the metrics file to
// CheckpointInfo::rows_recorded rows and appending the resumed run's rows gives the
// uninterrupted run's rows.
//
// The parameter-server family has no such cut: at any moment results are in flight and
// workers are part-way through gradients at models of different ages. The server alone
// checkpoints, every N results received and at the end, without stopping anyone: x, its
// optimizer, its policy's tables, its counters, clock and monitor. A resume restores the
// server; every worker restarts from the server's x with its counters as the server last
// heard them, a fresh optimizer state and a fresh stretch of its sample stream (the
// resume's generation selects it, so no minibatch of the interrupted run is drawn again).
// It is NOT bit-exact: the results in flight and the work in progress at the checkpoint are
// lost, the workers' optimizer states and sampler positions are not the ones they had, and
// the arrival order after the resume is not the one the uninterrupted run would have had.
// The evaluations are still recorded once each, at the steps the uninterrupted run would
// have recorded them.
//
// A synchronous algorithm supports checkpoints with three additions to its run(): it registers its
// own state (w.algo_state.add(...)), starts at w.first_step() (skipping its initial evaluation when
// that is not 0), and calls w.checkpoint_if_due(steps_done) after each step's evaluation.
// Configuring checkpoints for an algorithm that lacks them fails at its first evaluation or
// recorded row (InvalidInput), never silently.
//
// File format (integers little-endian, floats as IEEE bits):
//   "HERDCKPT", u32 version, header, u64 records (one per rank, or the server's alone),
//   per record (u64 length, bytes), u32 crc32 of everything before it.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace herd::algo {

class Worker;

struct CheckpointSettings {
  std::filesystem::path file;  // empty: no checkpoints
  std::int64_t every = 0;      // communication rounds between checkpoints; 0: at the end only
  bool resume = false;         // continue from `file` instead of starting afresh
};

// What must match for a checkpoint to resume a job.
struct JobIdentity {
  std::string algorithm;
  std::string problem;  // Problem::describe()
  int workers = 0, ranks = 0;
  std::uint64_t dim = 0, seed = 0;
};

// What the driver can learn of a checkpoint before running anything.
struct CheckpointInfo {
  JobIdentity job;
  std::int64_t step = 0;           // steps done per worker
  std::int64_t rounds = 0;         // communication rounds done
  std::int64_t rows_recorded = 0;  // metric rows recorded: the metrics file keeps this many
  double time = 0;                 // the reported time at the checkpoint (seconds)
  bool stopped = false;            // the monitor had decided to stop (a target was met)
  std::string stop_reason;
  bool server_only = false;  // a parameter server's state alone (not bit-exact; see above)
};

// Reads and verifies a checkpoint (magic, version, checksum): IoError naming the file when
// it cannot be read or is truncated or corrupt.
CheckpointInfo read_checkpoint_info(const std::filesystem::path& file);

// An algorithm's own state beyond the Worker's (x, optimizer, oracle, counters), registered
// by name at the start of run(). The references must outlive the algorithm's checkpoints;
// a resume restores every registered entry, vectors with their saved lengths.
class AlgoState {
 public:
  using Ref = std::variant<std::vector<float>*, std::vector<double>*, std::vector<std::int64_t>*,
                           double*, std::int64_t*, std::size_t*, int*>;
  AlgoState& add(std::string name, std::vector<float>& v) { return put(std::move(name), &v); }
  AlgoState& add(std::string name, std::vector<double>& v) { return put(std::move(name), &v); }
  AlgoState& add(std::string name, std::vector<std::int64_t>& v) {
    return put(std::move(name), &v);
  }
  AlgoState& add(std::string name, double& v) { return put(std::move(name), &v); }
  AlgoState& add(std::string name, std::int64_t& v) { return put(std::move(name), &v); }
  AlgoState& add(std::string name, std::size_t& v) { return put(std::move(name), &v); }
  AlgoState& add(std::string name, int& v) { return put(std::move(name), &v); }

  const std::vector<std::pair<std::string, Ref>>& entries() const { return entries_; }

 private:
  AlgoState& put(std::string name, Ref ref);  // InvalidInput on a repeated name
  std::vector<std::pair<std::string, Ref>> entries_;
};

// One rank's side of a job's checkpoints; run_job makes one per rank when checkpoints are
// configured, and the Worker drives it.
class Checkpointer {
 public:
  Checkpointer(CheckpointSettings settings, JobIdentity identity);

  // Collective. Resuming: rank 0 reads the file, every rank restores its state (after the
  // algorithm registered its own) and gets the step to continue at. Otherwise 0.
  std::int64_t first_step(Worker& w);
  // Collective. Writes a checkpoint when `every` rounds have passed since the last one or
  // the run ends after `steps_done` steps.
  void checkpoint_if_due(Worker& w, std::int64_t steps_done);
  // Not collective: a parameter server's checkpoint of its own state, written when `every`
  // results have arrived since the last one (`rounds`: results received) or the run ends.
  void checkpoint_server_if_due(Worker& server, std::int64_t steps_done, std::int64_t rounds);
  // InvalidInput unless first_step() was called: the algorithm supports checkpoints.
  void require_started() const;
  bool resuming() const { return settings_.resume; }

 private:
  bool due(const Worker& w, std::int64_t steps_done, std::int64_t rounds) const;
  void write(Worker& w, std::int64_t steps_done);

  CheckpointSettings settings_;
  JobIdentity identity_;
  bool started_ = false;
  std::int64_t last_rounds_ = -1;  // rounds at the last checkpoint (written or resumed)
};

}  // namespace herd::algo
