#include "herd/model/double_well.hpp"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"
#include "herd/model/knobs.hpp"
#include "herd/model/registry.hpp"

namespace herd::model {
namespace {

class DoubleWellLocal final : public LocalObjective {
 public:
  DoubleWellLocal(std::size_t dim, double sigma, std::size_t batch, Rng rng)
      : noise_(sigma / std::sqrt(double(batch))), batch_(batch), rng_(rng), x_(dim), g_(dim) {}

  double grad(CSpan x, Span g) override {
    x_.assign(x.begin(), x.end());
    const double f = DoubleWellProblem::value_grad(x_, g_);
    for (std::size_t j = 0; j < g_.size(); ++j)
      g[j] = float(noise_ > 0 ? g_[j] + noise_ * rng_.normal() : g_[j]);
    return f;
  }
  std::size_t batch() const override { return batch_; }
  double epochs() const override { return 0; }
  OracleState save_state() const override {
    OracleState s;
    s.rng = rng_.state();
    return s;
  }
  void restore_state(const OracleState& s) override { rng_ = Rng(s.rng); }

 private:
  double noise_;
  std::size_t batch_;
  Rng rng_;
  std::vector<double> x_, g_;
};

}  // namespace

DoubleWellProblem::DoubleWellProblem(DoubleWellSpec spec) : spec_(std::move(spec)) {
  if (spec_.dim == 0) throw InvalidInput("double well: dim must be >= 1");
  if (spec_.workers < 1) throw InvalidInput("double well: workers must be >= 1");
  if (!(spec_.sigma >= 0) || !std::isfinite(spec_.sigma))
    throw InvalidInput("double well: sigma must be finite and >= 0");
  if (spec_.batch == 0) throw InvalidInput("double well: batch must be >= 1");
  if (spec_.x0.empty()) spec_.x0.assign(spec_.dim, 0.5);
  if (spec_.x0.size() != spec_.dim)
    throw InvalidInput("double well: x0 has " + std::to_string(spec_.x0.size()) +
                       " entries for dim " + std::to_string(spec_.dim));
  for (const double v : spec_.x0)
    if (!std::isfinite(v)) throw InvalidInput("double well: x0 is not finite");
}

double DoubleWellProblem::value_grad(std::span<const double> x, std::span<double> g) {
  double f = 0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    const double r = x[j] * x[j] - 1.0;
    f += r * r;
    g[j] = 4.0 * x[j] * r;
  }
  return f;
}

std::string DoubleWellProblem::describe() const {
  std::ostringstream s;
  s << "double well: dim " << dim() << ", " << workers() << " workers, sigma " << spec_.sigma
    << ", batch " << spec_.batch;
  return s.str();
}

void DoubleWellProblem::initial_point(Span x) const {
  for (std::size_t j = 0; j < x.size(); ++j) x[j] = float(spec_.x0[j]);
}

void DoubleWellProblem::worker_start(int k, Span x) const {
  if (k < 0 || k >= workers())
    throw InvalidInput("double well: no worker " + std::to_string(k) + " among " +
                       std::to_string(workers()));
  const double sign = k % 2 == 0 ? 1.0 : -1.0;
  for (std::size_t j = 0; j < x.size(); ++j) x[j] = float(sign * spec_.x0[j]);
}

std::unique_ptr<LocalObjective> DoubleWellProblem::local(int k, std::uint64_t seed) const {
  if (k < 0 || k >= workers())
    throw InvalidInput("double well: no worker " + std::to_string(k) + " among " +
                       std::to_string(workers()));
  return std::make_unique<DoubleWellLocal>(spec_.dim, spec_.sigma, spec_.batch,
                                           Rng(seed, streams::worker_base + std::uint64_t(k)));
}

Evaluation DoubleWellProblem::evaluate(CSpan x) const {
  const std::vector<double> xd(x.begin(), x.end());
  std::vector<double> g(xd.size());
  Evaluation e;
  e.train_loss = value_grad(xd, g);
  for (const double v : g) e.grad_norm2 += v * v;
  return e;
}

}  // namespace herd::model

// ---- Registration -----------------------------------------------------------------------

namespace herd::model {
namespace {

// Values come from the options' declared defaults (knobs()).
struct DoubleWellSettings {
  std::size_t dim{};
  double noise{};
  double start{};
  bool mirror_starts{};

  static const Knobs<DoubleWellSettings>& knobs() {
    using S = DoubleWellSettings;
    static const auto k =
        Knobs<S>()
            .add(knobs::dim(), &S::dim)
            .add(knobs::noise(), &S::noise)
            .add(number("model.start", 0.5,
                        "Every coordinate of the starting point x_0 (0 is stationary).")
                     .gt(0),
                 &S::start)
            .add(boolean("model.mirror_starts", false,
                         "Worker k starts at x_0 for even k and at -x_0 for odd k, so half the "
                         "workers head for each minimum (needs an even algo.workers)."),
                 &S::mirror_starts);
    return k;
  }
  void resolve(const ModelContext& c) const {
    if (mirror_starts && c.workers % 2 != 0)
      throw InvalidInput(fmt::format(
          "model.mirror_starts needs an even algo.workers (half at x_0, half at -x_0), got {}",
          c.workers));
  }
};

}  // namespace

HERD_REGISTER_MODEL(
    double_well,
    ModelDef<DoubleWellSettings>{
        .name = "double_well",
        .summary = "f(x) = sum_j (x_j^2 - 1)^2, two mirror-image minima per coordinate; uses no "
                   "data.",
        .order = 60,
        .build = [](const DoubleWellSettings& s, const ModelContext& c) {
          DoubleWellSpec spec;
          spec.dim = s.dim;
          spec.workers = c.workers;
          spec.sigma = s.noise;
          spec.batch = c.batch;
          spec.x0.assign(spec.dim, s.start);
          auto problem = std::make_unique<DoubleWellProblem>(spec);
          BuiltModel out;
          if (s.mirror_starts)
            out.worker_start = [well = problem.get()](int k, Span x) { well->worker_start(k, x); };
          out.description =
              fmt::format("double well, d = {}, K = {}, x_0 = {}{}", spec.dim, c.workers, s.start,
                          s.mirror_starts ? " (mirror starts)" : "");
          out.problem = std::move(problem);
          return out;
        }});

}  // namespace herd::model
