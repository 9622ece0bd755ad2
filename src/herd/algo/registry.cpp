#include "herd/algo/algorithm.hpp"
#include "herd/algo/local_sgd.hpp"
#include "herd/algo/minibatch_sgd.hpp"
#include "herd/algo/ps.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {

const std::vector<std::string>& algorithm_names() {
  static const std::vector<std::string> names{"minibatch_sgd",
                                              "local_sgd",
                                              "async_local_sgd",
                                              "easgd",
                                              "eamsgd",
                                              "lsgd",
                                              "asgd",
                                              "rescaled_asgd",
                                              "delay_adaptive_asgd",
                                              "ringmaster_asgd",
                                              "ia2sgd",
                                              "malenia_sgd",
                                              "rennala_sgd",
                                              "ringleader_asgd"};
  return names;
}

bool is_implemented(const std::string& name) {
  return name == "minibatch_sgd" || name == "local_sgd" ||
         make_parameter_server_algorithm(name) != nullptr;
}

std::unique_ptr<Algorithm> make_algorithm(const std::string& name) {
  if (name == "minibatch_sgd") return std::make_unique<MinibatchSgd>();
  if (name == "local_sgd") return std::make_unique<LocalSgd>();
  if (auto ps = make_parameter_server_algorithm(name)) return ps;
  for (const auto& known : algorithm_names()) {
    if (known != name) continue;
    std::string available;
    for (const auto& n : algorithm_names())
      if (is_implemented(n)) available += (available.empty() ? "" : ", ") + n;
    throw InvalidInput(
        "algo.name = \"" + name +
        "\" is specified but not available in this build yet; available: " + available);
  }
  throw InvalidInput("algo.name: unknown algorithm \"" + name + "\"");
}

}  // namespace herd::algo
