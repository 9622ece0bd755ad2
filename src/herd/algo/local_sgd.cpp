#include "herd/algo/local_sgd.hpp"

#include <algorithm>
#include <memory>

#include "herd/algo/knobs.hpp"
#include "herd/algo/minibatch_sgd.hpp"
#include "herd/algo/registry.hpp"
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

const Knobs<LocalSgdSettings>& LocalSgdSettings::knobs() {
  using S = LocalSgdSettings;
  static const auto k =
      Knobs<S>()
          .add(knobs::period(), &S::period)
          .add(integer("algo.post_local_steps", 0,
                       "Post-local SGD: W steps of minibatch SGD before the local steps begin.")
                   .ge(0),
               &S::post_local_steps)
          .add(knobs::group_size(), &S::group_size)
          .add(knobs::global_period(), &S::global_period)
          .add(choice("algo.outer_optimizer", {"none", "nesterov"}, "none",
                      "Outer step on the averaged pseudo-gradient (DiLoCo): none = plain "
                      "averaging, nesterov = Nesterov momentum with outer_lr and outer_momentum."),
               &S::outer_nesterov, "nesterov")
          .add(number("algo.outer_lr", 0.7, "Outer step size.").gt(0), &S::outer_lr)
          .add(number("algo.outer_momentum", 0.9, "Outer Nesterov momentum.").ge(0).lt(1),
               &S::outer_momentum);
  return k;
}

void LocalSgdSettings::resolve(const JobContext&) {
  knobs::resolve_global_period(period, group_size, global_period);
}

void LocalSgd::run(Worker& w) const {
  const LocalSgdSettings& s = settings_;
  std::unique_ptr<comm::Communicator> group;
  if (s.group_size > 0) group = w.comm.split(w.comm.rank() / s.group_size, w.comm.rank());
  std::unique_ptr<OuterNesterov> outer;
  if (s.outer_nesterov) {
    outer = std::make_unique<OuterNesterov>(w.x, s.outer_lr, s.outer_momentum);
    outer->keep_in(w.algo_state);
  }

  // Stich's weights w_t = (a + t)^2 over the iterates x_0 .. x_T; a = optim.stich_shift when
  // set, else max(16 kappa, H), or H when the problem's curvature is unknown.
  const double shift = w.schedule.stich_shift();
  const double a = shift > 0.0 ? shift : double(std::max<std::int64_t>(s.period, 1));
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

HERD_REGISTER_ALGORITHM(
    local_sgd,
    AlgorithmDef<LocalSgdSettings>{
        .name = "local_sgd",
        .summary = "Local SGD: local steps, averaged every algo.period steps (post-local, "
                   "hierarchical and DiLoCo outer-Nesterov variants).",
        .order = 20,
        .make = [](const LocalSgdSettings& s) { return std::make_unique<LocalSgd>(s); }});

}  // namespace herd::algo
