#include "herd/optim/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "herd/core/error.hpp"

namespace herd::optim {

ScheduleKind parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "stich") return ScheduleKind::stich;
  if (name == "step") return ScheduleKind::step;
  if (name == "cosine") return ScheduleKind::cosine;
  throw InvalidInput("algo.schedule: unknown schedule '" + name +
                     "' (constant, stich, step, cosine)");
}

Schedule::Schedule(const ScheduleSpec& spec) : spec_(spec) {
  if (!(spec.shift >= 0.0) || !std::isfinite(spec.shift))
    throw InvalidInput("optim.stich_shift = " + std::to_string(spec.shift) +
                       ": the shift a of Stich's schedule must be finite and > 0 (0 = automatic)");
  const bool strongly_convex = spec.mu > 0.0 && spec.L >= spec.mu;
  if (spec.shift > 0.0)
    shift_ = spec.shift;
  else if (strongly_convex)
    shift_ = std::max(16.0 * spec.L / spec.mu, double(std::max<std::int64_t>(spec.period, 1)));
  if (spec.kind == ScheduleKind::stich && !strongly_convex) {
    // A model with no curvature constants (mlp, double_well: not convex) cannot be helped by
    // regularisation; a convex one without it can.
    if (spec.mu == 0.0 && spec.L == 0.0)
      throw InvalidInput(
          "algo.schedule = \"stich\" (4 / (mu (a + t))) is for strongly convex problems, and "
          "this model has no curvature constants (it is not convex); use constant, step or "
          "cosine");
    throw InvalidInput(fmt::format(
        "algo.schedule = \"stich\" needs a strongly convex problem (mu > 0, L >= mu); this "
        "problem has mu = {}, L = {}: add L2 regularisation (model.l2 or model.l2_over_n > 0)",
        spec.mu, spec.L));
  }
  if (spec.kind == ScheduleKind::cosine && spec.total_steps <= 0)
    throw InvalidInput("algo.schedule = \"cosine\" needs a step horizon: set stop.steps > 0");
}

double Schedule::at(std::int64_t t) const {
  double eta = spec_.lr;
  switch (spec_.kind) {
    case ScheduleKind::constant:
      break;
    case ScheduleKind::stich:
      eta = 4.0 / (spec_.mu * (shift_ + double(t)));
      break;
    case ScheduleKind::step:
      eta = spec_.lr * std::pow(spec_.decay_factor, double(t / spec_.decay_every));
      break;
    case ScheduleKind::cosine: {
      const double progress = std::min(1.0, double(t) / double(spec_.total_steps));
      eta = spec_.min_lr +
            0.5 * (spec_.lr - spec_.min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
      break;
    }
  }
  if (t < spec_.warmup_steps) eta *= double(t + 1) / double(spec_.warmup_steps);
  return eta;
}

}  // namespace herd::optim
