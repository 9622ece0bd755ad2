#pragma once
// Argument checks of the elastic and leader algorithms' knobs.
#include <cstdint>
#include <string>

#include "herd/core/error.hpp"

namespace herd::algo {

// InvalidInput unless 0 <= value < 1; `key` names the setting, `algorithm` the user.
inline void check_rate(double value, const std::string& key, const std::string& algorithm) {
  if (!(value >= 0 && value < 1))
    throw InvalidInput(key + " = " + std::to_string(value) + ": " + algorithm +
                       " needs a value in [0, 1)");
}
// InvalidInput unless period >= 1.
inline void check_period(std::int64_t period, const std::string& algorithm) {
  if (period < 1)
    throw InvalidInput("algo.period = " + std::to_string(period) + ": " + algorithm +
                       " needs at least one local step between communications");
}
// InvalidInput unless the leader's window m = algo.leader_window holds at least one loss.
inline void check_leader_window(int m) {
  if (m < 1)
    throw InvalidInput("algo.leader_window = " + std::to_string(m) +
                       ": the leader's score needs at least one loss");
}
// EASGD's moving rate: algo.elastic_alpha, or the authors' beta / K = 0.9 / K when unset
// (< 0); checked to lie in [0, 1).
inline float elastic_alpha(double setting, int workers, const std::string& algorithm) {
  const double alpha = setting < 0 ? 0.9 / double(workers) : setting;
  check_rate(alpha, "algo.elastic_alpha", algorithm);
  return float(alpha);
}

}  // namespace herd::algo
