// A model of the application: F_k(x) = 1/2 ||x - c||^2 with c = (1, ..., 1) on every worker,
// its gradient seen through Gaussian noise of model.sphere_noise. Optimum: x* = c, F* = 0.
#include <herd/core/rng.hpp>
#include <herd/model/registry.hpp>

#include <memory>
#include <string>

namespace {

using namespace herd;

struct SphereSettings {
  std::int64_t dim{};
  double noise{};
  static const Knobs<SphereSettings>& knobs() {
    static const auto k =
        Knobs<SphereSettings>()
            .add(integer("model.sphere_dim", 10, "sphere: dimension.").ge(1), &SphereSettings::dim)
            .add(number("model.sphere_noise", 0.1, "sphere: gradient noise.").ge(0),
                 &SphereSettings::noise);
    return k;
  }
};

double value_grad(CSpan x, Span g) {
  double f = 0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    g[j] = x[j] - 1.0f;
    f += 0.5 * double(g[j]) * double(g[j]);
  }
  return f;
}

class SphereOracle final : public model::LocalObjective {
 public:
  SphereOracle(double noise, Rng rng) : noise_(noise), rng_(rng) {}
  double grad(CSpan x, Span g) override {
    const double f = value_grad(x, g);
    for (float& v : g) v += float(noise_ * rng_.normal());
    return f;
  }
  std::size_t batch() const override { return 1; }
  double epochs() const override { return 0; }

 private:
  double noise_;
  Rng rng_;
};

class Sphere final : public model::Problem {
 public:
  Sphere(SphereSettings s, int workers) : s_(s), workers_(workers) {}
  std::string describe() const override { return "sphere, d = " + std::to_string(s_.dim); }
  std::size_t dim() const override { return std::size_t(s_.dim); }
  int workers() const override { return workers_; }
  void initial_point(Span x) const override { std::fill(x.begin(), x.end(), 0.0f); }
  std::unique_ptr<model::LocalObjective> local(int k, std::uint64_t seed) const override {
    return std::make_unique<SphereOracle>(s_.noise,
                                          Rng(seed, streams::worker_base + std::uint64_t(k)));
  }
  model::Evaluation evaluate(CSpan x) const override {
    std::vector<float> g(x.size());
    model::Evaluation e;
    e.train_loss = value_grad(x, g);
    for (float v : g) e.grad_norm2 += double(v) * double(v);
    return e;
  }
  std::optional<double> optimum_value() const override { return 0.0; }
  model::Curvature curvature() const override { return {1.0, 1.0}; }
  std::size_t shard_size(int) const override { return 0; }

 private:
  SphereSettings s_;
  int workers_;
};

HERD_REGISTER_MODEL(sphere,
                    model::ModelDef<SphereSettings>{
                        .name = "sphere",
                        .summary = "1/2 ||x - 1||^2 with noisy gradients (examples/extend).",
                        .order = 2000,
                        .build = [](const SphereSettings& s, const model::ModelContext& c) {
                          model::BuiltModel built;
                          built.problem = std::make_unique<Sphere>(s, c.workers);
                          return built;
                        }});

}  // namespace
