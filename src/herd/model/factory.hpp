#pragma once
// Builds the problems the run layer configures: a linear model on a partitioned data set, or
// a random quadratic with a known optimum.
#include <cstdint>
#include <memory>

#include "herd/model/dataset_problem.hpp"
#include "herd/model/quadratic.hpp"

namespace herd::model {

// InvalidInput as DatasetProblem's constructor.
std::unique_ptr<DatasetProblem> make_data_problem(DataProblemSpec spec);
// Draws the quadratic of `spec` from stream streams::problem of `seed`, and its starting point
// from stream streams::init (spec.init). InvalidInput unless dim >= 1, workers >= 1,
// 0 < mu <= L, spread >= 0, sigma >= 0, batch >= 1 and init.scale >= 0.
std::unique_ptr<QuadraticProblem> make_quadratic_problem(const QuadraticSpec& spec,
                                                         std::uint64_t seed);

}  // namespace herd::model
