#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/model/linear_models.hpp"
#include "test_data.hpp"

namespace herd::model {
namespace {

using testing::dense_random;
using testing::set_classes;
using testing::set_targets;
using testing::to_csr;

struct Case {
  ModelKind kind;
  int classes;  // 0: regression targets
  bool sparse;
  double lambda;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return to_string(c.kind) + "_" + (c.classes == 0 ? "regression" : std::to_string(c.classes)) +
         (c.sparse ? "_csr" : "_dense") + (c.lambda > 0 ? "_l2" : "_plain");
}

data::Dataset make_data(const Case& c, std::size_t rows = 9, std::size_t cols = 5) {
  data::Dataset d = dense_random(rows, cols, 11);
  if (c.classes == 0)
    set_targets(d, 12);
  else
    set_classes(d, c.classes, 13);
  return c.sparse ? to_csr(d) : d;
}

// A weighted subset with a repeated row and uneven weights, as F's shard weights give.
WeightedRows some_rows() {
  return {{0, 2, 3, 3, 5, 6, 8}, {0.1, 0.25, 0.05, 0.2, 0.15, 0.125, 0.125}};
}

std::vector<double> random_point(std::size_t n, std::uint64_t seed) {
  Rng rng(seed, 3);
  std::vector<double> x(n);
  for (double& v : x) v = 0.7 * rng.normal();
  return x;
}

class ModelDerivatives : public ::testing::TestWithParam<Case> {};

TEST_P(ModelDerivatives, GradientMatchesCentralDifferences) {
  const Case c = GetParam();
  const data::Dataset d = make_data(c);
  const LinearModel m = LinearModel::for_data(c.kind, d, d.cols, "test data");
  const WeightedRows rows = some_rows();
  const std::vector<double> x = random_point(m.dim(), 5);
  std::vector<double> g(m.dim());
  m.loss_grad(d, rows, c.lambda, x, g);
  const double h = 1e-5;
  for (std::size_t j = 0; j < m.dim(); ++j) {
    std::vector<double> xp = x, xm = x;
    xp[j] += h, xm[j] -= h;
    const double fd =
        (m.loss_grad(d, rows, c.lambda, xp, {}) - m.loss_grad(d, rows, c.lambda, xm, {})) / (2 * h);
    EXPECT_NEAR(g[j], fd, 1e-8 * std::max(1.0, std::abs(fd))) << "coordinate " << j;
  }
}

TEST_P(ModelDerivatives, HessianMatchesDifferencesOfTheGradient) {
  const Case c = GetParam();
  const data::Dataset d = make_data(c);
  const LinearModel m = LinearModel::for_data(c.kind, d, d.cols, "test data");
  const WeightedRows rows = some_rows();
  const std::vector<double> x = random_point(m.dim(), 6);
  const Eigen::MatrixXd hess = m.hessian(d, rows, c.lambda, x);
  const double h = 1e-5;
  std::vector<double> gp(m.dim()), gm(m.dim());
  for (std::size_t j = 0; j < m.dim(); ++j) {
    std::vector<double> xp = x, xm = x;
    xp[j] += h, xm[j] -= h;
    m.loss_grad(d, rows, c.lambda, xp, gp);
    m.loss_grad(d, rows, c.lambda, xm, gm);
    for (std::size_t i = 0; i < m.dim(); ++i)
      EXPECT_NEAR(hess(Eigen::Index(i), Eigen::Index(j)), (gp[i] - gm[i]) / (2 * h), 1e-7)
          << "entry " << i << ", " << j;
  }
}

TEST_P(ModelDerivatives, DenseAndCsrAgree) {
  Case c = GetParam();
  c.sparse = false;
  const data::Dataset dense = make_data(c), csr = to_csr(dense);
  const LinearModel m = LinearModel::for_data(c.kind, dense, dense.cols, "test data");
  const std::vector<double> x = random_point(m.dim(), 7);
  std::vector<double> gd(m.dim()), gs(m.dim());
  const double fd = m.loss_grad(dense, some_rows(), c.lambda, x, gd);
  const double fs = m.loss_grad(csr, some_rows(), c.lambda, x, gs);
  EXPECT_NEAR(fd, fs, 1e-13);
  for (std::size_t j = 0; j < m.dim(); ++j) EXPECT_NEAR(gd[j], gs[j], 1e-13);
}

TEST_P(ModelDerivatives, FloatMinibatchMatchesDoubleFullBatch) {
  const Case c = GetParam();
  const data::Dataset d = make_data(c);
  const LinearModel m = LinearModel::for_data(c.kind, d, d.cols, "test data");
  const std::vector<data::Index> batch{4, 1, 7, 1, 0};
  WeightedRows same{batch, std::vector<double>(batch.size(), 1.0 / double(batch.size()))};
  const std::vector<double> xd = random_point(m.dim(), 8);
  const std::vector<float> xf(xd.begin(), xd.end());
  const std::vector<double> x_rounded(xf.begin(), xf.end());
  std::vector<float> gf(m.dim());
  std::vector<double> gd(m.dim());
  const double loss_f = m.batch_loss_grad(d, batch, c.lambda, xf, gf);
  const double loss_d = m.loss_grad(d, same, c.lambda, x_rounded, gd);
  EXPECT_NEAR(loss_f, loss_d, 1e-12 * std::max(1.0, loss_d));  // loss accumulates in double
  for (std::size_t j = 0; j < m.dim(); ++j)
    EXPECT_NEAR(gf[j], gd[j], 2e-6 * std::max(1.0, std::abs(gd[j]))) << "coordinate " << j;
}

INSTANTIATE_TEST_SUITE_P(
    AllModels, ModelDerivatives,
    ::testing::Values(
        Case{ModelKind::logistic, 2, false, 0}, Case{ModelKind::logistic, 2, true, 0.3},
        Case{ModelKind::logistic, 2, true, 0}, Case{ModelKind::logistic, 2, false, 0.3},
        Case{ModelKind::least_squares, 0, false, 0}, Case{ModelKind::least_squares, 0, true, 0.3},
        Case{ModelKind::least_squares, 2, true, 0}, Case{ModelKind::least_squares, 2, false, 0.3},
        Case{ModelKind::softmax, 3, false, 0}, Case{ModelKind::softmax, 3, true, 0.3},
        Case{ModelKind::softmax, 4, true, 0}, Case{ModelKind::softmax, 4, false, 0.3}),
    case_name);

TEST(LinearModels, ClosedFormsAtZero) {
  // x = 0: every logistic loss is log 2, every softmax loss log C, binary least squares 0.5
  // (targets -1/+1), regression least squares 0.5 y^2; the regulariser vanishes.
  data::Dataset d = dense_random(6, 3, 21);
  const WeightedRows mean = all_rows_mean(d);
  set_classes(d, 2, 22);
  const std::vector<double> zero3(3, 0.0);
  EXPECT_NEAR(
      LinearModel::for_data(ModelKind::logistic, d, 3, "d").loss_grad(d, mean, 1.0, zero3, {}),
      std::numbers::ln2, 1e-15);
  EXPECT_NEAR(
      LinearModel::for_data(ModelKind::least_squares, d, 3, "d").loss_grad(d, mean, 1.0, zero3, {}),
      0.5, 1e-15);
  set_classes(d, 5, 23);
  const std::vector<double> zero15(15, 0.0);
  EXPECT_NEAR(
      LinearModel::for_data(ModelKind::softmax, d, 3, "d").loss_grad(d, mean, 1.0, zero15, {}),
      std::log(5.0), 1e-15);
  set_targets(d, 24);
  double half_mean_y2 = 0;
  for (const float y : d.y) half_mean_y2 += 0.5 * double(y) * double(y) / 6.0;
  EXPECT_NEAR(
      LinearModel::for_data(ModelKind::least_squares, d, 3, "d").loss_grad(d, mean, 1.0, zero3, {}),
      half_mean_y2, 1e-15);
  // The regulariser: lambda/2 ||x||^2 on top, lambda x in the gradient.
  set_classes(d, 2, 25);
  const LinearModel m = LinearModel::for_data(ModelKind::logistic, d, 3, "d");
  const std::vector<double> x{1.0, -2.0, 0.5};
  std::vector<double> g0(3), g1(3);
  const double f0 = m.loss_grad(d, mean, 0.0, x, g0), f1 = m.loss_grad(d, mean, 0.2, x, g1);
  EXPECT_NEAR(f1 - f0, 0.1 * 5.25, 1e-14);
  for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(g1[j] - g0[j], 0.2 * x[j], 1e-15);
}

TEST(LinearModels, LossesStayFiniteAtHugeMargins) {
  data::Dataset d;
  d.rows = 2, d.cols = 1;
  d.val = {1.0f, -1.0f};
  d.y = {1.0f, 1.0f};
  d.num_classes = 2;
  const LinearModel logistic = LinearModel::for_data(ModelKind::logistic, d, 1, "d");
  const std::vector<double> x{1000.0};
  std::vector<double> g(1);
  // Row 0: margin +1000, loss log(1 + e^-1000) = 0; row 1: margin -1000, loss 1000, slope 1.
  EXPECT_EQ(logistic.loss_grad(d, {{0}, {1.0}}, 0, x, g), 0.0);
  EXPECT_EQ(g[0], 0.0);
  EXPECT_EQ(logistic.loss_grad(d, {{1}, {1.0}}, 0, x, g), 1000.0);
  EXPECT_EQ(g[0], 1.0);  // -s sigmoid(1000) a = -1 * 1 * -1
  // Softmax with scores 1000, 0, -1000 on a row of class 2: loss 2000 exactly.
  d.num_classes = 3;
  d.y = {2.0f, 0.0f};
  const LinearModel softmax = LinearModel::for_data(ModelKind::softmax, d, 1, "d");
  std::vector<double> gs(3);
  EXPECT_EQ(softmax.loss_grad(d, {{0}, {1.0}}, 0, std::vector<double>{1000.0, 0.0, -1000.0}, gs),
            2000.0);
  EXPECT_EQ(gs, (std::vector<double>{1.0, 0.0, -1.0}));
}

TEST(LinearModels, AccuracyCountsWeightedCorrectRows) {
  data::Dataset d;
  d.rows = 4, d.cols = 1;
  d.val = {1.0f, -1.0f, 2.0f, -2.0f};
  d.y = {1.0f, 1.0f, 1.0f, 0.0f};  // x = 1 predicts 1, 0, 1, 0: rows 0, 2, 3 right
  d.num_classes = 2;
  const LinearModel m = LinearModel::for_data(ModelKind::logistic, d, 1, "d");
  const std::vector<double> x{1.0};
  EXPECT_DOUBLE_EQ(*m.accuracy(d, all_rows_mean(d), x), 0.75);
  EXPECT_DOUBLE_EQ(*m.accuracy(d, {{0, 1, 2, 3}, {0.1, 0.6, 0.1, 0.2}}, x), 0.4);
  set_targets(d, 1);
  EXPECT_FALSE(
      LinearModel::for_data(ModelKind::least_squares, d, 1, "d").accuracy(d, all_rows_mean(d), x));
}

TEST(LinearModels, PowerIterationFindsTheTopEigenvalueOfTheWeightedGram) {
  const data::Dataset d = to_csr(dense_random(30, 6, 41));
  const WeightedRows rows = some_rows();
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(6, 6);
  for (std::size_t j = 0; j < rows.rows.size(); ++j) {
    Eigen::VectorXd a = Eigen::VectorXd::Zero(6);
    d.row_axpy(rows.rows[j], 1.0, std::span<double>(a.data(), 6));
    gram += rows.weight[j] * a * a.transpose();
  }
  const double top = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(gram).eigenvalues().maxCoeff();
  // 8 features: columns 6 and 7 are empty, as when a test set widens the model.
  EXPECT_NEAR(weighted_gram_max_eigenvalue(d, rows, 8), top, 1e-8 * top);
}

TEST(LinearModels, WrongLabelsAreInvalidInput) {
  data::Dataset d = dense_random(4, 2, 31);
  set_classes(d, 3, 32);
  const auto message_of = [&](ModelKind kind) {
    try {
      LinearModel::for_data(kind, d, 2, "train set toy");
    } catch (const InvalidInput& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message_of(ModelKind::logistic),
            "logistic model: train set toy has 3 classes; logistic regression needs 2 classes");
  EXPECT_EQ(message_of(ModelKind::least_squares),
            "least_squares model: train set toy has 3 classes; least squares needs regression "
            "targets or 2 classes");
  set_targets(d, 33);
  EXPECT_EQ(
      message_of(ModelKind::softmax),
      "softmax model: train set toy has regression targets; softmax regression needs classes");
  set_classes(d, 2, 34);
  d.y[2] = 0.5f;
  EXPECT_EQ(message_of(ModelKind::logistic),
            "logistic model: train set toy row 2 has label 0.5, not a class index 0..1");
  // More columns than the model has features.
  d.y[2] = 1.0f;
  EXPECT_THROW(LinearModel::for_data(ModelKind::logistic, d, 1, "x"), InvalidInput);
  EXPECT_THROW(parse_model_kind("svm"), InvalidInput);
  EXPECT_EQ(parse_model_kind("least_squares"), ModelKind::least_squares);
}

}  // namespace
}  // namespace herd::model

namespace herd::model {
namespace {

TEST(LinearModels, DenseHessianWithRowsAMultipleOfTheBlockSize) {
  // The dense Hessian adds rank-one terms in blocks of 256 rows; 512 rows leave no partial
  // block (an empty final rank update once crashed Eigen's blocking heuristic).
  for (std::size_t n : {255u, 256u, 512u}) {
    data::Dataset d = testing::dense_random(n, 6, 4);
    testing::set_classes(d, 2, 4);
    const LinearModel m = LinearModel::for_data(ModelKind::logistic, d, d.cols, "test data");
    const std::vector<double> x(m.dim(), 0.1);
    const Eigen::MatrixXd h = m.hessian(d, all_rows_mean(d), 0.5, x);
    // At any x the logistic Hessian is A' diag(w sigma (1 - sigma)) A + lambda I >= lambda I.
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(h);
    EXPECT_GE(eig.eigenvalues().minCoeff(), 0.5 - 1e-12) << n;
    EXPECT_LT(eig.eigenvalues().maxCoeff(), 0.5 + 0.25 * 6 * 10) << n;
  }
}

}  // namespace
}  // namespace herd::model
