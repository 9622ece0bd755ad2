#pragma once
// A multilayer perceptron classifier trained on a data set split across K workers:
//   features -> hidden[0] -> ... -> hidden[H-1] -> C classes, ReLU or tanh between layers,
//   f_i(x) = softmax cross-entropy of row i,
//   F(x) = (1/K) sum_k (1/|D_k|) sum_{i in D_k} f_i(x) + (lambda/2) ||x||^2,
// every worker weighing the same whatever its shard size (as DatasetProblem), the L2 term on
// all parameters (weights and biases). The parameters are ONE flat vector, layer by layer:
// W_l (out x in, row-major) then b_l (out), so communicators see a single span.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "herd/data/dataset.hpp"
#include "herd/data/sampler.hpp"
#include "herd/model/linear_models.hpp"
#include "herd/model/problem.hpp"

namespace herd::model {

enum class Activation { relu, tanh };
Activation parse_activation(const std::string& name);  // "relu" | "tanh"
std::string to_string(Activation a);
// Hidden layer widths from model.hidden, e.g. "128,64" (empty = none); InvalidInput naming
// the option for an item that is not a positive width.
std::vector<std::size_t> parse_hidden_widths(const std::string& text);

// The network's shape and arithmetic, without data ownership.
class MlpNet {
 public:
  // layers = {features, hidden..., classes}, at least 2 entries, all >= 1.
  MlpNet(std::vector<std::size_t> layers, Activation activation);

  std::size_t dim() const { return dim_; }
  const std::vector<std::size_t>& layers() const { return layers_; }
  Activation activation() const { return activation_; }
  // Offset of layer l's weights in the flat vector (its bias follows them).
  std::size_t weight_offset(std::size_t l) const { return offset_[l]; }

  // Weights ~ N(0, s^2) with s = sqrt(2 / fan_in) for ReLU (He) and
  // sqrt(2 / (fan_in + fan_out)) for tanh (Xavier/Glorot normal); biases 0.
  void initialize(Rng& rng, Span x) const;
  // sum_j w_j f_{rows[j]}(x) + (lambda/2) ||x||^2, accumulated in double; its gradient into g
  // unless g is empty. `correct`, when given, receives sum_j w_j [row j classified right].
  // T = float for workers' minibatches, double for evaluation and tests.
  template <class T>
  double loss_grad(const data::Dataset& data, std::span<const data::Index> rows,
                   std::span<const double> weights, double lambda, std::span<const T> x,
                   std::span<T> g, double* correct = nullptr) const;

 private:
  std::vector<std::size_t> layers_;
  Activation activation_;
  std::vector<std::size_t> offset_;
  std::size_t dim_ = 0;
};

struct MlpProblemSpec {
  std::shared_ptr<const data::Dataset> train;
  std::shared_ptr<const data::Dataset> test;     // optional; one with 0 rows counts as none
  std::vector<std::vector<data::Index>> shards;  // rows of train, one list per worker
  std::vector<std::size_t> hidden = {64};        // hidden layer widths (may be empty)
  Activation activation = Activation::relu;
  double lambda = 0;
  std::size_t batch = 1;
  data::Sampling sampling = data::Sampling::with_replacement;
  std::uint64_t seed = 0;  // x_0 is drawn from stream streams::init of this seed
};

class MlpProblem final : public Problem {
 public:
  // InvalidInput for a missing/empty training set, labels that are not classes 0..C-1 (C >=
  // 2), a test set with more classes, an empty or out-of-range shard, a zero hidden width,
  // lambda < 0 or batch 0.
  explicit MlpProblem(MlpProblemSpec spec);

  std::string describe() const override;
  std::size_t dim() const override { return net_.dim(); }
  int workers() const override { return int(spec_.shards.size()); }
  void initial_point(Span x) const override;  // He / Xavier draw, see MlpNet::initialize
  // Worker k samples shard k with Rng(seed, streams::worker_base + k).
  std::unique_ptr<LocalObjective> local(int k, std::uint64_t seed) const override;
  // train_loss = F(x), grad_norm2 = ||grad F(x)||^2 over the whole training set (double);
  // train_acc weighs rows as F does; test_loss is the plain mean loss over the test set
  // without the regulariser, test_acc the plain fraction classified right.
  Evaluation evaluate(CSpan x) const override;
  std::optional<double> optimum_value() const override { return std::nullopt; }
  Curvature curvature() const override { return {0.0, 0.0}; }  // unknown: non-convex
  std::size_t shard_size(int k) const override { return spec_.shards.at(std::size_t(k)).size(); }

  const MlpNet& net() const { return net_; }
  // The rows of F with their weights 1 / (K |D_k|).
  const WeightedRows& train_rows() const { return train_rows_; }

 private:
  MlpProblemSpec spec_;
  MlpNet net_;
  WeightedRows train_rows_, test_rows_;
  std::vector<float> x0_;
};

}  // namespace herd::model
