#pragma once
// Quadratics with a known optimum, for exact checks of the algorithms:
//   F_k(x) = 0.5 (x - a_k)' A_k (x - a_k),   F = (1/K) sum_k F_k,
// A_k symmetric positive semi-definite with a positive definite mean. Worker k's stochastic
// gradient is A_k (x - a_k) + (sigma / sqrt(b)) xi, xi ~ N(0, I) from the worker's stream,
// i.e. variance sigma^2 / b per coordinate, as a minibatch of b samples would give.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "herd/model/init.hpp"
#include "herd/model/problem.hpp"

namespace herd::model {

// One worker's F_k with A_k dense, or diagonal (then `dense` is empty and A_k = diag(diagonal)).
struct QuadraticTerm {
  Eigen::MatrixXd dense;
  Eigen::VectorXd diagonal;
  Eigen::VectorXd center;
  // Returns F_k(x) and writes grad F_k(x) = A_k (x - a_k) into g.
  double value_grad(const Eigen::VectorXd& x, Eigen::VectorXd& g) const;
};

class QuadraticProblem final : public Problem {
 public:
  // Dense curvatures A_k. x0 empty means zeros. InvalidInput when sizes disagree, an A_k is
  // not symmetric positive semi-definite, their mean is singular, sigma < 0 or batch == 0.
  QuadraticProblem(std::vector<Eigen::MatrixXd> curvatures, std::vector<Eigen::VectorXd> centers,
                   double sigma, std::size_t batch, Eigen::VectorXd x0 = {});
  // Diagonal curvatures A_k = diag(diagonals[k]): O(d) memory and time per worker.
  static QuadraticProblem diagonal(std::vector<Eigen::VectorXd> diagonals,
                                   std::vector<Eigen::VectorXd> centers, double sigma,
                                   std::size_t batch, Eigen::VectorXd x0 = {});

  std::string describe() const override;
  std::size_t dim() const override { return std::size_t(x_star_.size()); }
  int workers() const override { return int(terms_->size()); }
  void initial_point(Span x) const override;
  std::unique_ptr<LocalObjective> local(int k, std::uint64_t seed) const override;
  Evaluation evaluate(CSpan x) const override;  // train_loss = F(x), no accuracy
  std::optional<double> optimum_value() const override { return f_star_; }
  std::optional<std::vector<double>> optimum_point() const override;
  Curvature curvature() const override { return curvature_; }  // eigenvalues of mean A_k
  std::size_t shard_size(int) const override { return 0; }

  // x* = (sum_k A_k)^{-1} sum_k A_k a_k.
  const Eigen::VectorXd& minimizer() const { return x_star_; }
  // The minimiser of sum_k w_k F_k: (sum_k w_k A_k)^{-1} sum_k w_k A_k a_k (w_k >= 0, one per
  // worker), e.g. vanilla ASGD's fixed point with w_k = 1 / tau_k. InvalidInput for a wrong
  // count or a singular weighted curvature.
  Eigen::VectorXd weighted_minimizer(const std::vector<double>& weights) const;
  const QuadraticTerm& term(int k) const { return terms_->at(std::size_t(k)); }
  double sigma() const { return sigma_; }
  // F(x) and grad F(x), exactly, in double.
  double value_grad(const Eigen::VectorXd& x, Eigen::VectorXd& g) const;

 private:
  QuadraticProblem(std::vector<QuadraticTerm> terms, bool diagonal, double sigma, std::size_t batch,
                   Eigen::VectorXd x0);

  std::shared_ptr<const std::vector<QuadraticTerm>> terms_;  // shared with the oracles
  bool diagonal_;
  double sigma_;
  std::size_t batch_;
  Eigen::VectorXd x0_, x_star_;
  double f_star_ = 0;
  Curvature curvature_;
};

// A random quadratic from a seed (stream streams::problem). Every A_k is diagonal with
// eigenvalues log-uniformly spaced from mu to L (a fixed grid; d = 1 gives mu); with
// shuffle_eigenvalues each worker gets its own random permutation of the grid (heterogeneous
// curvature, the mean's spectrum then lies inside [mu, L]), otherwise all A_k are equal and
// the mean's extreme eigenvalues are exactly mu and L. Centres a_k = spread * N(0, I). The
// starting point is `init` (model.init), drawn from stream streams::init of the seed.
struct QuadraticSpec {
  std::size_t dim = 10;
  int workers = 1;
  double mu = 1, L = 1;
  bool shuffle_eigenvalues = false;
  double spread = 1;
  double sigma = 0;  // gradient noise
  std::size_t batch = 1;
  InitSpec init;  // default zeros: x_0 = 0
};

}  // namespace herd::model
