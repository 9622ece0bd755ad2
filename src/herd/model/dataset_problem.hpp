#pragma once
// A linear model trained on a data set split across K workers:
//   F(x) = (1/K) sum_k (1/|D_k|) sum_{i in D_k} f_i(x) + (lambda/2) ||x||^2,
// every worker weighing the same whatever its shard size (the weighting of the Rescaled ASGD
// paper's heterogeneous objective).
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "herd/data/dataset.hpp"
#include "herd/data/sampler.hpp"
#include "herd/model/init.hpp"
#include "herd/model/linear_models.hpp"
#include "herd/model/problem.hpp"

namespace herd::model {

struct DataProblemSpec {
  std::shared_ptr<const data::Dataset> train;
  std::shared_ptr<const data::Dataset> test;     // optional; one with 0 rows counts as none
  std::vector<std::vector<data::Index>> shards;  // rows of train, one list per worker
  ModelKind model = ModelKind::logistic;
  double lambda = 0;
  std::size_t batch = 1;
  data::Sampling sampling = data::Sampling::with_replacement;
  InitSpec init;
  std::uint64_t seed = 0;  // x_0 is drawn from stream streams::init of this seed
};

class DatasetProblem final : public Problem {
 public:
  // InvalidInput for an empty or out-of-range shard, labels that do not suit the model,
  // lambda < 0, batch 0 or a negative init scale.
  explicit DatasetProblem(DataProblemSpec spec);

  std::string describe() const override;
  std::size_t dim() const override { return model_.dim(); }
  int workers() const override { return int(spec_.shards.size()); }
  void initial_point(Span x) const override;
  // Worker k samples shard k with Rng(seed, streams::worker_base + k).
  std::unique_ptr<LocalObjective> local(int k, std::uint64_t seed) const override;
  // train_loss = F(x); grad_norm2 = ||grad F(x)||^2; train_acc weighs rows as F does (equal
  // weight per worker); test_loss is the plain mean loss over the test set WITHOUT the
  // regulariser, test_acc the plain fraction of test rows classified correctly.
  Evaluation evaluate(CSpan x) const override;
  // Solved once, on first use (thread-safe), from x = 0 by Newton's method when the Hessian
  // is cheap to form, by L-BFGS otherwise. nullopt when lambda == 0 for logistic or softmax
  // regression (separable data have no minimiser); least squares always has one.
  std::optional<double> optimum_value() const override;
  std::optional<std::vector<double>> optimum_point() const override;
  // mu = lambda; L = c * lambda_max(sum_i w_i a_i a_i') + lambda with the model's curvature
  // factor c and the weights of F, by power iteration (deterministic, computed once). Least
  // squares of small dimension: the exact extreme eigenvalues of its constant Hessian.
  Curvature curvature() const override;
  std::size_t shard_size(int k) const override { return spec_.shards.at(std::size_t(k)).size(); }

  const LinearModel& model() const { return model_; }
  const data::Dataset& train_set() const { return *spec_.train; }
  // The rows of F with their weights 1 / (K |D_k|) (summed over shards for a repeated row).
  const WeightedRows& train_rows() const { return train_rows_; }
  double lambda() const { return spec_.lambda; }

 private:
  struct Optimum {
    double value;
    std::vector<double> x;
  };
  const std::optional<Optimum>& solve() const;
  bool hessian_affordable() const;  // Newton's method and exact spectra are cheap enough

  DataProblemSpec spec_;
  LinearModel model_;
  WeightedRows train_rows_, test_rows_;
  std::vector<float> x0_;
  mutable std::once_flag optimum_once_, curvature_once_;
  mutable std::optional<Optimum> optimum_;
  mutable Curvature curvature_;
};

}  // namespace herd::model
