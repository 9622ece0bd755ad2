#pragma once
// What one rank of an algorithm works with: its communicator, its stochastic oracle, its
// local optimizer and parameters, and the monitor that evaluates and decides when to stop.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "herd/algo/checkpoint.hpp"
#include "herd/algo/monitor.hpp"
#include "herd/comm/communicator.hpp"
#include "herd/model/problem.hpp"
#include "herd/optim/optimizer.hpp"
#include "herd/optim/schedule.hpp"

namespace herd::algo {

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
  // x <- mean over the ranks of `c` of x: one communication round.
  void average(comm::Communicator& c);

  // Which worker this rank is (its data shard); -1 on a server rank.
  int worker_index() const { return worker_index_; }
  void set_worker_index(int k) { worker_index_ = k; }

  std::int64_t rounds = 0;      // communication rounds taken
  std::uint64_t gradients = 0;  // samples whose gradient this worker computed
  double last_loss = 0;         // last minibatch loss

  // Checkpoints (checkpoint.hpp); without a checkpointer (none configured) first_step() is 0
  // and checkpoint_if_due() does nothing.
  AlgoState algo_state;  // the algorithm's own state, registered before first_step()
  // Collective: the step to start at, 0 unless the job resumes (then everything is restored).
  std::int64_t first_step() { return checkpointer_ ? checkpointer_->first_step(*this) : 0; }
  // Collective: after the step's evaluation, with the steps done so far.
  void checkpoint_if_due(std::int64_t steps_done) {
    if (checkpointer_) checkpointer_->checkpoint_if_due(*this, steps_done);
  }
  Checkpointer* checkpointer() const { return checkpointer_; }
  // The worker drives `c`, and its monitor refuses to evaluate before `c` started.
  void set_checkpointer(Checkpointer* c) {
    checkpointer_ = c;
    monitor.watch_checkpoints(c);
  }

 private:
  int worker_index_ = 0;
  Checkpointer* checkpointer_ = nullptr;
};

}  // namespace herd::algo
