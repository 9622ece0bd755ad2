#pragma once
// Checkpoints: every rank's state in one file, written every N communication rounds and at
// the end of a run, from which a job resumes as if it had never stopped. This is the
// orchestration alone: each component encodes its own state (Worker::save and what it
// calls: optimizer, oracle, runtime, monitor, AlgoState), core/bytes.hpp is the codec,
// core/durable_file.hpp the writer, and the loop helpers decide when (sync_loop.hpp for the
// synchronous algorithms, server_channel.hpp for those with a server). An algorithm only
// registers its own buffers in Worker::algo_state.
//
// Synchronous algorithms checkpoint at a consistent cut: after a step's communication and
// evaluation, when every rank holds the state the next step starts from. Resuming from it
// continues the same computation bit for bit (same reductions in the same order, same
// samples, same clocks on the simulator), and the resumed run records exactly the
// evaluations after the checkpoint's step: truncating the metrics file to
// CheckpointInfo::rows_recorded rows and appending the resumed run's rows gives the
// uninterrupted run's rows.
//
// Algorithms with a server have no such cut: at any moment messages are in flight and
// workers are part-way through work at models of different ages. The server alone
// checkpoints, every N rounds and at the end, without stopping anyone; a resume restores
// the server, and every worker restarts from the server's x with its counters as the
// server last heard them (server_channel.hpp). It is NOT bit-exact, but the evaluations
// are still recorded once each, at the steps the uninterrupted run would have recorded
// them.
//
// File format (integers little-endian, floats as IEEE bits):
//   "HERDCKPT", u32 version, header, u64 records (one per rank, or the server's alone),
//   per record (u64 length, bytes), u32 crc32 of everything before it.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "herd/core/bytes.hpp"

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
  bool server_only = false;  // a server's state alone (not bit-exact; see above)
};

// Reads and verifies a checkpoint (magic, version, checksum): IoError naming the file when
// it cannot be read or is truncated or corrupt.
CheckpointInfo read_checkpoint_info(const std::filesystem::path& file);

// InvalidInput naming every difference unless `saved` (the identity in checkpoint `file`) is
// `job`'s: a checkpoint resumes only the job that wrote it. Resuming checks it (first_step);
// a caller checks it earlier to refuse before writing anything.
void check_same_job(const JobIdentity& saved, const JobIdentity& job,
                    const std::filesystem::path& file);

// A checkpoint's bytes decoded: the header and each record (views into the bytes).
struct CheckpointContents {
  CheckpointInfo info;
  std::vector<ByteSpan> records;
};
// Decodes a whole checkpoint held in memory, as a resume does before restoring any rank:
// magic, version, checksum, header, the record count and every record, and nothing after
// them. IoError "<name>: ..." when the bytes are truncated or corrupt; `name` names the
// source in messages (name_of a file: "checkpoint runs/x/checkpoint.bin").
CheckpointContents decode_checkpoint(ByteSpan bytes, const std::string& name);

// One rank's side of a job's checkpoints; run_job makes one per rank when checkpoints are
// configured (Worker::checkpointer).
class Checkpointer {
 public:
  Checkpointer(CheckpointSettings settings, JobIdentity identity);

  // Collective. Resuming: rank 0 reads the file, every rank restores its state (after the
  // algorithm registered its own) and gets the step to continue at. Otherwise 0. A server's
  // checkpoint restores rank 0 alone; the other ranks get 0 (server_channel.hpp restarts
  // them).
  std::int64_t first_step(Worker& w);
  // Collective. Writes a checkpoint when `every` rounds have passed since the last one or
  // the run ends after `steps_done` steps.
  void checkpoint_if_due(Worker& w, std::int64_t steps_done);
  // Not collective: a server's checkpoint of its own state, written when `every` rounds
  // (results or exchanges received) have passed since the last one or the run ends.
  void checkpoint_server_if_due(Worker& server, std::int64_t steps_done, std::int64_t rounds);
  bool resuming() const { return settings_.resume; }
  // Whether first_step() ran: run_job checks that the algorithm's loop used checkpoints.
  bool started() const { return started_; }

 private:
  bool due(const Worker& w, std::int64_t steps_done, std::int64_t rounds) const;

  CheckpointSettings settings_;
  JobIdentity identity_;
  bool started_ = false;
  std::int64_t last_rounds_ = -1;  // rounds at the last checkpoint (written or resumed)
};

}  // namespace herd::algo
