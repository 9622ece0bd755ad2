#pragma once
// What one rank of an algorithm works with: its communicator, its stochastic oracle, its
// local optimizer and parameters, and the monitor that evaluates and decides when to stop.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "herd/algo/algo_state.hpp"
#include "herd/algo/monitor.hpp"
#include "herd/comm/communicator.hpp"
#include "herd/model/problem.hpp"
#include "herd/optim/optimizer.hpp"
#include "herd/optim/schedule.hpp"

namespace herd::algo {

class Checkpointer;

class Worker {
 public:
  // objective is null on a parameter server's rank, which computes no gradients.
  Worker(comm::Communicator& comm, model::LocalObjective* objective,
         optim::LocalOptimizer& optimizer, const optim::Schedule& schedule, Monitor& monitor,
         CSpan x0);

  comm::Communicator& comm;
  model::LocalObjective* objective;
  optim::LocalOptimizer& optimizer;
  const optim::Schedule& schedule;
  Monitor& monitor;
  std::vector<float> x;  // this worker's parameters
  std::vector<float> g;  // gradient buffer

  // g <- a stochastic gradient at x. Declares the work to the runtime, counts it, and
  // throws Diverged on a non-finite loss, naming the worker and step.
  double compute_gradient(std::int64_t step);
  // The same, abandoned when a message with `interrupt_tag` arrives before the work is done
  // (comm::Communicator::compute): returns false and counts nothing; g is then meaningless.
  bool compute_gradient_unless(std::int64_t step, int interrupt_tag);
  // One local optimizer step with the scheduled step size eta_t.
  void local_step(std::int64_t step) { optimizer.step(x, g, float(schedule.at(step))); }
  // x <- mean over the ranks of `c` of x: one communication round. Only the first
  // `averaged_dim` entries are averaged; the rest stay this worker's own.
  void average(comm::Communicator& c);
  // The leading entries of x that average() averages: all of them, unless the problem keeps
  // some model state per worker (model::Problem::averaged_dim; run_job sets it).
  std::size_t averaged_dim;

  // Which worker this rank is (its data shard); -1 on a server rank.
  int worker_index() const { return worker_index_; }
  void set_worker_index(int k) { worker_index_ = k; }

  std::int64_t rounds = 0;      // communication rounds taken
  std::uint64_t gradients = 0;  // samples whose gradient this worker computed
  double last_loss = 0;         // last minibatch loss

  // Checkpoints. The algorithm registers its own state here before its loop starts; the
  // loop helpers (sync_loop.hpp, server_channel.hpp) save and restore it with the rest.
  AlgoState algo_state;
  // This rank's side of the job's checkpoints, set by run_job when they are configured.
  Checkpointer* checkpointer = nullptr;
  // The rank's whole state: x, the optimizer's, the oracle's, the counters, the runtime's
  // (clock, traffic), the monitor's and the algorithm's. load() names `owner` ("checkpoint
  // F: rank 3") in its errors.
  void save(ByteWriter& out) const;
  void load(ByteReader& in, const std::string& owner);

 private:
  [[noreturn, gnu::noinline, gnu::cold]] void diverged(std::int64_t step) const;
  int worker_index_ = 0;
};

}  // namespace herd::algo
