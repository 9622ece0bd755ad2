#pragma once
// Small hand-made data sets for the model tests (no reader involved).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "herd/core/rng.hpp"
#include "herd/data/dataset.hpp"

namespace herd::model::testing {

// rows x cols, dense, about a third of the entries exactly zero so that to_csr() differs.
inline data::Dataset dense_random(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  data::Dataset d;
  d.name = "dense_random";
  d.rows = rows, d.cols = cols;
  d.val.resize(rows * cols);
  Rng rng(seed, 0);
  for (float& v : d.val) v = rng.uniform() < 0.35 ? 0.0f : float(rng.normal());
  return d;
}

inline void set_classes(data::Dataset& d, int classes, std::uint64_t seed) {
  Rng rng(seed, 1);
  d.num_classes = classes;
  d.y.resize(d.rows);
  for (float& y : d.y) y = float(rng.below(std::uint64_t(classes)));
}

inline void set_targets(data::Dataset& d, std::uint64_t seed) {
  Rng rng(seed, 2);
  d.num_classes = 0;
  d.y.resize(d.rows);
  for (float& y : d.y) y = float(rng.normal());
}

// The same rows in CSR form (zeros dropped), labels copied.
inline data::Dataset to_csr(const data::Dataset& dense) {
  data::Dataset s;
  s.name = dense.name + "_csr";
  s.rows = dense.rows, s.cols = dense.cols;
  s.sparse = true;
  s.row_ptr.push_back(0);
  for (std::size_t i = 0; i < dense.rows; ++i) {
    for (std::size_t j = 0; j < dense.cols; ++j) {
      const float v = dense.val[i * dense.cols + j];
      if (v == 0.0f) continue;
      s.col.push_back(data::Index(j));
      s.val.push_back(v);
    }
    s.row_ptr.push_back(s.col.size());
  }
  s.y = dense.y;
  s.num_classes = dense.num_classes;
  return s;
}

inline std::shared_ptr<const data::Dataset> shared(data::Dataset d) {
  return std::make_shared<const data::Dataset>(std::move(d));
}

// The row indices from, ..., to - 1.
inline std::vector<data::Index> range(data::Index from, data::Index to) {
  std::vector<data::Index> r;
  for (data::Index i = from; i < to; ++i) r.push_back(i);
  return r;
}

}  // namespace herd::model::testing
