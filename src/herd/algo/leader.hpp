#pragma once
// Leader SGD's score, shared by its synchronous (lsgd.cpp) and asynchronous
// (lsgd_async.cpp) forms.
#include <cstdint>
#include <span>
#include <vector>

#include "herd/algo/algo_state.hpp"
#include "herd/core/kernels.hpp"

namespace herd::algo {

// The running mean of a worker's last m minibatch losses, its score for the leadership
// (lower is better); +infinity before the first loss.
class LossWindow {
 public:
  explicit LossWindow(int m);  // m >= 1
  void push(double loss);
  double mean() const;
  // Registers the window with a checkpoint's algorithm state.
  void keep_in(AlgoState& state) {
    state.add("loss_window", losses_).add("loss_next", next_).add("loss_count", count_);
  }

 private:
  std::vector<double> losses_;
  std::size_t next_ = 0, count_ = 0;
};

// The best score's index; ties go to the lowest index.
int best_of(std::span<const double> scores);

}  // namespace herd::algo
