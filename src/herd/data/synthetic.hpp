#pragma once
// Synthetic linear models with known ground truth, for the default run and for tests.
//
// Rows a_i have E||a_i||^2 = 1: dense rows are N(0, 1/cols) in every entry; sparse rows have
// exactly max(1, round(density * cols)) non-zeros at uniformly chosen columns, each
// N(0, 1/nnz). The ground truth w has entries N(0, s^2) with s = synthetic_margin_scale, so
// the margin a.w is about N(0, s^2) whatever the dimension. Source k uses
//   w_k = w + heterogeneity * s * z_k,  z_k ~ N(0, I),
// so heterogeneity is relative: E||w_k - w||^2 = heterogeneity^2 E||w||^2.
//   logistic: class 1 with probability sigmoid(a.w_k), then flipped with probability noise.
//   linear:   y = a.w_k + noise * N(0, 1).
// Rows are split into contiguous blocks, one per source (sizes differ by at most one), and
// Dataset::source records the block. Everything is drawn from stream streams::data_generation
// of the seed: w, then the w_k, then the training rows, then the test rows.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "herd/data/dataset.hpp"

namespace herd::data {

// With s = 3 the noise-free Bayes accuracy E[sigmoid(|a.w|)] is about 0.84: the labels carry
// real signal, yet the classes are far from separable (s = 1 gives 0.68, s = 8 gives 0.93).
inline constexpr double synthetic_margin_scale = 3.0;

struct SyntheticSpec {
  std::string kind = "logistic";  // "logistic" | "linear"
  std::size_t rows = 1000, cols = 20;
  double density = 1.0;        // fraction of non-zeros in (0, 1]; 1 gives a dense Dataset
  double noise = 0.0;          // logistic: label flip probability; linear: noise std-dev
  int sources = 1;             // >= 1, at most rows
  double heterogeneity = 0.0;  // >= 0, relative spread of the per-source optima
  std::uint64_t seed = 0;
};

struct SyntheticData {
  Dataset train, test;                              // the same model; test may have 0 rows
  std::vector<double> weights;                      // w
  std::vector<std::vector<double>> source_weights;  // w_k, one per source
};

// InvalidInput names the field at fault.
Dataset make_synthetic(const SyntheticSpec& spec);
// train equals make_synthetic(spec); test rows are split over the sources the same way.
SyntheticData make_synthetic_pair(const SyntheticSpec& spec, std::size_t test_rows);

}  // namespace herd::data
