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

  // <row_i, x> with x of length >= cols (only the first cols entries are read), in double.
  double row_dot(std::size_t i, CSpan x) const {
    double s = 0.0;
    if (sparse) {
      for (std::uint64_t p = row_ptr[i]; p < row_ptr[i + 1]; ++p) s += double(val[p]) * x[col[p]];
    } else {
      const float* r = val.data() + i * cols;
      for (std::size_t j = 0; j < cols; ++j) s += double(r[j]) * x[j];
    }
    return s;
  }
  // g += a * row_i
  void row_axpy(std::size_t i, float a, Span g) const {
    if (sparse) {
      for (std::uint64_t p = row_ptr[i]; p < row_ptr[i + 1]; ++p) g[col[p]] += a * val[p];
    } else {
      const float* r = val.data() + i * cols;
      for (std::size_t j = 0; j < cols; ++j) g[j] += a * r[j];
    }
  }
  // The same in double, for full-batch evaluation and the optimum solver.
  double row_dot(std::size_t i, std::span<const double> x) const {
    double s = 0.0;
    if (sparse) {
      for (std::uint64_t p = row_ptr[i]; p < row_ptr[i + 1]; ++p) s += double(val[p]) * x[col[p]];
    } else {
      const float* r = val.data() + i * cols;
      for (std::size_t j = 0; j < cols; ++j) s += double(r[j]) * x[j];
    }
    return s;
  }
  void row_axpy(std::size_t i, double a, std::span<double> g) const {
    if (sparse) {
      for (std::uint64_t p = row_ptr[i]; p < row_ptr[i + 1]; ++p) g[col[p]] += a * val[p];
    } else {
      const float* r = val.data() + i * cols;
      for (std::size_t j = 0; j < cols; ++j) g[j] += a * r[j];
    }
  }
};

}  // namespace herd::data
