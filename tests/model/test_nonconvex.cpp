#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"
#include "herd/model/double_well.hpp"
#include "herd/model/mlp.hpp"
#include "test_data.hpp"

namespace herd::model {
namespace {

using testing::dense_random;
using testing::range;
using testing::set_classes;
using testing::shared;
using testing::to_csr;

// ---------------------------------------------------------------------------- double well

TEST(DoubleWell, ValueAndGradientClosedForms) {
  DoubleWellProblem p({.dim = 3, .workers = 2, .sigma = 0, .batch = 1, .x0 = {}});
  const std::vector<float> x{0.5f, -2.0f, 1.5f};
  // f = 0.75^2 + 3^2 + 1.25^2; grad_j = 4 x_j (x_j^2 - 1).
  const Evaluation e = p.evaluate(x);
  EXPECT_DOUBLE_EQ(e.train_loss, 11.125);
  EXPECT_DOUBLE_EQ(e.grad_norm2, 1.5 * 1.5 + 24.0 * 24.0 + 7.5 * 7.5);
  EXPECT_FALSE(e.train_acc.has_value());
  for (int k = 0; k < 2; ++k) {
    std::vector<float> g(3);
    EXPECT_DOUBLE_EQ(p.local(k, 7)->grad(x, g), 11.125);
    EXPECT_EQ(g, (std::vector<float>{-1.5f, -24.0f, 7.5f}));
  }
}

TEST(DoubleWell, MinimaAndStationaryPoints) {
  DoubleWellProblem p({.dim = 4, .workers = 1, .sigma = 0, .batch = 1, .x0 = {}});
  EXPECT_EQ(p.optimum_value(), 0.0);
  EXPECT_EQ(p.curvature().mu, 0.0);
  EXPECT_EQ(p.curvature().L, 8.0);
  const std::vector<float> minimum{1.0f, -1.0f, -1.0f, 1.0f}, zero(4, 0.0f);
  EXPECT_EQ(p.evaluate(minimum).train_loss, 0.0);
  EXPECT_EQ(p.evaluate(minimum).grad_norm2, 0.0);
  EXPECT_EQ(p.evaluate(zero).train_loss, 4.0);  // the local maximum: (0 - 1)^2 per coordinate
  EXPECT_EQ(p.evaluate(zero).grad_norm2, 0.0);
}

TEST(DoubleWell, MirrorImageStarts) {
  DoubleWellProblem p({.dim = 2, .workers = 4, .sigma = 0, .batch = 1, .x0 = {0.25, -3}});
  std::vector<float> x(2);
  p.initial_point(x);
  EXPECT_EQ(x, (std::vector<float>{0.25f, -3.0f}));
  for (int k = 0; k < 4; ++k) {
    p.worker_start(k, x);
    const float s = k % 2 == 0 ? 1.0f : -1.0f;
    EXPECT_EQ(x, (std::vector<float>{0.25f * s, -3.0f * s})) << "worker " << k;
  }
  DoubleWellProblem defaults({.dim = 3, .workers = 1, .sigma = 0, .batch = 1, .x0 = {}});
  defaults.initial_point(std::span<float>(x.data(), 2));
  EXPECT_EQ(x, (std::vector<float>{0.5f, 0.5f}));
  EXPECT_THROW(p.worker_start(4, x), InvalidInput);
  EXPECT_THROW(DoubleWellProblem({.dim = 3, .workers = 1, .sigma = 0, .batch = 1, .x0 = {1, 2}}),
               InvalidInput);
}

TEST(DoubleWell, GradientNoiseHasVarianceSigmaSquaredOverBatch) {
  const std::size_t d = 20000;
  DoubleWellProblem p({.dim = d, .workers = 2, .sigma = 2, .batch = 4, .x0 = {}});
  const std::vector<float> x(d, 1.0f);  // exact gradient 0: g is pure noise, std 2/sqrt(4) = 1
  std::vector<float> g(d), g_again(d), g_other(d);
  EXPECT_EQ(p.local(1, 3)->grad(x, g), 0.0);
  double mean = 0, sq = 0;
  for (const float v : g) mean += v, sq += double(v) * v;
  mean /= double(d);
  EXPECT_NEAR(mean, 0.0, 0.05);            // 7 standard errors
  EXPECT_NEAR(sq / double(d), 1.0, 0.07);  // ~7 standard errors of a chi-square mean
  p.local(1, 3)->grad(x, g_again);         // same stream: same draws
  EXPECT_EQ(g, g_again);
  p.local(0, 3)->grad(x, g_other);  // another worker: another stream
  EXPECT_NE(g, g_other);
}

// ---------------------------------------------------------------------------- MLP

struct MlpCase {
  Activation activation;
  double lambda;
  std::vector<std::size_t> hidden;
  bool sparse;
};

class MlpGradient : public ::testing::TestWithParam<MlpCase> {};

// Analytic gradient (double path) against central differences of the double loss; the float
// worker path against the double path.
TEST_P(MlpGradient, MatchesFiniteDifferences) {
  const MlpCase c = GetParam();
  data::Dataset d = dense_random(6, 5, 11);
  set_classes(d, 3, 12);
  if (c.sparse) d = to_csr(d);
  std::vector<std::size_t> layers{5};
  layers.insert(layers.end(), c.hidden.begin(), c.hidden.end());
  layers.push_back(3);
  const MlpNet net(layers, c.activation);
  std::vector<float> xf(net.dim());
  Rng rng(5, streams::init);
  net.initialize(rng, xf);
  for (float& v : xf) v += float(0.1 * rng.normal());  // non-zero biases too
  const std::vector<double> x(xf.begin(), xf.end());
  const std::vector<data::Index> rows = range(0, 6);
  const std::vector<double> w(6, 1.0 / 6);

  std::vector<double> g(net.dim());
  const double f = net.loss_grad<double>(d, rows, w, c.lambda, x, g);
  const double h = 1e-6;
  double err = 0, scale = 0;
  for (std::size_t j = 0; j < net.dim(); ++j) {
    std::vector<double> xp = x, xm = x;
    xp[j] += h, xm[j] -= h;
    const double fd = (net.loss_grad<double>(d, rows, w, c.lambda, xp, {}) -
                       net.loss_grad<double>(d, rows, w, c.lambda, xm, {})) /
                      (2 * h);
    err = std::max(err, std::abs(fd - g[j]));
    scale = std::max(scale, std::abs(g[j]));
  }
  EXPECT_GT(scale, 1e-2);
  EXPECT_LT(err, 1e-7 * std::max(1.0, scale));

  std::vector<float> gf(net.dim());
  const double ff = net.loss_grad<float>(d, rows, w, c.lambda, xf, gf);
  EXPECT_NEAR(ff, f, 1e-5 * std::max(1.0, f));
  for (std::size_t j = 0; j < net.dim(); ++j) EXPECT_NEAR(gf[j], g[j], 1e-5 * scale) << j;

  // The problem's worker oracle: one worker, shuffled epochs of the whole shard = full gradient.
  MlpProblemSpec s;
  s.train = shared(d);
  s.shards = {rows};
  s.hidden = c.hidden;
  s.activation = c.activation;
  s.lambda = c.lambda;
  s.batch = 6;
  s.sampling = data::Sampling::shuffled_epochs;
  const MlpProblem p(s);
  ASSERT_EQ(p.dim(), net.dim());
  std::vector<float> gp(p.dim());
  auto local = p.local(0, 9);
  EXPECT_NEAR(local->grad(xf, gp), f, 1e-5 * std::max(1.0, f));
  for (std::size_t j = 0; j < net.dim(); ++j) EXPECT_NEAR(gp[j], g[j], 1e-5 * scale) << j;
  EXPECT_EQ(local->epochs(), 1.0);
  const Evaluation e = p.evaluate(xf);
  EXPECT_NEAR(e.train_loss, f, 1e-12 * std::max(1.0, f));
  double gn = 0;
  for (const double v : g) gn += v * v;
  EXPECT_NEAR(e.grad_norm2, gn, 1e-12 * std::max(1.0, gn));
}

INSTANTIATE_TEST_SUITE_P(
    Nets, MlpGradient,
    ::testing::Values(MlpCase{Activation::relu, 0.0, {4}, false},
                      MlpCase{Activation::relu, 0.1, {4}, true},
                      MlpCase{Activation::tanh, 0.0, {4}, false},
                      MlpCase{Activation::tanh, 0.1, {4}, true},
                      MlpCase{Activation::relu, 0.05, {4, 3}, false},
                      MlpCase{Activation::tanh, 0.05, {4, 3}, false},
                      MlpCase{Activation::tanh, 0.0, {}, false}));  // softmax regression

double sample_std(const float* v, std::size_t n) {
  double s = 0, sq = 0;
  for (std::size_t j = 0; j < n; ++j) s += v[j], sq += double(v[j]) * v[j];
  const double m = s / double(n);
  return std::sqrt(sq / double(n) - m * m);
}

TEST(Mlp, HeAndXavierInitialisation) {
  data::Dataset d = dense_random(1, 400, 3);
  set_classes(d, 2, 4);
  d.num_classes = 2;
  for (const Activation a : {Activation::relu, Activation::tanh}) {
    MlpProblemSpec s;
    s.train = shared(d);
    s.shards = {{0}};
    s.hidden = {200};
    s.activation = a;
    s.seed = 17;
    const MlpProblem p(s);
    ASSERT_EQ(p.dim(), 200u * 401u + 2u * 201u);
    std::vector<float> x(p.dim());
    p.initial_point(x);
    const bool relu = a == Activation::relu;
    // 80,000 draws: the sample std's relative standard error is 1/sqrt(2n) = 0.25%.
    const double s0 = relu ? std::sqrt(2.0 / 400) : std::sqrt(2.0 / 600);
    EXPECT_NEAR(sample_std(x.data(), 80000), s0, 0.02 * s0);
    for (std::size_t j = 80000; j < 80200; ++j) ASSERT_EQ(x[j], 0.0f);  // biases
    const double s1 = relu ? std::sqrt(2.0 / 200) : std::sqrt(2.0 / 202);
    EXPECT_NEAR(sample_std(x.data() + 80200, 400), s1, 0.15 * s1);  // 4.2% standard error
    for (std::size_t j = 80600; j < p.dim(); ++j) ASSERT_EQ(x[j], 0.0f);
    std::vector<float> again(p.dim());
    p.initial_point(again);
    EXPECT_EQ(x, again);
  }
}

TEST(Mlp, SgdSeparatesThreeClusters) {
  // Three well separated clusters in the plane, 10 rows each.
  data::Dataset d;
  d.name = "clusters";
  d.rows = 30, d.cols = 2, d.num_classes = 3;
  const double centre[3][2] = {{3, 0}, {-3, 0}, {0, 3}};
  Rng rng(21, 0);
  for (std::size_t i = 0; i < d.rows; ++i) {
    const std::size_t c = i % 3;
    d.y.push_back(float(c));
    for (int j = 0; j < 2; ++j) d.val.push_back(float(centre[c][j] + 0.5 * rng.normal()));
  }
  MlpProblemSpec s;
  s.train = shared(d);
  s.shards = {range(0, 15), range(15, 30)};
  s.hidden = {8};
  s.batch = 5;
  s.seed = 2;
  const MlpProblem p(s);
  std::vector<float> x(p.dim()), g(p.dim()), g_sum(p.dim());
  p.initial_point(x);
  const double loss0 = p.evaluate(x).train_loss;
  auto w0 = p.local(0, 1), w1 = p.local(1, 1);
  for (int t = 0; t < 300; ++t) {  // synchronous SGD with the mean of both workers' gradients
    w0->grad(x, g_sum);
    w1->grad(x, g);
    axpy(1.0f, g, g_sum);
    axpy(-0.05f, g_sum, x);
  }
  const Evaluation e = p.evaluate(x);
  EXPECT_EQ(e.train_acc, 1.0);
  EXPECT_LT(e.train_loss, 0.05 * loss0);
  EXPECT_FALSE(e.test_loss.has_value());
}

TEST(Mlp, EqualWorkerWeightsOnUnequalShards) {
  data::Dataset d = dense_random(7, 5, 31);
  set_classes(d, 3, 32);
  data::Dataset test = dense_random(4, 5, 33);
  set_classes(test, 3, 34);
  MlpProblemSpec s;
  s.train = shared(d);
  s.test = shared(test);
  s.shards = {{0, 1}, {2, 3, 4, 5}};  // row 6 belongs to no worker
  s.hidden = {4};
  s.lambda = 0.2;
  s.seed = 8;
  const MlpProblem p(s);
  std::vector<float> xf(p.dim());
  p.initial_point(xf);
  const std::vector<double> x(xf.begin(), xf.end());

  // Per-row losses, gradients and hits without the regulariser, one row at a time.
  const std::vector<double> one{1.0};
  std::vector<double> loss(7), hit(7);
  std::vector<std::vector<double>> grad(7, std::vector<double>(p.dim()));
  for (data::Index i = 0; i < 7; ++i)
    loss[i] = p.net().loss_grad<double>(d, std::span(&i, 1), one, 0.0, x, grad[i], &hit[i]);
  double norm2 = 0;
  for (const double v : x) norm2 += v * v;
  const double f = 0.5 * (loss[0] + loss[1]) / 2 +
                   0.5 * (loss[2] + loss[3] + loss[4] + loss[5]) / 4 + 0.1 * norm2;
  double gn = 0;
  for (std::size_t j = 0; j < p.dim(); ++j) {
    const double gj = 0.25 * (grad[0][j] + grad[1][j]) +
                      0.125 * (grad[2][j] + grad[3][j] + grad[4][j] + grad[5][j]) + 0.2 * x[j];
    gn += gj * gj;
  }
  const double acc = 0.25 * (hit[0] + hit[1]) + 0.125 * (hit[2] + hit[3] + hit[4] + hit[5]);

  double test_loss = 0, test_hits = 0;
  for (data::Index i = 0; i < 4; ++i) {
    double h = 0;
    test_loss += p.net().loss_grad<double>(test, std::span(&i, 1), one, 0.0, x, {}, &h) / 4;
    test_hits += h / 4;
  }

  const Evaluation e = p.evaluate(xf);
  EXPECT_NEAR(e.train_loss, f, 1e-12);
  EXPECT_NEAR(e.grad_norm2, gn, 1e-12 * gn);
  EXPECT_NEAR(*e.train_acc, acc, 1e-15);
  EXPECT_NEAR(*e.test_loss, test_loss, 1e-12);
  EXPECT_NEAR(*e.test_acc, test_hits, 1e-15);
  EXPECT_EQ(p.shard_size(0), 2u);
  EXPECT_EQ(p.shard_size(1), 4u);
  EXPECT_FALSE(p.optimum_value().has_value());
  EXPECT_EQ(p.curvature().L, 0.0);
}

TEST(Mlp, RejectsBadInput) {
  data::Dataset d = dense_random(4, 3, 41);
  set_classes(d, 2, 42);
  MlpProblemSpec s;
  s.train = shared(d);
  s.shards = {{0, 1}, {}};
  EXPECT_THROW(MlpProblem{s}, InvalidInput);  // empty shard
  s.shards = {{0, 9}};
  EXPECT_THROW(MlpProblem{s}, InvalidInput);  // row out of range
  s.shards = {{0, 1}};
  s.hidden = {0};
  EXPECT_THROW(MlpProblem{s}, InvalidInput);  // zero width
  s.hidden = {4};
  data::Dataset bad = d;
  bad.y[2] = 2;
  s.train = shared(bad);
  EXPECT_THROW(MlpProblem{s}, InvalidInput);  // label outside the classes
  EXPECT_THROW(parse_activation("sigmoid"), InvalidInput);
  EXPECT_EQ(parse_activation("tanh"), Activation::tanh);
}

}  // namespace
}  // namespace herd::model
