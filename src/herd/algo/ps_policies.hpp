#pragma once
// What the policy files of the parameter-server family (ps.hpp) share. Each of ps_asgd.cpp,
// ps_buffered.cpp and ps_local_sgd.cpp defines its policies and registers its algorithms.
#include <memory>
#include <utility>

#include "herd/algo/ps.hpp"
#include "herd/algo/registry.hpp"

namespace herd::algo {

// ps.cpp: one stochastic gradient at w.x.
std::unique_ptr<WorkerTask> make_gradient_task(const Worker& w);

// The algorithm whose server runs `policy` and whose workers send gradients.
inline std::unique_ptr<Algorithm> gradient_algorithm(
    ParameterServerAlgorithm::PolicyFactory policy) {
  return std::make_unique<ParameterServerAlgorithm>(std::move(policy), make_gradient_task);
}

}  // namespace herd::algo
