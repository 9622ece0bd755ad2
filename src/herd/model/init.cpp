#include "herd/model/init.hpp"

#include <cmath>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"

namespace herd::model {

InitSpec::Kind parse_init_kind(const std::string& name) {
  if (name == "zeros") return InitSpec::Kind::zeros;
  if (name == "normal") return InitSpec::Kind::normal;
  throw InvalidInput("unknown init '" + name + "' (expected zeros or normal)");
}

std::vector<double> draw_initial_point(const InitSpec& init, std::size_t dim, std::uint64_t seed) {
  if (!(init.scale >= 0) || !std::isfinite(init.scale))
    throw InvalidInput("model.init_scale must be finite and >= 0");
  std::vector<double> x0(dim, 0.0);
  if (init.kind == InitSpec::Kind::normal) {
    Rng rng(seed, streams::init);
    for (double& v : x0) v = init.scale * rng.normal();
  }
  return x0;
}

}  // namespace herd::model
