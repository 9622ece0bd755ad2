#include "herd/optim/optimizer.hpp"

#include <cassert>

#include "herd/core/error.hpp"

namespace herd::optim {

Rule parse_rule(const std::string& name) {
  if (name == "sgd") return Rule::sgd;
  if (name == "momentum") return Rule::momentum;
  if (name == "nesterov") return Rule::nesterov;
  throw InvalidInput("optim.name: unknown optimizer '" + name + "' (sgd, momentum, nesterov)");
}

LocalOptimizer::LocalOptimizer(const OptimizerSpec& spec, std::size_t dim) : spec_(spec) {
  if (spec_.rule != Rule::sgd) velocity_.assign(dim, 0.0f);
}

void LocalOptimizer::step(Span x, Span g, float lr) {
  assert(x.size() == g.size());
  if (spec_.weight_decay != 0.0f) axpy(spec_.weight_decay, x, g);
  switch (spec_.rule) {
    case Rule::sgd:
      axpy(-lr, g, x);
      return;
    case Rule::momentum:
      axpby(1.0f, g, spec_.momentum, velocity_);
      axpy(-lr, velocity_, x);
      return;
    case Rule::nesterov:
      axpby(1.0f, g, spec_.momentum, velocity_);
      axpy(-lr, g, x);
      axpy(-lr * spec_.momentum, velocity_, x);
      return;
  }
}

void LocalOptimizer::restore_velocity(CSpan v) {
  if (v.size() != velocity_.size())
    throw InvalidInput("optimizer: a saved velocity of " + std::to_string(v.size()) +
                       " entries for an optimizer with " + std::to_string(velocity_.size()) +
                       " (was it saved with another optim.name?)");
  velocity_.assign(v.begin(), v.end());
}

}  // namespace herd::optim
