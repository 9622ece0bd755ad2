#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include <Eigen/Dense>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"
#include "herd/model/factory.hpp"

namespace herd::model {
namespace {

// K = 2, d = 2: A_1 = diag(2, 0) (singular), a_1 = (1, 2); A_2 = [2 1; 1 2], a_2 = (0, 3).
// sum A = [4 1; 1 2], sum A a = (2, 0) + (3, 6) = (5, 6), so x* = [2 -1; -1 4] (5, 6) / 7
// = (4/7, 19/7); F_1(x*) = 9/49, F_2(x*) = 12/49, F* = 3/14; mean A = [2 .5; .5 1] has
// eigenvalues (3 -+ sqrt 2) / 2.
QuadraticProblem hand_example(double sigma = 0, std::size_t batch = 1) {
  Eigen::MatrixXd a1(2, 2), a2(2, 2);
  a1 << 2, 0, 0, 0;
  a2 << 2, 1, 1, 2;
  return QuadraticProblem({a1, a2}, {Eigen::Vector2d(1, 2), Eigen::Vector2d(0, 3)}, sigma, batch);
}

TEST(Quadratic, HandExampleClosedForm) {
  const QuadraticProblem p = hand_example();
  EXPECT_NEAR(p.minimizer()[0], 4.0 / 7, 1e-15);
  EXPECT_NEAR(p.minimizer()[1], 19.0 / 7, 1e-15);
  EXPECT_NEAR(*p.optimum_value(), 3.0 / 14, 1e-15);
  EXPECT_NEAR(p.curvature().mu, (3 - std::numbers::sqrt2) / 2, 1e-15);
  EXPECT_NEAR(p.curvature().L, (3 + std::numbers::sqrt2) / 2, 1e-15);
  EXPECT_EQ(*p.optimum_point(), (std::vector<double>{p.minimizer()[0], p.minimizer()[1]}));
  Eigen::VectorXd g;
  EXPECT_NEAR(p.term(0).value_grad(p.minimizer(), g), 9.0 / 49, 1e-15);
  EXPECT_NEAR(p.term(1).value_grad(p.minimizer(), g), 12.0 / 49, 1e-15);
  // evaluate() at x = 0: F(0) = (0.5 * 2 + 0.5 * (0 + 0 + 18)) / 2 = 5, grad = -(5, 6) / 2.
  const std::vector<float> zero(2, 0.0f);
  const Evaluation e = p.evaluate(zero);
  EXPECT_DOUBLE_EQ(e.train_loss, 5.0);
  EXPECT_DOUBLE_EQ(e.grad_norm2, (25.0 + 36.0) / 4);
  EXPECT_FALSE(e.train_acc);
  EXPECT_FALSE(e.test_loss);
  std::vector<float> x0(2, 9.0f);
  p.initial_point(x0);
  EXPECT_EQ(x0, zero);
  EXPECT_EQ(p.shard_size(1), 0u);
}

TEST(Quadratic, ExactLocalGradientWithoutNoise) {
  const QuadraticProblem p = hand_example();
  auto local = p.local(1, 5);
  std::vector<float> x{1.0f, -1.0f}, g(2);
  // x - a_2 = (1, -4): A_2 (1, -4) = (-2, -7), F_2 = 0.5 (-2 + 28) = 13.
  EXPECT_DOUBLE_EQ(local->grad(x, g), 13.0);
  EXPECT_EQ(g, (std::vector<float>{-2.0f, -7.0f}));
  EXPECT_EQ(local->epochs(), 0.0);
}

TEST(Quadratic, NoiseHasMeanZeroAndVarianceSigmaSquaredOverBatch) {
  const double sigma = 2.0;
  const std::size_t batch = 4;  // variance sigma^2 / b = 1 per coordinate
  const QuadraticProblem p = hand_example(sigma, batch);
  auto local = p.local(0, 17);
  EXPECT_EQ(local->batch(), batch);
  const std::vector<float> x{0.5f, 0.25f};
  const double exact[2] = {2 * (0.5 - 1), 0.0};  // A_1 (x - a_1)
  const int n = 40000;
  double sum[2] = {0, 0}, sum2[2] = {0, 0};
  std::vector<float> g(2);
  for (int t = 0; t < n; ++t) {
    EXPECT_DOUBLE_EQ(local->grad(x, g), 0.25);  // the exact F_1(x), not a noisy one
    for (int j = 0; j < 2; ++j) {
      const double e = double(g[std::size_t(j)]) - exact[j];
      sum[j] += e, sum2[j] += e * e;
    }
  }
  for (int j = 0; j < 2; ++j) {
    // Standard errors: sqrt(1/n) = 0.005 for the mean, sqrt(2/n) = 0.007 for the variance.
    EXPECT_NEAR(sum[j] / n, 0.0, 0.025);
    EXPECT_NEAR(sum2[j] / n - (sum[j] / n) * (sum[j] / n), 1.0, 0.035);
  }
}

TEST(Quadratic, SameSeedSameNoiseAndWorkersDiffer) {
  const QuadraticProblem p = hand_example(1.0, 1);
  const auto trace = [&](int k, std::uint64_t seed) {
    auto local = p.local(k, seed);
    std::vector<float> x{0, 0}, g(2), all;
    for (int t = 0; t < 5; ++t) {
      local->grad(x, g);
      all.insert(all.end(), g.begin(), g.end());
    }
    return all;
  };
  EXPECT_EQ(trace(0, 3), trace(0, 3));
  EXPECT_NE(trace(0, 3), trace(0, 4));
  // Worker 1's noise differs, and not just by its different mean gradient.
  std::vector<float> w0 = trace(0, 3), w1 = trace(1, 3);
  EXPECT_NE(w0[0] - w0[2], w1[0] - w1[2]);
  EXPECT_THROW(p.local(2, 3), InvalidInput);
}

TEST(Quadratic, DiagonalAndDenseAgree) {
  std::vector<Eigen::VectorXd> diagonals{Eigen::Vector3d(1, 2, 0), Eigen::Vector3d(3, 0, 1)};
  std::vector<Eigen::VectorXd> centers{Eigen::Vector3d(1, -1, 2), Eigen::Vector3d(0, 4, -2)};
  const QuadraticProblem diag = QuadraticProblem::diagonal(diagonals, centers, 0, 1);
  const QuadraticProblem dense(
      {Eigen::MatrixXd(diagonals[0].asDiagonal()), Eigen::MatrixXd(diagonals[1].asDiagonal())},
      centers, 0, 1);
  // Coordinate-wise: x*_j = sum_k A_kj a_kj / sum_k A_kj = (1/4, -1, -2).
  EXPECT_NEAR(diag.minimizer()[0], 0.25, 1e-15);
  EXPECT_NEAR(diag.minimizer()[1], -1.0, 1e-15);
  EXPECT_NEAR(diag.minimizer()[2], -2.0, 1e-15);
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(dense.minimizer()[j], diag.minimizer()[j], 1e-14);
  EXPECT_NEAR(*dense.optimum_value(), *diag.optimum_value(), 1e-14);
  EXPECT_DOUBLE_EQ(diag.curvature().mu, 0.5);
  EXPECT_DOUBLE_EQ(diag.curvature().L, 2.0);
}

TEST(Quadratic, RejectsBadCurvature) {
  Eigen::MatrixXd asym(2, 2), indefinite(2, 2), singular(2, 2);
  asym << 1, 0.5, 0, 1;
  indefinite << 1, 2, 2, 1;
  singular << 1, 0, 0, 0;
  const std::vector<Eigen::VectorXd> one{Eigen::Vector2d(0, 0)};
  EXPECT_THROW(QuadraticProblem({asym}, one, 0, 1), InvalidInput);
  EXPECT_THROW(QuadraticProblem({indefinite}, one, 0, 1), InvalidInput);
  EXPECT_THROW(QuadraticProblem({singular}, one, 0, 1), InvalidInput);
  EXPECT_THROW(QuadraticProblem({singular, singular}, {one[0], one[0]}, 0, 1), InvalidInput);
  EXPECT_THROW(QuadraticProblem({Eigen::MatrixXd::Identity(2, 2)}, one, -1, 1), InvalidInput);
  EXPECT_THROW(QuadraticProblem({Eigen::MatrixXd::Identity(2, 2)}, one, 0, 0), InvalidInput);
  EXPECT_THROW(QuadraticProblem({Eigen::MatrixXd::Identity(3, 3)}, one, 0, 1), InvalidInput);
}

TEST(Quadratic, GeneratorFromSpec) {
  QuadraticSpec spec;
  spec.dim = 50;
  spec.workers = 8;
  spec.mu = 0.1;
  spec.L = 10;
  spec.spread = 2;
  spec.sigma = 0.5;
  spec.batch = 3;
  const auto p = make_quadratic_problem(spec, 11);
  EXPECT_EQ(p->dim(), 50u);
  EXPECT_EQ(p->workers(), 8);
  EXPECT_NEAR(p->curvature().mu, 0.1, 1e-15);
  EXPECT_NEAR(p->curvature().L, 10, 1e-13);
  // Equal A_k: x* is the plain mean of the centres; the centres have variance spread^2.
  double mean_square = 0;
  for (int j = 0; j < 50; ++j) {
    double mean = 0;
    for (int k = 0; k < 8; ++k) {
      const double a = p->term(k).center[j];
      mean += a / 8, mean_square += a * a / 400;
    }
    EXPECT_NEAR(p->minimizer()[j], mean, 1e-13);
  }
  EXPECT_NEAR(mean_square, 4.0, 4 * 4.0 * std::sqrt(2.0 / 400));
  // Log-spaced eigenvalues from mu to L: lambda_j lambda_{49-j} = mu L.
  EXPECT_NEAR(p->term(0).diagonal[49], 10, 1e-13);
  EXPECT_NEAR(p->term(3).diagonal[0] * p->term(3).diagonal[49], 1.0, 1e-14);
  // The same seed gives the same problem, another seed another.
  EXPECT_EQ(make_quadratic_problem(spec, 11)->minimizer(), p->minimizer());
  EXPECT_NE(make_quadratic_problem(spec, 12)->minimizer(), p->minimizer());
  // Shuffled eigenvalues: the mean's spectrum lies inside [mu, L], every A_k is a permutation.
  spec.shuffle_eigenvalues = true;
  const auto h = make_quadratic_problem(spec, 11);
  EXPECT_GE(h->curvature().mu, 0.1 - 1e-15);
  EXPECT_LE(h->curvature().L, 10 + 1e-13);
  EXPECT_NE(h->term(0).diagonal, h->term(1).diagonal);
  Eigen::VectorXd sorted = h->term(5).diagonal;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, p->term(0).diagonal);
  spec.mu = 0;
  EXPECT_THROW(make_quadratic_problem(spec, 1), InvalidInput);
}

TEST(Quadratic, StartsAtModelInitAndKeepsItsTermsAndOptimum) {
  QuadraticSpec spec;
  spec.dim = 6;
  spec.workers = 3;
  spec.mu = 0.5;
  spec.L = 4;
  spec.spread = 0;  // every optimum at the origin: x* = 0, F* = 0
  const auto zeros = make_quadratic_problem(spec, 9);
  std::vector<float> x(6, 1.0f);
  zeros->initial_point(x);
  EXPECT_EQ(x, std::vector<float>(6, 0.0f));  // the default: the origin, here the optimum
  EXPECT_EQ(zeros->evaluate(x).train_loss, 0.0);

  spec.init = {InitSpec::Kind::normal, 2.0};
  const auto normal = make_quadratic_problem(spec, 9);
  normal->initial_point(x);
  // x_0 = 2 N(0, I) from stream init of the seed, as the linear models draw theirs.
  Rng rng(9, streams::init);
  Eigen::VectorXd x0(6);
  for (int j = 0; j < 6; ++j) {
    x0[j] = 2.0 * rng.normal();
    EXPECT_EQ(x[std::size_t(j)], float(x0[j])) << j;
  }
  EXPECT_EQ(draw_initial_point(spec.init, 6, 9), std::vector<double>(x0.begin(), x0.end()));
  // The problem is the one of the zero start: same curvatures, centres and optimum.
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(normal->term(k).diagonal, zeros->term(k).diagonal);
    EXPECT_EQ(normal->term(k).center, zeros->term(k).center);
  }
  EXPECT_EQ(normal->minimizer(), zeros->minimizer());
  // F(x_0) = (1/2) sum_j lambda_j x_j^2 (equal A_k, centres 0), well above F* = 0.
  double f = 0;
  for (int j = 0; j < 6; ++j)
    f += 0.5 * normal->term(0).diagonal[j] * double(x[std::size_t(j)]) * double(x[std::size_t(j)]);
  EXPECT_NEAR(normal->evaluate(x).train_loss, f, 1e-12 * f);
  EXPECT_GT(f, 1.0);

  spec.init.scale = -1;
  EXPECT_THROW(make_quadratic_problem(spec, 9), InvalidInput);
}

}  // namespace
}  // namespace herd::model
