#pragma once
// Evaluation and stopping, collectively: every rank calls the monitor at the same steps;
// rank 0 evaluates the reported models on the full problem, records a metrics row and
// decides whether to stop, and every rank learns the decision. Evaluation traffic is not
// metered, and its duration is not counted in the reported time.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "herd/algo/metrics.hpp"
#include "herd/algo/target.hpp"
#include "herd/comm/communicator.hpp"
#include "herd/core/kernels.hpp"
#include "herd/model/problem.hpp"

namespace herd::algo {

class Worker;

// Stop at the first evaluation that meets `target`, giving `reason` as the stop reason.
struct StopTarget {
  Target target;
  std::string reason;  // "target" (stop.target), "target_loss", "target_suboptimality"
};

struct StopRule {
  std::int64_t max_steps = 0;       // local steps per worker (required > 0)
  double max_time = 0;              // seconds; 0 = none (checked at evaluations)
  std::vector<StopTarget> targets;  // checked at evaluations, in order
};

// A model an algorithm wants evaluated: the mean of all ranks' `x` (the average model of
// Local SGD), or rank `rank`'s `x` (a leader, a server).
struct ReportedModel {
  std::string name;  // "average", "weighted_average", "leader", "center", ...
  CSpan x;
  bool average_over_ranks = true;
  int rank = 0;
};

struct MonitorShared {
  const model::Problem* problem = nullptr;
  std::optional<double> f_star;
  std::size_t train_rows = 0;  // for the epoch count (0: epochs not reported)
  StopRule stop;
  std::int64_t eval_every = 1;
  MetricsSink* sink = nullptr;  // rank 0 records here
};

class Monitor {
 public:
  explicit Monitor(const MonitorShared& shared) : shared_(shared) {}
  // Before step t (0-based): false once the run must end.
  bool keep_going(std::int64_t t) const { return !stopped_ && t < shared_.stop.max_steps; }
  // After `steps_done` steps: is an evaluation due (the same answer on every rank)?
  bool due(std::int64_t steps_done) const {
    return steps_done % shared_.eval_every == 0 || steps_done == shared_.stop.max_steps;
  }
  // Collective. models[0] is the model the algorithm is judged by; the others are reported
  // beside it as "<name>_loss" and "<name>_suboptimality".
  void evaluate(Worker& w, std::int64_t steps_done, std::span<const ReportedModel> models,
                const MetricsRow& extra = {});

  // Where a run stands at an evaluation.
  struct Counters {
    double time = 0;          // set by the monitor (evaluation time excluded)
    std::int64_t steps = 0;   // synchronous: steps per worker; server: server updates
    std::uint64_t grads = 0;  // samples whose gradient was computed, all workers
    std::int64_t rounds = 0;  // communication rounds (server: messages exchanged)
    std::uint64_t bytes = 0;  // bytes sent, all ranks
  };
  // Not collective: one rank (a parameter server) evaluates its own x, records the row and
  // returns whether the run must stop. For asynchronous algorithms, whose workers never
  // meet; the server tells its workers to stop.
  bool record(comm::Communicator& c, const Counters& counters, CSpan x, const std::string& name,
              const MetricsRow& extra = {});
  bool stopped() const { return stopped_; }
  const std::string& stop_reason() const;
  const MetricsRow& last_row() const;
  // Rows recorded so far (rank 0; a server).
  std::int64_t rows_recorded() const { return rows_recorded_; }
  // Time this rank spent outside the algorithm (writing a checkpoint): not reported either.
  void exclude_time(double seconds) { excluded_seconds_ += seconds; }

  // Checkpoints: what a resumed monitor needs to record the rows the uninterrupted run
  // would have recorded, with the same times.
  struct State {
    std::int64_t rows_recorded = 0;
    double excluded_seconds = 0;  // evaluation and checkpoint time so far
    double clock = 0;             // now() when saved
    bool stopped = false;
    std::string stop_reason;
    MetricsRow last_row;
  };
  State save_state(const comm::Communicator& c) const;
  // After the runtime's clock was restored: reported times continue from the saved ones even
  // where the runtime cannot restore its clock.
  void restore_state(const State& s, const comm::Communicator& c);
  // The same as bytes.
  void save(ByteWriter& out, const comm::Communicator& c) const;
  void load(ByteReader& in, const comm::Communicator& c);

 private:
  struct NamedModel {
    std::string name;
    CSpan x;
  };
  // Rank 0: evaluates the models, records the row, returns the stop decision.
  bool assess(const Counters& at, std::span<const NamedModel> models,
              std::optional<double> consensus, const MetricsRow& extra);

  // What an evaluation leaves, made at the first: the workers of a parameter server never
  // evaluate (100,000 simulated workers: 72 bytes each).
  struct Records {
    std::string stop_reason;
    MetricsRow last_row;
    std::vector<std::vector<float>> buffers;  // the combined models
  };
  Records& records();

  const MonitorShared& shared_;
  bool stopped_ = false;
  double excluded_seconds_ = 0;  // time spent evaluating (or checkpointing), not reported
  std::int64_t rows_recorded_ = 0;
  std::unique_ptr<Records> records_;
};

// Bytes per communication round: bytes over rounds (0 before the first round).
inline double bytes_per_round(double bytes, std::int64_t rounds) {
  return rounds > 0 ? bytes / double(rounds) : 0.0;
}
// Collective and unmetered: the bytes every rank of `c` has sent so far, summed.
double bytes_sent_by_all(comm::Communicator& c);

}  // namespace herd::algo
