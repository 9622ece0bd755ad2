#pragma once
// Closed forms a study compares its measurements with, computed for one run from the
// configuration it ran (its config.toml): the mathematics a claim is checked against, not a
// number written into the study.
#include <string>
#include <vector>

#include "herd/run/config.hpp"

namespace herd::study {

// The names a study may list in closed_forms (each becomes a column of its table):
//   asgd_fixed_point_suboptimality  F(x_tau) - F*, x_tau the minimiser of sum_i F_i / tau_i:
//                                   where vanilla ASGD settles on a quadratic with the
//                                   workers' nominal compute times tau_i (cluster.compute_times)
//   asgd_fixed_point_distance       ||x_tau - x*||
const std::vector<std::string>& closed_form_names();

// The value for a run of `config`. InvalidInput naming the closed form when the run's problem
// or cluster does not have one (not a quadratic, no compute times).
double closed_form(const std::string& name, const run::Config& config);

}  // namespace herd::study
