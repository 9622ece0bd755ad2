#pragma once
// Per-sample linear models f_i(x) on the rows a_i of a Dataset (dense or CSR alike, read
// only through Dataset::row_dot / row_axpy), with L2 regularisation (lambda/2) ||x||^2:
//   logistic       f = log(1 + exp(-s a.x)), s = -1/+1 for classes 0/1
//   least_squares  f = 0.5 (a.x - t)^2, t = the target, or -1/+1 for classes 0/1
//   softmax        f = logsumexp_c(a.x_c) - a.x_y, x = C blocks of `features` (row-major C x d)
// Two paths share the per-sample arithmetic: a float minibatch path for the workers and a
// double weighted full-batch path for evaluation and the optimum solver.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "herd/core/kernels.hpp"
#include "herd/data/dataset.hpp"
#include "herd/data/sampler.hpp"

namespace herd::model {

enum class ModelKind { logistic, least_squares, softmax };

ModelKind parse_model_kind(const std::string& name);  // "logistic" | "least_squares" | "softmax"
std::string to_string(ModelKind kind);

// A weighted sum over rows: sum_j weight[j] f_{rows[j]}(x).
struct WeightedRows {
  std::vector<data::Index> rows;
  std::vector<double> weight;
};
// Every row of `data` with weight 1 / rows: the plain mean.
WeightedRows all_rows_mean(const data::Dataset& data);
// The rows of F = (1/K) sum_k (1/|D_k|) sum_{i in D_k} f_i: row i of shard k weighs
// 1 / (K |D_k|). InvalidInput (prefixed by `who`) for an empty shard or a row out of range.
WeightedRows equal_worker_weights(const std::vector<std::vector<data::Index>>& shards,
                                  std::size_t rows, const std::string& who);
// Worker k's minibatch sampler over its shard, drawing from Rng(seed, streams::worker_base +
// k). InvalidInput (prefixed by `who`) unless 0 <= k < shards.size().
data::BatchSampler worker_sampler(const std::vector<std::vector<data::Index>>& shards, int k,
                                  std::size_t batch, data::Sampling sampling, std::uint64_t seed,
                                  const std::string& who);

class LinearModel {
 public:
  // `features` (>= every data set's cols it will see) is the width of one parameter block.
  LinearModel(ModelKind kind, std::size_t features, int classes);
  // The model `kind` for `data`, after check_labels(data, role).
  static LinearModel for_data(ModelKind kind, const data::Dataset& data, std::size_t features,
                              const std::string& role);

  // InvalidInput naming `role` (e.g. "train set a9a") when data's labels do not suit the model
  // or data has more columns than the model has features.
  void check_labels(const data::Dataset& data, const std::string& role) const;

  ModelKind kind() const { return kind_; }
  std::size_t features() const { return features_; }
  int classes() const { return classes_; }
  std::size_t dim() const;

  // Worker fast path: g <- (1/b) sum_{i in rows} grad f_i(x) + lambda x, computed in float;
  // returns (1/b) sum f_i(x) + (lambda/2) ||x||^2 accumulated in double.
  double batch_loss_grad(const data::Dataset& data, std::span<const data::Index> rows,
                         double lambda, CSpan x, Span g) const;
  // sum_j w_j f_j(x) + (lambda/2) ||x||^2 in double; its gradient into g unless g is empty.
  double loss_grad(const data::Dataset& data, const WeightedRows& rows, double lambda,
                   std::span<const double> x, std::span<double> g) const;
  // Hessian of loss_grad's objective at x (dim x dim), for Newton's method and tests.
  Eigen::MatrixXd hessian(const data::Dataset& data, const WeightedRows& rows, double lambda,
                          std::span<const double> x) const;
  // Rough flop count of one hessian() call (it takes the cheaper of a pass over pairs of a
  // sparse row's non-zeros and blocked rank updates), so a solver can choose Newton or L-BFGS.
  double hessian_cost(const data::Dataset& data, const WeightedRows& rows) const;
  // Weighted fraction of rows classified correctly (weights normalised); nullopt for
  // regression targets.
  std::optional<double> accuracy(const data::Dataset& data, const WeightedRows& rows,
                                 std::span<const double> x) const;
  // c with Hessian of f_i <= c * (I_blocks kron a_i a_i'): 1/4 logistic, 1 least squares,
  // 1/2 softmax (||diag(p) - p p'|| <= 1/2).
  double curvature_factor() const;

 private:
  template <class T>
  double accumulate(const data::Dataset& data, std::span<const data::Index> rows,
                    std::span<const double> weights, double lambda, std::span<const T> x,
                    std::span<T> g) const;

  ModelKind kind_;
  std::size_t features_;
  int classes_;  // 2 for logistic and binary least squares, 0 for regression, C for softmax
};

// lambda_max(sum_j w_j a_j a_j') over the first `features` columns by power iteration from
// the all-ones vector (deterministic); a Rayleigh quotient, so it approaches the largest
// eigenvalue from below and stops at relative change 1e-10 (or 500 iterations).
double weighted_gram_max_eigenvalue(const data::Dataset& data, const WeightedRows& rows,
                                    std::size_t features);

}  // namespace herd::model
