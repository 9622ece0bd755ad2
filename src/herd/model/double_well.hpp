#pragma once
// The double well, a separable non-convex test function with two mirror-image minima per
// coordinate:
//   f(x) = sum_j (x_j^2 - 1)^2,   F_k = f for every worker k,
// minima f = 0 at x_j = +-1, a saddle/maximum family wherever some x_j = 0. Worker k's
// stochastic gradient is grad f(x) + (sigma / sqrt(b)) xi, xi ~ N(0, I) from the worker's
// stream Rng(seed, streams::worker_base + k); its returned loss is the exact f(x).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/model/problem.hpp"

namespace herd::model {

struct DoubleWellSpec {
  std::size_t dim = 10;
  int workers = 1;
  double sigma = 0;  // gradient noise per coordinate for a batch of 1
  std::size_t batch = 1;
  // The starting point x0; empty means every coordinate 0.5 (x = 0 is stationary).
  std::vector<double> x0;
};

class DoubleWellProblem final : public Problem {
 public:
  // InvalidInput unless dim >= 1, workers >= 1, sigma finite and >= 0, batch >= 1 and x0 is
  // empty or of length dim with finite entries.
  explicit DoubleWellProblem(DoubleWellSpec spec);

  std::string describe() const override;
  std::size_t dim() const override { return spec_.dim; }
  int workers() const override { return spec_.workers; }
  void initial_point(Span x) const override;  // x0
  // Mirror-image starts: x0 for even k, -x0 for odd k, so half the workers head for one
  // minimum and half for its mirror image. The Problem interface has a single x_0; the run
  // layer has to wire these per-worker starts into the job itself.
  void worker_start(int k, Span x) const;
  std::unique_ptr<LocalObjective> local(int k, std::uint64_t seed) const override;
  Evaluation evaluate(CSpan x) const override;  // train_loss = f(x), grad_norm2, no accuracy
  std::optional<double> optimum_value() const override { return 0.0; }
  // mu = 0 (non-convex); L = 8 = max f''(x_j) = 12 x_j^2 - 4 over the region |x_j| <= 1
  // that holds both minima and the mirror-image starts inside it.
  Curvature curvature() const override { return {0.0, 8.0}; }
  std::size_t shard_size(int) const override { return 0; }

  // f(x), and grad f(x) into g (same length as x), exactly, in double.
  static double value_grad(std::span<const double> x, std::span<double> g);

 private:
  DoubleWellSpec spec_;
};

}  // namespace herd::model
