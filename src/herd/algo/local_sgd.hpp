#pragma once
#include "herd/algo/algorithm.hpp"

namespace herd::algo {

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
  void run(Worker& w) override;
};

}  // namespace herd::algo
