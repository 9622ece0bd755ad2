#pragma once
// Local update rules: what a worker does with a gradient. State (the momentum buffer) is
// per worker and is never averaged by the algorithms unless they say so.
#include <string>
#include <vector>

#include "herd/core/bytes.hpp"
#include "herd/core/kernels.hpp"

namespace herd::optim {

enum class Rule { sgd, momentum, nesterov };
Rule parse_rule(const std::string& name);  // InvalidInput on unknown names

struct OptimizerSpec {
  Rule rule = Rule::sgd;
  float momentum = 0.9f;
  float weight_decay = 0.0f;
};

// PyTorch's conventions, so results compare with what users know:
//   g' = g + wd x
//   sgd:       x <- x - lr g'
//   momentum:  v <- m v + g';  x <- x - lr v
//   nesterov:  v <- m v + g';  x <- x - lr (g' + m v)
class LocalOptimizer {
 public:
  LocalOptimizer(const OptimizerSpec& spec, std::size_t dim);
  // g may be modified (weight decay is added to it in place).
  void step(Span x, Span g, float lr);
  std::vector<float>& velocity() { return velocity_; }
  const std::vector<float>& velocity() const { return velocity_; }
  // Checkpoints: the velocity (empty for plain SGD); load() continues from a saved one and
  // throws InvalidInput when its length is not this optimizer's.
  void save(ByteWriter& out) const { out.put(velocity_); }
  void load(ByteReader& in) { restore_velocity(in.get_vector<float>()); }
  void restore_velocity(CSpan v);
  const OptimizerSpec& spec() const { return spec_; }

 private:
  OptimizerSpec spec_;
  std::vector<float> velocity_;
};

}  // namespace herd::optim
