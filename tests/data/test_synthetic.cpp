#include <gtest/gtest.h>

#include "expect_dataset.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/data/synthetic.hpp"

namespace herd::data {
namespace {

double margin(const Dataset& d, std::size_t i, const std::vector<double>& w) {
  return d.row_dot(i, std::span<const double>(w));
}

double mean_row_norm2(const Dataset& d) {
  double sum = 0.0;
  for (std::size_t i = 0; i < d.rows; ++i) {
    std::vector<double> row(d.cols, 0.0);
    d.row_axpy(i, 1.0, std::span<double>(row));
    sum += std::inner_product(row.begin(), row.end(), row.begin(), 0.0);
  }
  return sum / double(d.rows);
}

// Fraction of rows whose label agrees with the sign of a.w.
double accuracy(const Dataset& d, const std::vector<double>& w, std::size_t begin,
                std::size_t end) {
  std::size_t right = 0;
  for (std::size_t i = begin; i < end; ++i) right += (margin(d, i, w) > 0) == (d.y[i] == 1.0f);
  return double(right) / double(end - begin);
}

TEST(Synthetic, DeterministicBySeed) {
  const SyntheticSpec spec{.rows = 300, .cols = 40, .density = 0.2, .noise = 0.1, .seed = 7};
  const Dataset a = make_synthetic(spec), b = make_synthetic(spec);
  expect_same_dataset(a, b);
  SyntheticSpec other = spec;
  other.seed = 8;
  EXPECT_NE(make_synthetic(other).val, a.val);
  // The pair's training part is the plain data set; its test part comes after it.
  const SyntheticData pair = make_synthetic_pair(spec, 100);
  expect_same_dataset(pair.train, a);
  EXPECT_EQ(pair.test.rows, 100u);
  EXPECT_EQ(pair.test.y.size(), 100u);
}

TEST(Synthetic, DenseShapeAndUnitRowNorm) {
  const Dataset d = make_synthetic({.rows = 2000, .cols = 50, .seed = 1});
  EXPECT_FALSE(d.sparse);
  EXPECT_EQ(d.rows, 2000u);
  EXPECT_EQ(d.cols, 50u);
  EXPECT_EQ(d.val.size(), 2000u * 50u);
  EXPECT_TRUE(d.row_ptr.empty());
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_EQ(d.class_values, (std::vector<double>{0, 1}));
  // ||a||^2 ~ chi2(50) / 50: the mean over 2000 rows has standard deviation 0.0045.
  EXPECT_NEAR(mean_row_norm2(d), 1.0, 0.025);
}

TEST(Synthetic, SparseShapeDensityAndUnitRowNorm) {
  const Dataset d = make_synthetic({.rows = 2000, .cols = 100, .density = 0.1, .seed = 2});
  EXPECT_TRUE(d.sparse);
  ASSERT_EQ(d.row_ptr.size(), 2001u);
  EXPECT_EQ(d.nnz(), 2000u * 10u);  // exactly round(0.1 * 100) per row
  for (std::size_t i = 0; i < d.rows; ++i) {
    ASSERT_EQ(d.row_ptr[i + 1] - d.row_ptr[i], 10u);
    for (std::uint64_t p = d.row_ptr[i]; p < d.row_ptr[i + 1]; ++p) {
      ASSERT_LT(d.col[p], 100u);
      if (p > d.row_ptr[i]) {
        ASSERT_LT(d.col[p - 1], d.col[p]);
      }
    }
  }
  // ||a||^2 ~ chi2(10) / 10: standard deviation of the mean 0.01.
  EXPECT_NEAR(mean_row_norm2(d), 1.0, 0.05);
  // Every column is used about equally: 200 expected non-zeros each.
  std::vector<int> per_col(100, 0);
  for (const Index c : d.col) ++per_col[c];
  EXPECT_GT(*std::min_element(per_col.begin(), per_col.end()), 140);
  EXPECT_LT(*std::max_element(per_col.begin(), per_col.end()), 260);

  const Dataset tiny = make_synthetic({.rows = 10, .cols = 1000, .density = 1e-6});
  EXPECT_EQ(tiny.nnz(), 10u);  // at least one non-zero per row
}

TEST(Synthetic, LogisticLabelsAreBalancedAndInformative) {
  const SyntheticData clean = make_synthetic_pair({.rows = 4000, .cols = 30, .seed = 3}, 2000);
  const Dataset& d = clean.train;
  const double positives = std::accumulate(d.y.begin(), d.y.end(), 0.0) / double(d.rows);
  EXPECT_NEAR(positives, 0.5, 0.05);
  for (const float y : d.y) ASSERT_TRUE(y == 0.0f || y == 1.0f);
  // The margin scale s = 3 makes the Bayes accuracy E[sigmoid(|a.w|)] about 0.84.
  const double bayes = accuracy(d, clean.weights, 0, d.rows);
  EXPECT_GT(bayes, 0.80);
  EXPECT_LT(bayes, 0.88);
  EXPECT_NEAR(accuracy(clean.test, clean.weights, 0, clean.test.rows), bayes, 0.04);

  // Flipping labels with probability 0.2: accuracy 0.8 * 0.84 + 0.2 * 0.16 = 0.70.
  const Dataset noisy = make_synthetic({.rows = 4000, .cols = 30, .noise = 0.2, .seed = 3});
  EXPECT_EQ(noisy.val, d.val);  // noise changes labels only
  EXPECT_NEAR(accuracy(noisy, clean.weights, 0, noisy.rows), 0.70, 0.04);
}

TEST(Synthetic, LinearTargetsCarryTheRequestedNoise) {
  const SyntheticData data = make_synthetic_pair(
      {.kind = "linear", .rows = 3000, .cols = 25, .noise = 0.5, .seed = 4}, 10);
  const Dataset& d = data.train;
  EXPECT_EQ(d.num_classes, 0);
  EXPECT_TRUE(d.class_values.empty());
  double residual2 = 0.0, signal2 = 0.0;
  for (std::size_t i = 0; i < d.rows; ++i) {
    const double z = margin(d, i, data.weights);
    residual2 += (d.y[i] - z) * (d.y[i] - z);
    signal2 += z * z;
  }
  // Residual variance 0.25 (3000 samples: relative std 2.6 %); signal variance ||w||^2 / cols.
  EXPECT_NEAR(residual2 / double(d.rows), 0.25, 0.025);
  const double w2 =
      std::inner_product(data.weights.begin(), data.weights.end(), data.weights.begin(), 0.0);
  EXPECT_NEAR(signal2 / double(d.rows), w2 / 25.0, 0.1 * w2 / 25.0);
  // Entries of w are N(0, 9): ||w||^2 / 25 is 9 give or take 2.5.
  EXPECT_GT(w2 / 25.0, 4.0);
  EXPECT_LT(w2 / 25.0, 16.0);
}

TEST(Synthetic, SourcesAreContiguousBlocks) {
  const Dataset d = make_synthetic({.rows = 10, .cols = 3, .sources = 3});
  EXPECT_EQ(d.source, (std::vector<Index>{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}));
  const Dataset one = make_synthetic({.rows = 5, .cols = 3});
  EXPECT_EQ(one.source, std::vector<Index>(5, 0));
}

TEST(Synthetic, HeterogeneityMovesPerSourceOptima) {
  const SyntheticData same =
      make_synthetic_pair({.rows = 100, .cols = 200, .sources = 4, .seed = 5}, 0);
  ASSERT_EQ(same.source_weights.size(), 4u);
  for (const auto& wk : same.source_weights) EXPECT_EQ(wk, same.weights);

  const SyntheticData spread = make_synthetic_pair(
      {.rows = 100, .cols = 200, .sources = 4, .heterogeneity = 0.5, .seed = 5}, 0);
  EXPECT_EQ(spread.weights, same.weights);  // w is drawn first, whatever the spread
  const auto norm2 = [](const std::vector<double>& v) {
    return std::inner_product(v.begin(), v.end(), v.begin(), 0.0);
  };
  for (std::size_t k = 0; k < 4; ++k) {
    std::vector<double> diff(200);
    for (std::size_t j = 0; j < 200; ++j) diff[j] = spread.source_weights[k][j] - spread.weights[j];
    // E||w_k - w||^2 / E||w||^2 = heterogeneity^2 = 0.25.
    EXPECT_NEAR(norm2(diff) / norm2(spread.weights), 0.25, 0.1) << "source " << k;
    if (k > 0) {
      EXPECT_NE(spread.source_weights[k], spread.source_weights[k - 1]);
    }
  }

  // With a large spread each block follows its own optimum, not the other's.
  const SyntheticData far = make_synthetic_pair(
      {.rows = 8000, .cols = 20, .sources = 2, .heterogeneity = 2.0, .seed = 6}, 0);
  const Dataset& d = far.train;
  EXPECT_EQ(d.source[3999], 0u);
  EXPECT_EQ(d.source[4000], 1u);
  const auto& w = far.source_weights;
  EXPECT_GT(accuracy(d, w[0], 0, 4000), accuracy(d, w[1], 0, 4000) + 0.1);
  EXPECT_GT(accuracy(d, w[1], 4000, 8000), accuracy(d, w[0], 4000, 8000) + 0.1);
}

TEST(Synthetic, TestSetSharesTheModelAndSources) {
  const SyntheticData data = make_synthetic_pair(
      {.rows = 40, .cols = 5, .density = 0.6, .sources = 4, .heterogeneity = 1.0, .seed = 9}, 8);
  EXPECT_TRUE(data.test.sparse);
  EXPECT_EQ(data.test.cols, 5u);
  EXPECT_EQ(data.test.nnz(), 8u * 3u);
  EXPECT_EQ(data.test.source, (std::vector<Index>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_NE(data.test.name, data.train.name);
  EXPECT_EQ(make_synthetic_pair({.rows = 4, .cols = 2}, 0).test.rows, 0u);
}

TEST(Synthetic, RejectsImpossibleSpecs) {
  const auto rejects = [](const SyntheticSpec& spec, const char* names) {
    try {
      make_synthetic(spec);
      ADD_FAILURE() << "accepted a spec with bad " << names;
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    }
  };
  rejects({.kind = "quadratic"}, "kind");
  rejects({.rows = 0}, "rows");
  rejects({.cols = 0}, "cols");
  rejects({.density = 0.0}, "density");
  rejects({.density = 1.5}, "density");
  rejects({.noise = -0.1}, "noise");
  rejects({.noise = 1.5}, "noise");
  rejects({.kind = "linear", .noise = -1.0}, "noise");
  rejects({.sources = 0}, "sources");
  rejects({.rows = 3, .sources = 4}, "sources");
  rejects({.heterogeneity = -1.0}, "heterogeneity");
  rejects({.heterogeneity = std::nan("")}, "heterogeneity");
}

}  // namespace
}  // namespace herd::data
