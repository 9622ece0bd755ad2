#pragma once
// The starting point x_0 that model.init and model.init_scale describe, shared by the models
// that read them (the linear models and the quadratic).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace herd::model {

struct InitSpec {
  enum class Kind { zeros, normal } kind = Kind::zeros;
  double scale = 0.01;  // normal: x_0 ~ scale * N(0, I)
};
InitSpec::Kind parse_init_kind(const std::string& name);  // "zeros" | "normal"

// x_0 of dimension `dim`: zeros, or entries scale * N(0, 1) drawn in order from stream
// streams::init of `seed`. InvalidInput for a negative or non-finite scale.
std::vector<double> draw_initial_point(const InitSpec& init, std::size_t dim, std::uint64_t seed);

}  // namespace herd::model
