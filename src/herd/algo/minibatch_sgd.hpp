#pragma once
#include "herd/algo/algorithm.hpp"

namespace herd::algo {

// Minibatch SGD: every step, the ranks average their gradients (one
// allreduce of d floats) and all apply the same local-optimizer update, so every rank holds
// the same x throughout.
class MinibatchSgd final : public Algorithm {
 public:
  void run(Worker& w) const override;
};

// One synchronous minibatch step: compute, average the gradients over `c`, update.
void minibatch_step(Worker& w, comm::Communicator& c, std::int64_t step);

}  // namespace herd::algo
