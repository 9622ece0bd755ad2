#pragma once
// A supervised data set: a feature matrix (dense row-major, or CSR sparse) and one label per
// row. Models read rows only through row_dot / row_axpy, so both layouts serve every model.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "herd/core/kernels.hpp"

namespace herd::data {

using Index = std::uint32_t;  // row or column index

struct Dataset {
  std::string name;  // the file it came from, or the generator that made it
  std::size_t rows = 0, cols = 0;
  bool sparse = false;
  // Sparse: CSR with row_ptr.size() == rows + 1, col/val of length nnz, columns 0-based and
  // strictly increasing within a row. Dense: val holds rows * cols values, row-major.
  std::vector<std::uint64_t> row_ptr;
  std::vector<Index> col;
  std::vector<float> val;
  // Classification: y[i] is the class index 0..num_classes-1. Regression: num_classes == 0
  // and y[i] is the target.
  std::vector<float> y;
  int num_classes = 0;
  std::string label_mapping;  // how file labels became classes, e.g. "-1 -> 0, +1 -> 1"
  // Classification: class_values[c] is the label value class c stands for (ascending; for a
  // file, the label written in it), so a test file can be read with the training file's
  // mapping. Empty for regression.
  std::vector<double> class_values;
  // Optional: which generating source (e.g. synthetic worker) produced each row.
  std::vector<Index> source;

  std::size_t nnz() const { return sparse ? col.size() : rows * cols; }

  // <row_i, x> in double, with x (float parameters, or double for full-batch evaluation and
  // the optimum solver) of length >= cols: only the first cols entries are read.
  template <class T>
  double row_dot(std::size_t i, std::span<const T> x) const {
    double s = 0.0;
    if (sparse) {
      for (std::uint64_t p = row_ptr[i]; p < row_ptr[i + 1]; ++p) s += double(val[p]) * x[col[p]];
    } else {
      const float* r = val.data() + i * cols;
      for (std::size_t j = 0; j < cols; ++j) s += double(r[j]) * x[j];
    }
    return s;
  }
  double row_dot(std::size_t i, CSpan x) const { return row_dot<float>(i, x); }
  double row_dot(std::size_t i, std::span<const double> x) const { return row_dot<double>(i, x); }
  // g += a * row_i
  template <class T>
  void row_axpy(std::size_t i, T a, std::span<T> g) const {
    if (sparse) {
      for (std::uint64_t p = row_ptr[i]; p < row_ptr[i + 1]; ++p) g[col[p]] += a * T(val[p]);
    } else {
      const float* r = val.data() + i * cols;
      for (std::size_t j = 0; j < cols; ++j) g[j] += a * T(r[j]);
    }
  }
  void row_axpy(std::size_t i, float a, Span g) const { row_axpy<float>(i, a, g); }
  void row_axpy(std::size_t i, double a, std::span<double> g) const { row_axpy<double>(i, a, g); }
};

}  // namespace herd::data
