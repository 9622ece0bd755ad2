#pragma once
#include <cstdint>

#include "herd/algo/algorithm.hpp"
#include "herd/algo/settings.hpp"

namespace herd::algo {

// Values come from the options' declared defaults (knobs()).
struct LocalSgdSettings {
  std::int64_t period{};            // H: local steps between averaging rounds
  std::int64_t post_local_steps{};  // W: minibatch-SGD steps before local steps start
  int group_size{};                 // hierarchical averaging: groups of this many ranks
  std::int64_t global_period{};     // H2: global averaging period with groups (resolved)
  bool outer_nesterov{};            // DiLoCo outer step on the averaged pseudo-gradient
  float outer_lr{};
  float outer_momentum{};

  static const Knobs<LocalSgdSettings>& knobs();
  // With groups: global_period = 0 means period, and must be a multiple of it.
  void resolve(const JobContext& job);
};

// Local SGD (Stich, ICLR 2019). Each rank runs its own SGD sequence and
// every H = period steps all ranks replace their iterate by the average. Extensions:
// post-local SGD (the first W steps are minibatch-SGD steps), hierarchical averaging (every
// H inside groups of group_size ranks, every H2 = global_period globally), and a DiLoCo
// outer Nesterov step on the averaged pseudo-gradient at global rounds. Beside the last
// average it reports Stich's weighted average x_hat = sum_t w_t xbar_t / sum_t w_t with
// w_t = (a + t)^2, accumulated locally per rank (averaging is linear, so the mean of the
// ranks' weighted sums is the weighted sum of the averages, at no communication cost).
class LocalSgd final : public Algorithm {
 public:
  explicit LocalSgd(const LocalSgdSettings& settings) : settings_(settings) {}
  void run(Worker& w) const override;

 private:
  LocalSgdSettings settings_;
};

}  // namespace herd::algo
