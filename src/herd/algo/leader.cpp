#include "herd/algo/leader.hpp"

#include <cassert>
#include <limits>

namespace herd::algo {

LossWindow::LossWindow(int m) : losses_(std::size_t(m)) {
  assert(m >= 1 && "the settings check the window");
}

void LossWindow::push(double loss) {
  losses_[next_] = loss;
  next_ = (next_ + 1) % losses_.size();
  if (count_ < losses_.size()) ++count_;
}

double LossWindow::mean() const {
  if (count_ == 0) return std::numeric_limits<double>::infinity();
  double sum = 0;  // summed afresh: no drift of a running sum over a long run
  for (std::size_t i = 0; i < count_; ++i) sum += losses_[i];
  return sum / double(count_);
}

int best_of(std::span<const double> scores) {
  int best = 0;
  for (std::size_t k = 1; k < scores.size(); ++k)
    if (scores[k] < scores[std::size_t(best)]) best = int(k);
  return best;
}

}  // namespace herd::algo
