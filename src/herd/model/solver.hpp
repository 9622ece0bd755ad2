#pragma once
// Deterministic full-batch minimisation in double, used once per problem to find F* to high
// precision: damped Newton when the Hessian is cheap to form (small dimension), L-BFGS
// otherwise. Both use a backtracking Armijo line search.
#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include <Eigen/Dense>

namespace herd::model {

struct SmoothFunction {
  std::size_t dim = 0;
  // Returns f(x) and writes grad f(x) into g.
  std::function<double(std::span<const double> x, std::span<double> g)> value_grad;
  // Hessian at x; leave empty to use L-BFGS.
  std::function<Eigen::MatrixXd(std::span<const double> x)> hessian;
};

struct MinimizeOptions {
  // Stop once ||grad||^2 <= rel_grad_tol * max(||grad f(x0)||^2, 1).
  double rel_grad_tol = 1e-20;
  int max_newton_iterations = 100;
  int max_lbfgs_iterations = 20000;
  int lbfgs_memory = 20;
};

struct MinimizeResult {
  std::vector<double> x;
  double value = 0, grad_norm2 = 0;
  int iterations = 0;
  bool converged = false;  // the gradient test was met (otherwise progress stalled)
};

MinimizeResult minimize(const SmoothFunction& f, std::vector<double> x0,
                        const MinimizeOptions& options = {});

}  // namespace herd::model
