#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/optim/optimizer.hpp"
#include "herd/optim/schedule.hpp"

namespace herd::optim {
namespace {

TEST(LocalOptimizer, SgdMomentumAndNesterovFollowTheirRecurrences) {
  // Two steps with gradient 1 at lr 0.5, momentum 0.9, weight decay 0.1 from x = 1,
  // hand-computed from g' = g + wd x, v = m v + g'.
  OptimizerSpec spec;
  spec.weight_decay = 0.1f;
  spec.momentum = 0.9f;
  for (Rule rule : {Rule::sgd, Rule::momentum, Rule::nesterov}) {
    spec.rule = rule;
    LocalOptimizer opt(spec, 1);
    std::vector<float> x{1.0f};
    double xd = 1.0, v = 0.0;
    for (int step = 0; step < 2; ++step) {
      std::vector<float> g{1.0f};
      opt.step(x, g, 0.5f);
      const double gp = 1.0 + 0.1 * xd;
      v = 0.9 * v + gp;
      xd -= 0.5 * (rule == Rule::sgd ? gp : rule == Rule::momentum ? v : gp + 0.9 * v);
    }
    EXPECT_NEAR(x[0], xd, 1e-6) << int(rule);
  }
  EXPECT_THROW(parse_rule("adam"), InvalidInput);
}

TEST(LocalOptimizer, MomentumEqualsPolyaksHeavyBallRecurrence) {
  // On f(x) = 0.5 h x^2, PyTorch-style momentum (v = m v + g, x -= lr v) is Polyak's
  // heavy ball x_{t+1} = x_t - lr h x_t + m (x_t - x_{t-1}).
  OptimizerSpec spec;
  spec.rule = Rule::momentum;
  spec.momentum = 0.25f;
  LocalOptimizer opt(spec, 1);
  std::vector<float> x{2.0f};
  double prev = 2.0, cur = 2.0;
  const double h = 0.5, lr = 0.4;
  for (int t = 0; t < 20; ++t) {
    std::vector<float> g{float(h * x[0])};
    opt.step(x, g, float(lr));
    const double next = cur - lr * h * cur + 0.25 * (cur - prev);
    prev = cur, cur = next;
    EXPECT_NEAR(x[0], cur, 1e-5);
  }
}

TEST(LocalOptimizer, RestoredVelocityContinuesBitForBit) {
  OptimizerSpec spec;
  spec.rule = Rule::nesterov;
  spec.weight_decay = 0.01f;
  LocalOptimizer a(spec, 3);
  std::vector<float> x{1.0f, -2.0f, 0.5f};
  auto step = [](LocalOptimizer& opt, std::vector<float>& at, int t) {
    std::vector<float> g{at[0] - 0.3f * float(t), 2.0f * at[1], -at[2]};
    opt.step(at, g, 0.1f);
  };
  for (int t = 0; t < 3; ++t) step(a, x, t);
  LocalOptimizer b(spec, 3);
  b.restore_velocity(a.velocity());
  EXPECT_EQ(b.velocity(), a.velocity());
  std::vector<float> y = x;
  for (int t = 3; t < 8; ++t) step(a, x, t), step(b, y, t);
  EXPECT_EQ(x, y);
  EXPECT_THROW(b.restore_velocity(std::vector<float>(2)), InvalidInput);
  LocalOptimizer plain({}, 3);  // plain SGD has no velocity
  EXPECT_NO_THROW(plain.restore_velocity({}));
  EXPECT_THROW(plain.restore_velocity(a.velocity()), InvalidInput);
}

TEST(Schedule, ClosedForms) {
  ScheduleSpec s;
  s.lr = 0.8;
  EXPECT_EQ(Schedule(s).at(12345), 0.8);

  s.kind = ScheduleKind::step;
  s.decay_every = 100;
  s.decay_factor = 0.5;
  EXPECT_DOUBLE_EQ(Schedule(s).at(99), 0.8);
  EXPECT_DOUBLE_EQ(Schedule(s).at(250), 0.2);

  s.kind = ScheduleKind::cosine;
  s.total_steps = 1000;
  s.min_lr = 0.1;
  EXPECT_DOUBLE_EQ(Schedule(s).at(0), 0.8);
  EXPECT_NEAR(Schedule(s).at(500), 0.45, 1e-12);
  EXPECT_NEAR(Schedule(s).at(1000), 0.1, 1e-12);

  s.kind = ScheduleKind::constant;
  s.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(Schedule(s).at(0), 0.2);
  EXPECT_DOUBLE_EQ(Schedule(s).at(3), 0.8);
  EXPECT_DOUBLE_EQ(Schedule(s).at(4), 0.8);
}

TEST(Schedule, StichStepSizeAndShift) {
  // eta_t = 4 / (mu (a + t)), a = max(16 kappa, H).
  ScheduleSpec s;
  s.kind = ScheduleKind::stich;
  s.mu = 0.01;
  s.L = 1.0;
  s.period = 8;
  const Schedule sch(s);
  EXPECT_DOUBLE_EQ(sch.stich_shift(), 1600.0);
  EXPECT_DOUBLE_EQ(sch.at(0), 4.0 / (0.01 * 1600.0));  // = 1 / (4 L)
  EXPECT_DOUBLE_EQ(sch.at(400), 4.0 / (0.01 * 2000.0));
  s.period = 5000;  // a large period dominates the shift
  EXPECT_DOUBLE_EQ(Schedule(s).stich_shift(), 5000.0);
  s.mu = 0;  // not strongly convex: refused with the reason, and the way out
  try {
    Schedule{s};
    ADD_FAILURE() << "mu = 0 accepted";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("mu = 0, L = 1: add L2 regularisation"), std::string::npos)
        << e.what();
  }
  s.L = 0;  // no curvature constants at all (a non-convex model): regularisation is no cure
  try {
    Schedule{s};
    ADD_FAILURE() << "L = mu = 0 accepted";
  } catch (const InvalidInput& e) {
    EXPECT_EQ(std::string(e.what()).find("model.l2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not convex"), std::string::npos) << e.what();
  }
  ScheduleSpec c;
  c.kind = ScheduleKind::cosine;  // no horizon
  EXPECT_THROW(Schedule{c}, InvalidInput);
}

TEST(Schedule, StichExplicitShiftSetsAExactly) {
  // optim.stich_shift: eta_t = 4 / (mu (a + t)) with the given a, whatever kappa and H say.
  ScheduleSpec s;
  s.kind = ScheduleKind::stich;
  s.mu = 0.01;
  s.L = 1.0;
  s.period = 8;
  const Schedule automatic(s);  // shift 0: a = max(16 kappa, H) as before
  EXPECT_EQ(automatic.stich_shift(), 1600.0);
  for (const std::int64_t t : {0, 1, 7, 400, 123456})
    EXPECT_EQ(automatic.at(t), 4.0 / (0.01 * (1600.0 + double(t)))) << t;

  for (const double a : {100.0, 2.5, 1e6}) {  // below 16 kappa, below H, above both
    s.shift = a;
    const Schedule sch(s);
    EXPECT_EQ(sch.stich_shift(), a);
    for (const std::int64_t t : {0, 1, 7, 400, 123456})
      EXPECT_EQ(sch.at(t), 4.0 / (0.01 * (a + double(t)))) << "a = " << a << ", t = " << t;
  }
  // Warm-up still multiplies the explicit schedule.
  s.shift = 100.0;
  s.warmup_steps = 4;
  EXPECT_EQ(Schedule(s).at(1), 4.0 / (0.01 * 101.0) * 2.0 / 4.0);
  s.warmup_steps = 0;

  // An explicit shift is also the offset of Local SGD's weights, for any schedule.
  ScheduleSpec constant;
  constant.shift = 37.0;
  EXPECT_EQ(Schedule(constant).stich_shift(), 37.0);
  EXPECT_EQ(Schedule(ScheduleSpec{}).stich_shift(), 0.0);  // unknown curvature, no shift

  // Refused: a negative or non-finite shift (naming the option), and stich without mu even
  // with a shift.
  for (const double bad :
       {-1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    s.shift = bad;
    try {
      Schedule{s};
      ADD_FAILURE() << "shift " << bad << " accepted";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("optim.stich_shift"), std::string::npos) << e.what();
    }
  }
  s.shift = 100.0;
  s.mu = 0;
  EXPECT_THROW(Schedule{s}, InvalidInput);
}

}  // namespace
}  // namespace herd::optim
