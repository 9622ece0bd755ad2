#include "herd/study/closed_form.hpp"

#include <fmt/format.h>

#include "herd/core/error.hpp"
#include "herd/core/text.hpp"
#include "herd/model/quadratic.hpp"
#include "herd/run/driver.hpp"

namespace herd::study {

const std::vector<std::string>& closed_form_names() {
  static const std::vector<std::string> names = {"asgd_fixed_point_suboptimality",
                                                 "asgd_fixed_point_distance"};
  return names;
}

double closed_form(const std::string& name, const run::Config& config) {
  const auto& names = closed_form_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw InvalidInput(
        fmt::format("unknown closed form {}; the closed forms are {}", name, join(names, ", ")));
  const run::RunPlan plan = run::plan(config, "");
  const auto* quadratic = dynamic_cast<const model::QuadraticProblem*>(plan.problem.get());
  if (quadratic == nullptr)
    throw InvalidInput(fmt::format("closed form {}: needs model.name = \"quadratic\"", name));
  const std::vector<double>& tau = plan.cluster.worker_tau;
  if (tau.empty())
    throw InvalidInput(fmt::format("closed form {}: needs cluster.compute_times", name));
  std::vector<double> rate;
  for (double t : tau) rate.push_back(1.0 / t);
  const Eigen::VectorXd x_tau = quadratic->weighted_minimizer(rate);
  if (name == "asgd_fixed_point_distance") return (x_tau - quadratic->minimizer()).norm();
  Eigen::VectorXd g;
  return quadratic->value_grad(x_tau, g) - *quadratic->optimum_value();
}

}  // namespace herd::study
