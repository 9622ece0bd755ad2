#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include <Eigen/Dense>

#include "herd/core/error.hpp"
#include "herd/data/libsvm.hpp"
#include "herd/model/factory.hpp"
#include "herd/model/solver.hpp"
#include "test_data.hpp"

namespace herd::model {
namespace {

using testing::dense_random;
using testing::range;
using testing::set_classes;
using testing::set_targets;
using testing::shared;
using testing::to_csr;

DataProblemSpec spec_for(std::shared_ptr<const data::Dataset> train, ModelKind kind,
                         std::vector<std::vector<data::Index>> shards, double lambda) {
  DataProblemSpec s;
  s.train = std::move(train);
  s.model = kind;
  s.shards = std::move(shards);
  s.lambda = lambda;
  s.batch = 2;
  return s;
}

// F and ||grad F||^2 in double at a double point (evaluate() takes float parameters).
double objective(const DatasetProblem& p, const std::vector<double>& x,
                 double* grad_norm2 = nullptr) {
  std::vector<double> g(p.dim());
  const double f = p.model().loss_grad(p.train_set(), p.train_rows(), p.lambda(), x, g);
  if (grad_norm2) {
    *grad_norm2 = 0;
    for (const double v : g) *grad_norm2 += v * v;
  }
  return f;
}

TEST(DatasetProblem, EqualWorkerWeightsOnUnequalShards) {
  // 5 rows; worker 0 holds rows 0..3, worker 1 row 4, so row 4 weighs as much as rows 0..3
  // together: F = 1/2 mean(f_0..f_3) + 1/2 f_4 + lambda/2 ||x||^2.
  data::Dataset d;
  d.name = "five";
  d.rows = 5, d.cols = 2;
  d.val = {1, 0, 0, 2, -1, 1, 0.5f, -0.5f, 3, 1};
  d.y = {1, 0, 1, 1, 0};
  d.num_classes = 2;
  data::Dataset test = d;
  test.name = "five_test";
  const double lambda = 0.1;
  DataProblemSpec s = spec_for(shared(d), ModelKind::logistic, {{0, 1, 2, 3}, {4}}, lambda);
  s.test = shared(test);
  const DatasetProblem p(s);
  const std::vector<float> x{0.5f, -1.0f};

  double f = 0, g0 = 0, g1 = 0, right = 0, plain = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    const double w = i < 4 ? 0.125 : 0.5;
    const double a0 = d.val[2 * i], a1 = d.val[2 * i + 1];
    const double sgn = d.y[i] > 0.5f ? 1.0 : -1.0, z = a0 * 0.5 - a1;
    const double loss = std::log1p(std::exp(-sgn * z));
    const double slope = -sgn / (1.0 + std::exp(sgn * z));
    f += w * loss, plain += loss / 5;
    g0 += w * slope * a0, g1 += w * slope * a1;
    if ((z > 0) == (sgn > 0)) right += w;
  }
  const Evaluation e = p.evaluate(x);
  EXPECT_NEAR(e.train_loss, f + 0.5 * lambda * 1.25, 1e-15);
  g0 += lambda * 0.5, g1 += lambda * -1.0;
  EXPECT_NEAR(e.grad_norm2, g0 * g0 + g1 * g1, 1e-15);
  EXPECT_DOUBLE_EQ(*e.train_acc, right);
  // The test set's loss is the plain mean, without the regulariser.
  EXPECT_NEAR(*e.test_loss, plain, 1e-15);
  EXPECT_GT(std::abs(plain - f), 1e-2);  // the weighting matters on this example
  EXPECT_EQ(p.workers(), 2);
  EXPECT_EQ(p.shard_size(0), 4u);
  EXPECT_EQ(p.shard_size(1), 1u);
}

TEST(DatasetProblem, WiderOrEmptyTestSets) {
  data::Dataset d = dense_random(6, 2, 35);
  set_classes(d, 2, 36);
  data::Dataset wide = dense_random(4, 3, 37);
  set_classes(wide, 2, 38);
  DataProblemSpec s = spec_for(shared(d), ModelKind::logistic, {range(0, 6)}, 0.0);
  s.test = shared(wide);
  const DatasetProblem p(s);
  EXPECT_EQ(p.dim(), 3u);  // the test set's extra column gets a parameter
  const std::vector<float> x{0.5f, 0.25f, -1.0f};
  EXPECT_EQ(*p.evaluate(x).test_loss,
            p.model().loss_grad(wide, all_rows_mean(wide), 0.0,
                                std::vector<double>(x.begin(), x.end()), {}));
  data::Dataset empty;
  empty.num_classes = 2;
  s.test = shared(empty);
  const Evaluation e = DatasetProblem(s).evaluate(std::vector<float>{0.5f, 0.25f});
  EXPECT_FALSE(e.test_loss);
  EXPECT_FALSE(e.test_acc);
  EXPECT_TRUE(e.train_acc);
}

TEST(DatasetProblem, LeastSquaresOptimumIsTheNormalEquationsSolution) {
  data::Dataset d = dense_random(30, 4, 41);
  set_targets(d, 42);
  for (const bool sparse : {false, true}) {
    for (const double lambda : {0.05, 0.0}) {
      const DatasetProblem p(spec_for(shared(sparse ? to_csr(d) : d), ModelKind::least_squares,
                                      {range(0, 10), range(10, 30)}, lambda));
      // F = sum_i w_i 0.5 (a_i x - y_i)^2 + lambda/2 ||x||^2, w_i = 1/20 or 1/40.
      Eigen::MatrixXd a(30, 4);
      Eigen::VectorXd y(30), w(30);
      for (int i = 0; i < 30; ++i) {
        for (int j = 0; j < 4; ++j) a(i, j) = d.val[std::size_t(i * 4 + j)];
        y[i] = d.y[std::size_t(i)];
        w[i] = i < 10 ? 1.0 / 20 : 1.0 / 40;
      }
      const Eigen::MatrixXd normal =
          a.transpose() * w.asDiagonal() * a + lambda * Eigen::MatrixXd::Identity(4, 4);
      const Eigen::VectorXd x_star = normal.ldlt().solve(a.transpose() * w.asDiagonal() * y);
      const Eigen::VectorXd r = a * x_star - y;
      const double f_star = 0.5 * r.dot(w.asDiagonal() * r) + 0.5 * lambda * x_star.squaredNorm();
      ASSERT_TRUE(p.optimum_value());
      EXPECT_NEAR(*p.optimum_value(), f_star, 1e-10);
      const std::vector<double> solved = *p.optimum_point();
      for (int j = 0; j < 4; ++j) EXPECT_NEAR(solved[std::size_t(j)], x_star[j], 1e-9);
    }
  }
}

TEST(DatasetProblem, LogisticOptimumIsAMinimum) {
  data::Dataset d = dense_random(200, 6, 51);
  set_classes(d, 2, 52);
  for (const bool sparse : {false, true}) {
    const DatasetProblem p(spec_for(shared(sparse ? to_csr(d) : d), ModelKind::logistic,
                                    {range(0, 20), range(20, 120), range(120, 200)}, 1e-3));
    const std::optional<double> f_star = p.optimum_value();
    ASSERT_TRUE(f_star);
    const std::vector<double> x_star = *p.optimum_point();
    double grad_norm2;
    EXPECT_EQ(objective(p, x_star, &grad_norm2), *f_star);
    EXPECT_LT(grad_norm2, 1e-16);
    EXPECT_LT(*f_star, std::numbers::ln2);  // below F(0)
    Rng rng(53, 0);
    for (const double size : {1e-2, 1e-4, 1e-6}) {
      for (int trial = 0; trial < 20; ++trial) {
        std::vector<double> x = x_star;
        for (double& v : x) v += size * rng.normal();
        EXPECT_GE(objective(p, x), *f_star) << "perturbation " << size;
      }
    }
  }
}

TEST(DatasetProblem, TwoClassSoftmaxIsLogisticWithHalfTheRegularisation) {
  // Softmax scores x_1 - x_0 = u play logistic's a.u; at the optimum x_1 = -x_0 = u/2, whose
  // regulariser lambda/2 (||u||^2 / 2) is logistic's with lambda/2. Both solved by Newton,
  // with the Hessian formed by rank updates (dense) or by pairs of non-zeros (CSR).
  data::Dataset d = dense_random(300, 8, 55);
  set_classes(d, 2, 56);
  const std::vector<std::vector<data::Index>> shards{range(0, 100), range(100, 300)};
  for (const bool sparse : {false, true}) {
    const auto train = shared(sparse ? to_csr(d) : d);
    const DatasetProblem softmax(spec_for(train, ModelKind::softmax, shards, 0.02));
    const DatasetProblem logistic(spec_for(train, ModelKind::logistic, shards, 0.01));
    EXPECT_NEAR(*softmax.optimum_value(), *logistic.optimum_value(), 1e-14);
    const std::vector<double> xs = *softmax.optimum_point(), xl = *logistic.optimum_point();
    for (std::size_t j = 0; j < 8; ++j) {
      EXPECT_NEAR(xs[8 + j] - xs[j], xl[j], 1e-9);
      EXPECT_NEAR(xs[8 + j] + xs[j], 0.0, 1e-9);
    }
  }
}

TEST(DatasetProblem, NewtonAndLbfgsAgree) {
  // Softmax, 3 classes: Newton (Hessian given) and L-BFGS (none) reach the same minimum.
  data::Dataset d = to_csr(dense_random(120, 5, 61));
  set_classes(d, 3, 62);
  const LinearModel m = LinearModel::for_data(ModelKind::softmax, d, 5, "d");
  const WeightedRows rows = all_rows_mean(d);
  SmoothFunction fn;
  fn.dim = m.dim();
  fn.value_grad = [&](std::span<const double> x, std::span<double> g) {
    return m.loss_grad(d, rows, 0.01, x, g);
  };
  const MinimizeResult lbfgs = minimize(fn, std::vector<double>(m.dim(), 0.0));
  fn.hessian = [&](std::span<const double> x) { return m.hessian(d, rows, 0.01, x); };
  const MinimizeResult newton = minimize(fn, std::vector<double>(m.dim(), 0.0));
  EXPECT_LT(newton.grad_norm2, 1e-20);
  EXPECT_LT(lbfgs.grad_norm2, 1e-16);
  EXPECT_LT(newton.iterations, 20);
  EXPECT_NEAR(newton.value, lbfgs.value, 1e-13);
  for (std::size_t j = 0; j < m.dim(); ++j) EXPECT_NEAR(newton.x[j], lbfgs.x[j], 1e-6);
}

TEST(DatasetProblem, OptimumOnlyWhenAMinimiserExists) {
  data::Dataset d = dense_random(20, 3, 71);
  set_classes(d, 2, 72);
  EXPECT_FALSE(DatasetProblem(spec_for(shared(d), ModelKind::logistic, {range(0, 20)}, 0.0))
                   .optimum_value());
  EXPECT_FALSE(
      DatasetProblem(spec_for(shared(d), ModelKind::softmax, {range(0, 20)}, 0.0)).optimum_point());
  EXPECT_TRUE(DatasetProblem(spec_for(shared(d), ModelKind::least_squares, {range(0, 20)}, 0.0))
                  .optimum_value());
  EXPECT_TRUE(DatasetProblem(spec_for(shared(d), ModelKind::softmax, {range(0, 20)}, 1e-2))
                  .optimum_value());
}

TEST(DatasetProblem, OptimumIsSolvedOnceAcrossThreads) {
  data::Dataset d = dense_random(100, 4, 75);
  set_classes(d, 2, 76);
  const DatasetProblem p(
      spec_for(shared(d), ModelKind::logistic, {range(0, 50), range(50, 100)}, 1e-2));
  std::vector<double> seen(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < seen.size(); ++t)
    threads.emplace_back([&, t] { seen[t] = *p.optimum_value(); });
  for (auto& t : threads) t.join();
  for (const double v : seen) EXPECT_EQ(v, seen[0]);
}

TEST(DatasetProblem, CurvatureBoundsTheHessian) {
  data::Dataset d = dense_random(40, 4, 81);
  for (const ModelKind kind : {ModelKind::logistic, ModelKind::least_squares, ModelKind::softmax}) {
    set_classes(d, kind == ModelKind::softmax ? 3 : 2, 82);
    const double lambda = 0.02;
    const DatasetProblem p(spec_for(shared(d), kind, {range(0, 10), range(10, 40)}, lambda));
    const Curvature c = p.curvature();
    std::vector<std::vector<double>> points{std::vector<double>(p.dim(), 0.0), *p.optimum_point()};
    Rng rng(83, 0);
    for (int k = 0; k < 3; ++k) {
      points.emplace_back(p.dim());
      for (double& v : points.back()) v = rng.normal();
    }
    double largest = 0;
    for (const auto& x : points) {
      const Eigen::MatrixXd h = p.model().hessian(d, p.train_rows(), lambda, x);
      largest = std::max(
          largest, Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(h).eigenvalues().maxCoeff());
    }
    EXPECT_GE(c.L * (1 + 1e-9), largest) << to_string(kind);
    // Least squares has a constant Hessian, so the bound is its exact top eigenvalue.
    if (kind == ModelKind::least_squares) {
      // A constant Hessian: both constants are its exact extreme eigenvalues.
      const Eigen::VectorXd eig = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(
                                      p.model().hessian(d, p.train_rows(), lambda, points[0]))
                                      .eigenvalues();
      EXPECT_NEAR(c.L, eig.maxCoeff(), 1e-12);
      EXPECT_NEAR(c.mu, eig.minCoeff(), 1e-12);
      EXPECT_GT(c.mu, lambda);
    } else {
      EXPECT_EQ(c.mu, lambda);
    }
  }
}

TEST(DatasetProblem, SameSeedSameMinibatchesAndWorkersDiffer) {
  data::Dataset d = dense_random(50, 3, 91);
  set_classes(d, 2, 92);
  DataProblemSpec s = spec_for(shared(d), ModelKind::logistic, {range(0, 50), range(0, 50)}, 0.1);
  s.batch = 5;
  for (const data::Sampling mode :
       {data::Sampling::with_replacement, data::Sampling::shuffled_epochs}) {
    s.sampling = mode;
    const DatasetProblem p(s);
    const auto trace = [&](int k, std::uint64_t seed) {
      auto local = p.local(k, seed);
      std::vector<float> x{0.3f, -0.2f, 0.1f}, g(3), all;
      for (int step = 0; step < 8; ++step) {
        all.push_back(float(local->grad(x, g)));
        all.insert(all.end(), g.begin(), g.end());
      }
      EXPECT_EQ(local->batch(), 5u);
      EXPECT_DOUBLE_EQ(local->epochs(), 8 * 5 / 50.0);
      return all;
    };
    EXPECT_EQ(trace(0, 42), trace(0, 42));
    EXPECT_NE(trace(0, 42), trace(1, 42));  // same shard, another worker's stream
    EXPECT_NE(trace(0, 42), trace(0, 43));
  }
  EXPECT_THROW(DatasetProblem(s).local(2, 1), InvalidInput);
}

TEST(DatasetProblem, InitialPoint) {
  data::Dataset d = dense_random(10, 20, 95);
  set_classes(d, 10, 96);
  DataProblemSpec s = spec_for(shared(d), ModelKind::softmax, {range(0, 10)}, 0.0);
  std::vector<float> x(200, 1.0f);
  DatasetProblem(s).initial_point(x);
  EXPECT_EQ(x, std::vector<float>(200, 0.0f));
  s.init = {InitSpec::Kind::normal, 0.5};
  s.seed = 7;
  std::vector<float> again(200), other(200);
  DatasetProblem(s).initial_point(x);
  DatasetProblem(s).initial_point(again);
  s.seed = 8;
  DatasetProblem(s).initial_point(other);
  EXPECT_EQ(x, again);
  EXPECT_NE(x, other);
  double mean_square = 0;
  for (const float v : x) mean_square += double(v) * v / 200;
  EXPECT_NEAR(mean_square, 0.25, 0.1);  // scale^2, 4 standard errors
  EXPECT_EQ(parse_init_kind("normal"), InitSpec::Kind::normal);
  EXPECT_THROW(parse_init_kind("xavier"), InvalidInput);
}

TEST(DatasetProblem, RejectsBadSpecs) {
  data::Dataset d = dense_random(10, 2, 97);
  set_classes(d, 2, 98);
  const auto train = shared(d);
  EXPECT_THROW(DatasetProblem(spec_for(train, ModelKind::logistic, {range(0, 10), {}}, 0)),
               InvalidInput);
  EXPECT_THROW(DatasetProblem(spec_for(train, ModelKind::logistic, {{0, 10}}, 0)), InvalidInput);
  EXPECT_THROW(DatasetProblem(spec_for(train, ModelKind::logistic, {}, 0)), InvalidInput);
  EXPECT_THROW(DatasetProblem(spec_for(train, ModelKind::logistic, {range(0, 10)}, -1)),
               InvalidInput);
  EXPECT_THROW(DatasetProblem(spec_for(nullptr, ModelKind::logistic, {range(0, 10)}, 0)),
               InvalidInput);
  DataProblemSpec s = spec_for(train, ModelKind::logistic, {range(0, 10)}, 0);
  s.batch = 0;
  EXPECT_THROW(DatasetProblem{s}, InvalidInput);
  s.batch = 1;
  data::Dataset regression = d;
  set_targets(regression, 99);
  s.test = shared(regression);
  EXPECT_THROW(DatasetProblem{s}, InvalidInput);
}

TEST(DatasetProblem, A9aLogisticOptimum) {
  const std::string path = std::string(HERD_DATA_DIR) + "/libsvm/a9a";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  auto train = shared(data::read_libsvm(path));
  const data::Index n = data::Index(train->rows);
  std::vector<std::vector<data::Index>> shards{range(0, n / 8), range(n / 8, n / 2),
                                               range(n / 2, n)};
  DataProblemSpec s = spec_for(train, ModelKind::logistic, shards, 1.0 / n);
  const std::string test_path = path + ".t";
  if (std::filesystem::exists(test_path)) {
    data::LibsvmOptions options;
    options.num_features = train->cols;
    options.class_values = train->class_values;
    s.test = shared(data::read_libsvm(test_path, options));
  }
  const DatasetProblem p(s);
  const auto start = std::chrono::steady_clock::now();
  const double f_star = *p.optimum_value();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "a9a logistic F* = " << f_star << " solved in " << seconds << " s\n";
  double grad_norm2;
  objective(p, *p.optimum_point(), &grad_norm2);
  EXPECT_LT(grad_norm2, 1e-16);
  EXPECT_LT(f_star, std::numbers::ln2);
  const Curvature c = p.curvature();
  // Rows have at most 14 ones, so lambda_max(sum w a a') <= max ||a||^2 = 14.
  EXPECT_GT(c.L, c.mu);
  EXPECT_LE(c.L, 0.25 * 14 + c.mu);
  if (s.test) {
    const std::vector<double> x = *p.optimum_point();
    const Evaluation e = p.evaluate(std::vector<float>(x.begin(), x.end()));
    EXPECT_GT(*e.test_acc, 0.84);  // the usual ~85% of linear models on Adult
    EXPECT_LT(*e.test_acc, 0.86);
  }
}

}  // namespace
}  // namespace herd::model
