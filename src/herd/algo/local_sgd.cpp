#include "herd/algo/local_sgd.hpp"

#include <algorithm>
#include <memory>

#include "herd/algo/minibatch_sgd.hpp"
#include "herd/algo/sync_loop.hpp"

namespace herd::algo {
namespace {

// DiLoCo's outer step: with Delta = anchor - mean_k x_k (the averaged pseudo-gradient),
// v <- m v + Delta and x <- anchor - lr (Delta + m v) (Nesterov), then anchor <- x.
class OuterNesterov {
 public:
  OuterNesterov(CSpan x0, float lr, float momentum)
      : anchor_(x0.begin(), x0.end()),
        velocity_(x0.size(), 0.0f),
        delta_(x0.size()),
        lr_(lr),
        momentum_(momentum) {}
  void apply(Span averaged) {
    sub(anchor_, averaged, delta_);
    axpby(1.0f, delta_, momentum_, velocity_);
    copy(anchor_, averaged);
    axpy(-lr_, delta_, averaged);
    axpy(-lr_ * momentum_, velocity_, averaged);
    copy(averaged, anchor_);
  }
  void keep_in(AlgoState& state) {
    state.add("outer_anchor", anchor_).add("outer_velocity", velocity_);
  }

 private:
  std::vector<float> anchor_, velocity_, delta_;
  float lr_, momentum_;
};

}  // namespace

void LocalSgd::run(Worker& w) {
  const AlgoSettings& s = w.settings;
  std::unique_ptr<comm::Communicator> group;
  if (s.group_size > 0) group = w.comm.split(w.comm.rank() / s.group_size, w.comm.rank());
  std::unique_ptr<OuterNesterov> outer;
  if (s.outer_nesterov) {
    outer = std::make_unique<OuterNesterov>(w.x, s.outer_lr, s.outer_momentum);
    outer->keep_in(w.algo_state);
  }

  // Stich's weights w_t = (a + t)^2 over the iterates x_0 .. x_T; a = max(16 kappa, H), or
  // H when the problem's curvature is unknown.
  const double a = std::max(w.schedule.stich_shift(), double(std::max<std::int64_t>(s.period, 1)));
  std::vector<double> weighted_sum(w.x.size(), 0.0);
  double weight_total = 0.0;
  std::vector<float> weighted_average(w.x.size());
  auto accumulate = [&](std::int64_t t) {
    const double wt = (a + double(t)) * (a + double(t));
    for (std::size_t j = 0; j < w.x.size(); ++j) weighted_sum[j] += wt * w.x[j];
    weight_total += wt;
  };
  auto report = [&](std::int64_t steps_done) {
    for (std::size_t j = 0; j < w.x.size(); ++j)
      weighted_average[j] = float(weighted_sum[j] / weight_total);
    const ReportedModel models[] = {{"average", w.x}, {"weighted_average", weighted_average}};
    w.monitor.evaluate(w, steps_done, models);
  };

  w.algo_state.add("weighted_sum", weighted_sum).add("weight_total", weight_total);
  accumulate(0);  // x_0 (a resume restores the sums instead)
  auto step = [&](std::int64_t t) {
    if (t < s.post_local_steps) {
      minibatch_step(w, w.comm, t);
    } else {
      w.compute_gradient(t);
      w.local_step(t);
      const std::int64_t local = t + 1 - s.post_local_steps;  // steps since local phase began
      const bool global_round = group ? local % s.global_period == 0 : local % s.period == 0;
      if (global_round) {
        w.average(w.comm);
        if (outer) outer->apply(w.x);
      } else if (group && local % s.period == 0) {
        w.average(*group);
      }
    }
    accumulate(t + 1);
  };
  run_steps(w, step, report);
}

}  // namespace herd::algo
