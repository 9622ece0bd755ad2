#pragma once
// The asynchronous parameter-server family (asynchronous SGD and its rescaled, delay-adaptive,
// Ringmaster, IA2SGD, Malenia, Rennala and Ringleader variants; asynchronous Local SGD), written
// once as a per-rank program over the communicator: rank 0 (server_rank) runs the server loop,
// ranks 1..K the worker loop. An algorithm is a ServerPolicy (what the server does with a result
// that arrives) and a WorkerTask (what a worker computes from the model it holds).
//
// Protocol (over server_channel.hpp). The server sends worker i a model message: the current
// x with its version (the number of server updates when it was sent), or the version alone
// when the worker already holds that x. The worker computes one result at it, sends it back
// with the version it was computed at and waits for its next model message, so it never
// has more than one result outstanding and the server's mailbox holds at most K of them.
// After each arrival the server answers the worker (the new x, or the version alone when x
// has not changed) unless it has already sent it a newer model. A model message that
// reaches a busy worker (a restart) interrupts it: the work in progress is dropped and the
// worker starts over at the new x. The stop and its acknowledgements are the channel's.
//
// The server evaluates its own x (Monitor::record) at the start and every eval_every updates;
// each row carries, beside the common counters:
//   updates          worker k's results the server used, "n_0,n_1,...,n_{K-1}"
//   updates_min/max  the smallest and largest of them
//   discarded        results dropped (too stale, or computed at a model already replaced)
//   delay_mean/max   staleness of the used results: server updates between the model's
//                    sending and the result's arrival
//   idle_fraction    share of the workers' time spent waiting for the server's answer
//   wasted_fraction  share of the workers' time spent on work that a restart interrupted
// and the policy's own fields (ServerPolicy::report). Counters: steps = server updates,
// grads = samples whose gradients the workers completed (as last reported), rounds =
// results the server received, bytes = what the server sent plus what it received, headers
// included (12 bytes server to worker, 28 back).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/algo/algorithm.hpp"
#include "herd/algo/metrics.hpp"
#include "herd/algo/server_channel.hpp"
#include "herd/algo/worker.hpp"

namespace herd::algo {

// One result as the server receives it.
struct Arrival {
  int worker = 0;            // 0..K-1
  std::int64_t version = 0;  // server updates when the model it was computed at was sent
  std::int64_t delay = 0;    // staleness: server updates since then
  CSpan payload;             // a gradient, or the delta of a worker's local steps
};

class ParameterServer;

// What the server does with an arrival.
class ServerPolicy {
 public:
  virtual ~ServerPolicy() = default;
  // Updates x through the server (descend, or commit after changing x()) and may restart
  // workers (send_model); returns false when the arrival was discarded.
  virtual bool on_arrival(ParameterServer& s, const Arrival& a) = 0;
  // Called for every model message the server sends (to track what workers compute at).
  virtual void on_sent(int worker, std::int64_t version) { (void)worker, (void)version; }
  // Algorithm-specific fields of an evaluation row.
  virtual void report(MetricsRow& row) const { (void)row; }
  // Checkpoints: registers the policy's own state (tables, buffers, counters).
  virtual void keep_in(AlgoState& state) { (void)state; }
};

// What a worker computes from the model it holds in w.x.
class WorkerTask {
 public:
  virtual ~WorkerTask() = default;
  // One result, or nullopt when a message with `interrupt_tag` cut the work short. Either
  // way w.x is the model it started from when it returns.
  virtual std::optional<CSpan> run(Worker& w, std::int64_t job, int interrupt_tag) = 0;
  // After a resume from the server's checkpoint, with w.gradients restored.
  virtual void resume(const Worker& w) { (void)w; }
};

// The server's state as a policy sees it, and the server loop.
class ParameterServer {
 public:
  explicit ParameterServer(Worker& server);

  int workers() const { return workers_; }
  std::size_t dim() const { return w_.x.size(); }
  // Server updates so far (k); gamma() = schedule.at(k) is the step size of the next one.
  std::int64_t step() const { return step_; }
  double gamma() const { return w_.schedule.at(step_); }
  Span x() { return w_.x; }
  double now() const { return w_.comm.now(); }
  double start_time() const { return start_time_; }

  // One update: x <- the optimizer's step on `direction` with step size lr (optim.name = sgd:
  // x <- x - lr direction), then commit().
  void descend(CSpan direction, double lr);
  // The policy changed x() itself: counts one update (and schedules the evaluation).
  void commit();
  // Sends worker k the current x now (a restart when it is computing).
  void send_model(int worker);
  // The version of the last model sent to worker k.
  std::int64_t sent_version(int worker) const { return sent_version_[std::size_t(worker)]; }

  // Runs the server until the monitor stops the job; every worker has ended when it returns.
  void serve(ServerPolicy& policy);

 private:
  bool start_checkpoints(ServerPolicy& policy);
  void evaluate();

  Worker& w_;
  ServerEnd channel_;
  int workers_;
  ServerPolicy* policy_ = nullptr;
  double start_time_ = 0;
  std::int64_t step_ = 0;
  bool evaluation_due_ = false;
  std::vector<std::int64_t> sent_version_;
  std::vector<float> scratch_;

  // Per worker (one vector per field, as checkpoints keep them); its samples completed,
  // idle and wasted seconds are the channel's (ServerEnd::last_from).
  std::vector<std::int64_t> used_;
  std::vector<double> seen_;  // seconds since the start at its last arrival
  std::int64_t received_ = 0, discarded_ = 0;
  double delay_sum_ = 0;
  std::int64_t delay_max_ = 0;
};

// A parameter-server algorithm: a policy for the server, a task for the workers. The
// algorithms of the family register themselves (registry.hpp, with needs_server) from the
// files of their policies: ps_asgd.cpp, ps_buffered.cpp, ps_local_sgd.cpp.
class ParameterServerAlgorithm final : public Algorithm {
 public:
  using PolicyFactory = std::function<std::unique_ptr<ServerPolicy>(const ParameterServer&)>;
  using TaskFactory = std::function<std::unique_ptr<WorkerTask>(const Worker&)>;
  ParameterServerAlgorithm(PolicyFactory policy, TaskFactory task)
      : policy_(std::move(policy)), task_(std::move(task)) {}
  void run(Worker& w) const override;

 private:
  PolicyFactory policy_;
  TaskFactory task_;
};

}  // namespace herd::algo
