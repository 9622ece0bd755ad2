#pragma once
// Step-size schedules: eta_t as a function of the worker's step t = 0, 1, ...
#include <cstdint>
#include <string>

namespace herd::optim {

enum class ScheduleKind { constant, stich, step, cosine };
ScheduleKind parse_schedule(const std::string& name);  // InvalidInput on unknown names

struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::constant;
  double lr = 0.1;                  // base step (constant, step, cosine)
  std::int64_t warmup_steps = 0;    // linear warm-up multiplies any schedule by (t+1)/warmup
  std::int64_t decay_every = 1000;  // step decay: lr * factor^(t / decay_every)
  double decay_factor = 0.1;
  double min_lr = 0.0;           // cosine floor
  std::int64_t total_steps = 0;  // cosine horizon (required > 0 for cosine)
  // Stich (ICLR 2019): eta_t = 4 / (mu (a + t)), a = max(16 kappa, H), kappa = L / mu, unless
  // `shift` > 0 sets a (optim.stich_shift; any a > 0 is accepted, also one below the
  // theory's max(16 kappa, H)).
  double mu = 0.0, L = 0.0;
  std::int64_t period = 1;
  double shift = 0.0;  // 0 = automatic
};

class Schedule {
 public:
  explicit Schedule(const ScheduleSpec& spec);  // InvalidInput when the spec is unusable
  double at(std::int64_t t) const;
  // Stich's shift a; also the weight offset of the averaged iterate w_t = (a + t)^2. The
  // explicit shift when one is set; else max(16 kappa, H) when the curvature is known, 0
  // when it is not.
  double stich_shift() const { return shift_; }

 private:
  ScheduleSpec spec_;
  double shift_ = 0.0;
};

}  // namespace herd::optim
