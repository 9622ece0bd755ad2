#pragma once
#include <cstdint>

#include "herd/algo/algorithm.hpp"
#include "herd/algo/settings.hpp"

namespace herd::algo {

// lsgd. Values come from the options' declared defaults (knobs()).
struct LeaderSettings {
  std::int64_t period{};         // tau: local steps between communications
  double pull{};                 // lambda: pull toward the (local) leader, in [0, 1)
  int group_size{};              // multi-leader: groups of this many ranks; 0 = none
  std::int64_t global_period{};  // tau_G with groups (resolved: 0 means period)
  double global_pull{};          // lambda_G: pull toward the global leader with groups
  int leader_window{};           // m: the leader has the lowest mean of its last m losses
  bool pull_every_step{};        // pull toward the last leader copy at every local step

  static const Knobs<LeaderSettings>& knobs();
  // Groups must divide the workers; global_period = 0 means period, and must be a multiple.
  void resolve(const JobContext& job);
};

// async_lsgd, which has no multi-leader form.
struct AsyncLeaderSettings {
  std::int64_t period{};
  double pull{};
  int group_size{};  // must be 0
  int leader_window{};
  bool pull_every_step{};

  static const Knobs<AsyncLeaderSettings>& knobs();
  void resolve(const JobContext& job);
};

// Leader SGD (Teng et al., NeurIPS 2019), synchronous form. A worker's
// score is the mean of its last m = leader_window minibatch losses. Every tau = period
// steps the ranks allgather their scores, the leader is the lowest (ties: lowest rank), its
// x is broadcast into every rank's leader copy, and every other rank is pulled:
// x <- x - lambda (x - x_leader) (the authors' Algorithm 1). With pull_every_step the pull
// is instead part of every local step, g <- g + lambda (x - copy), toward the copy of the
// last communication (none before the first). The leader is never pulled.
//
// Multi-leader (group_size > 0): groups of group_size consecutive ranks; every tau steps
// each group's leader pulls its group with lambda (exchange on the group communicator),
// every tau_G = global_period steps the global leader pulls everyone with lambda_G; at
// steps that are both, x <- x - lambda (x - x_local) - lambda_G (x - x_global), with the
// values before the exchange. A communication step counts as one round.
//
// Reports the leader (models[0], the leader rank's actual iterate) and the average. The
// evaluated leader is the global leader of the last global communication; before the first
// one it is picked at the evaluation from the current scores (an unmetered allgather), which
// gives rank 0 at step 0, when no loss has been seen yet. Extra fields: leader (its worker
// index), leader_switches (changes of the global leader so far), bytes_per_round.
class Lsgd final : public Algorithm {
 public:
  explicit Lsgd(const LeaderSettings& settings) : settings_(settings) {}
  void run(Worker& w) const override;

 private:
  LeaderSettings settings_;
};

// Asynchronous Leader SGD (lsgd_async.cpp; the protocol is described there).
class AsyncLsgd final : public Algorithm {
 public:
  explicit AsyncLsgd(const AsyncLeaderSettings& settings) : settings_(settings) {}
  void run(Worker& w) const override;

 private:
  AsyncLeaderSettings settings_;
};

}  // namespace herd::algo
