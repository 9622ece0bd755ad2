#include "herd/algo/algorithm.hpp"
#include "herd/algo/easgd.hpp"
#include "herd/algo/local_sgd.hpp"
#include "herd/algo/lsgd.hpp"
#include "herd/algo/minibatch_sgd.hpp"
#include "herd/algo/ps.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {

const std::vector<std::string>& algorithm_names() {
  static const std::vector<std::string> names{
      "minibatch_sgd", "local_sgd",     "async_local_sgd",     "easgd",
      "eamsgd",        "lsgd",          "async_easgd",         "async_lsgd",
      "asgd",          "rescaled_asgd", "delay_adaptive_asgd", "ringmaster_asgd",
      "ia2sgd",        "malenia_sgd",   "rennala_sgd",         "ringleader_asgd"};
  return names;
}

namespace {

// The algorithms of this layer outside the parameter-server family; nullptr for others.
std::unique_ptr<Algorithm> make_own_algorithm(const std::string& name) {
  if (name == "minibatch_sgd") return std::make_unique<MinibatchSgd>();
  if (name == "local_sgd") return std::make_unique<LocalSgd>();
  if (name == "easgd") return std::make_unique<Easgd>(false);
  if (name == "eamsgd") return std::make_unique<Easgd>(true);
  if (name == "lsgd") return std::make_unique<Lsgd>();
  if (name == "async_easgd") return std::make_unique<AsyncEasgd>();
  if (name == "async_lsgd") return std::make_unique<AsyncLsgd>();
  return nullptr;
}

}  // namespace

bool is_implemented(const std::string& name) {
  return make_own_algorithm(name) != nullptr || make_parameter_server_algorithm(name) != nullptr;
}

std::unique_ptr<Algorithm> make_algorithm(const std::string& name) {
  if (auto own = make_own_algorithm(name)) return own;
  if (auto ps = make_parameter_server_algorithm(name)) return ps;
  throw InvalidInput("algo.name: unknown algorithm \"" + name + "\"");
}

}  // namespace herd::algo
