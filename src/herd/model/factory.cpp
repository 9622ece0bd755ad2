#include "herd/model/factory.hpp"

#include <cmath>
#include <span>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"

namespace herd::model {

std::unique_ptr<DatasetProblem> make_data_problem(DataProblemSpec spec) {
  return std::make_unique<DatasetProblem>(std::move(spec));
}

std::unique_ptr<QuadraticProblem> make_quadratic_problem(const QuadraticSpec& spec,
                                                         std::uint64_t seed) {
  if (spec.dim == 0) throw InvalidInput("quadratic spec: dim must be >= 1");
  if (spec.workers < 1) throw InvalidInput("quadratic spec: workers must be >= 1");
  if (!(spec.mu > 0 && spec.mu <= spec.L && std::isfinite(spec.L)))
    throw InvalidInput("quadratic spec: need 0 < mu <= L < infinity");
  if (!(spec.spread >= 0) || !std::isfinite(spec.spread))
    throw InvalidInput("quadratic spec: spread must be finite and >= 0");

  const auto d = Eigen::Index(spec.dim);
  Eigen::VectorXd grid(d);
  for (Eigen::Index j = 0; j < d; ++j)
    grid[j] = d == 1 ? spec.mu : spec.mu * std::pow(spec.L / spec.mu, double(j) / double(d - 1));

  Rng rng(seed, streams::problem);
  std::vector<Eigen::VectorXd> diagonals, centers;
  for (int k = 0; k < spec.workers; ++k) {
    Eigen::VectorXd diagonal = grid;
    if (spec.shuffle_eigenvalues) rng.shuffle(std::span<double>(diagonal.data(), spec.dim));
    Eigen::VectorXd center(d);
    for (Eigen::Index j = 0; j < d; ++j) center[j] = spec.spread * rng.normal();
    diagonals.push_back(std::move(diagonal));
    centers.push_back(std::move(center));
  }
  const std::vector<double> x0 = draw_initial_point(spec.init, spec.dim, seed);
  return std::make_unique<QuadraticProblem>(
      QuadraticProblem::diagonal(std::move(diagonals), std::move(centers), spec.sigma, spec.batch,
                                 Eigen::Map<const Eigen::VectorXd>(x0.data(), d)));
}

}  // namespace herd::model
