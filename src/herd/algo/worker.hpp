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

// The knobs of the synchronous family (ALGORITHMS.md section 1).
struct AlgoSettings {
  std::int64_t period = 1;            // H: local steps between averaging rounds
  std::int64_t post_local_steps = 0;  // W: minibatch-SGD steps before local steps start
  int group_size = 0;                 // hierarchical averaging: groups of this many ranks
  std::int64_t global_period = 0;     // H2: global averaging period when groups are used
  bool outer_nesterov = false;        // DiLoCo outer step on the averaged pseudo-gradient
  float outer_lr = 0.7f;
  float outer_momentum = 0.9f;

  // Elastic averaging (ALGORITHMS.md 1.3): moving rate alpha = eta rho, beta = K alpha.
  double elastic_alpha = -1;  // < 0: beta / K with the authors' beta = 0.9

  // Leader SGD (ALGORITHMS.md 1.4); the communication period is `period` (tau) and, with
  // groups, `global_period` (tau_G).
  double pull = 0.1;             // lambda: pull toward the (local) leader, in [0, 1)
  double global_pull = 0.1;      // lambda_G: pull toward the global leader with groups
  int leader_window = 10;        // m: the leader has the lowest mean of its last m losses
  bool pull_every_step = false;  // pull toward the last leader copy at every local step

  // The asynchronous parameter-server family (ALGORITHMS.md sections 2 and 3).
  std::vector<double> tau;           // known compute time per worker (fixed-computation model)
  bool estimate_tau = false;         // rescaled_asgd: estimate tau_i online instead
  double tau_ema = 0.1;              // weight of the newest inter-arrival time in the estimate
  std::int64_t delay_threshold = 0;  // ringmaster R; 0 means K
  bool ringmaster_restart = false;   // ringmaster: stop-and-restart instead of discard
  std::int64_t server_batch = 0;     // malenia / rennala S; 0 means K
};

class Checkpointer;

class Worker {
 public:
  // objective is null on a parameter server's rank, which computes no gradients.
  Worker(comm::Communicator& comm, model::LocalObjective* objective,
         optim::LocalOptimizer& optimizer, const optim::Schedule& schedule,
         const AlgoSettings& settings, Monitor& monitor, CSpan x0);

  comm::Communicator& comm;
  model::LocalObjective* objective;
  optim::LocalOptimizer& optimizer;
  const optim::Schedule& schedule;
  const AlgoSettings& settings;
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
  int worker_index_ = 0;
};

}  // namespace herd::algo
