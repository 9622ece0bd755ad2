#include "herd/data/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"

namespace herd::data {
namespace {

void validate(const SyntheticSpec& spec) {
  const auto fail = [](const std::string& what) { throw InvalidInput("synthetic: " + what); };
  if (spec.kind != "logistic" && spec.kind != "linear") {
    fail("kind '" + spec.kind + "' is unknown (expected logistic or linear)");
  }
  if (spec.rows == 0) fail("rows must be at least 1");
  if (spec.cols == 0) fail("cols must be at least 1");
  if (spec.cols > std::numeric_limits<Index>::max()) fail("cols is too large");
  if (!(spec.density > 0.0 && spec.density <= 1.0)) {
    fail("density must be in (0, 1], got " + std::to_string(spec.density));
  }
  if (spec.kind == "logistic" && !(spec.noise >= 0.0 && spec.noise <= 1.0)) {
    fail("noise (label flip probability) must be in [0, 1], got " + std::to_string(spec.noise));
  }
  if (spec.kind == "linear" && !(spec.noise >= 0.0 && std::isfinite(spec.noise))) {
    fail("noise (standard deviation) must be finite and >= 0, got " + std::to_string(spec.noise));
  }
  if (spec.sources < 1) fail("sources must be at least 1, got " + std::to_string(spec.sources));
  if (std::size_t(spec.sources) > spec.rows) {
    fail("sources (" + std::to_string(spec.sources) + ") exceeds rows (" +
         std::to_string(spec.rows) + "): every source needs a row");
  }
  if (!(spec.heterogeneity >= 0.0 && std::isfinite(spec.heterogeneity))) {
    fail("heterogeneity must be finite and >= 0, got " + std::to_string(spec.heterogeneity));
  }
}

std::string describe(const SyntheticSpec& spec, const char* part) {
  return "synthetic " + spec.kind + " (" + part + ", seed " + std::to_string(spec.seed) + ")";
}

class Generator {
 public:
  explicit Generator(const SyntheticSpec& spec)
      : spec_(spec),
        rng_(spec.seed, streams::data_generation),
        nnz_(spec.density >= 1.0
                 ? spec.cols
                 : std::max<std::size_t>(
                       1, std::size_t(std::llround(spec.density * double(spec.cols))))),
        taken_(spec.density >= 1.0 ? 0 : spec.cols, 0) {
    const double s = synthetic_margin_scale;
    weights_.resize(spec.cols);
    for (double& w : weights_) w = s * rng_.normal();
    source_weights_.assign(std::size_t(spec.sources), weights_);
    for (auto& wk : source_weights_) {
      for (double& w : wk) w += spec.heterogeneity * s * rng_.normal();
    }
  }

  Dataset rows(std::size_t count, const char* part) {
    Dataset d;
    d.name = describe(spec_, part);
    d.rows = count;
    d.cols = spec_.cols;
    d.sparse = spec_.density < 1.0;
    if (d.sparse) {
      d.row_ptr.reserve(count + 1);
      d.row_ptr.push_back(0);
      d.col.reserve(count * nnz_);
      d.val.reserve(count * nnz_);
    } else {
      d.val.reserve(count * spec_.cols);
    }
    d.y.resize(count);
    d.source.resize(count);
    const std::size_t sources = std::size_t(spec_.sources);
    const bool logistic = spec_.kind == "logistic";
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t k = i * sources / count;  // contiguous, near-equal blocks
      d.source[i] = Index(k);
      if (d.sparse) {
        append_sparse_row(d);
      } else {
        append_dense_row(d);
      }
      const double z = d.row_dot(i, std::span<const double>(source_weights_[k]));
      if (logistic) {
        // Both uniforms are always drawn, so that noise changes labels, never later rows.
        const bool positive = rng_.uniform() < 1.0 / (1.0 + std::exp(-z));
        const bool flip = rng_.uniform() < spec_.noise;
        d.y[i] = float(positive != flip);
      } else {
        d.y[i] = float(z + spec_.noise * rng_.normal());
      }
    }
    if (logistic) {
      d.num_classes = 2;
      d.class_values = {0.0, 1.0};
      d.label_mapping = "0 -> 0, 1 -> 1";
    } else {
      d.label_mapping = "none (regression: labels are targets)";
    }
    return d;
  }

  const std::vector<double>& weights() const { return weights_; }
  const std::vector<std::vector<double>>& source_weights() const { return source_weights_; }

 private:
  void append_dense_row(Dataset& d) {
    const double sd = 1.0 / std::sqrt(double(spec_.cols));
    for (std::size_t j = 0; j < spec_.cols; ++j) d.val.push_back(float(sd * rng_.normal()));
  }

  // Appends a sparse row with nnz_ columns drawn without replacement (Floyd's algorithm).
  void append_sparse_row(Dataset& d) {
    picked_.clear();
    for (std::size_t j = spec_.cols - nnz_; j < spec_.cols; ++j) {
      const std::size_t t = rng_.below(j + 1);
      const std::size_t chosen = taken_[t] ? j : t;
      taken_[chosen] = 1;
      picked_.push_back(Index(chosen));
    }
    std::sort(picked_.begin(), picked_.end());
    const double sd = 1.0 / std::sqrt(double(nnz_));
    for (const Index j : picked_) {
      taken_[j] = 0;
      d.col.push_back(j);
      d.val.push_back(float(sd * rng_.normal()));
    }
    d.row_ptr.push_back(d.col.size());
  }

  const SyntheticSpec& spec_;
  Rng rng_;
  std::size_t nnz_;
  std::vector<char> taken_;  // Floyd's algorithm: columns picked for the current row
  std::vector<Index> picked_;
  std::vector<double> weights_;
  std::vector<std::vector<double>> source_weights_;
};

}  // namespace

SyntheticData make_synthetic_pair(const SyntheticSpec& spec, std::size_t test_rows) {
  validate(spec);
  Generator generator(spec);
  SyntheticData out;
  out.train = generator.rows(spec.rows, "train");
  out.test = generator.rows(test_rows, "test");
  out.weights = generator.weights();
  out.source_weights = generator.source_weights();
  return out;
}

Dataset make_synthetic(const SyntheticSpec& spec) {
  validate(spec);
  return Generator(spec).rows(spec.rows, "train");
}

}  // namespace herd::data
