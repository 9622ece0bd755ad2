#include "herd/algo/metrics.hpp"

#include <limits>

namespace herd::algo {

double MetricsRow::number(const std::string& key) const {
  const MetricValue* v = find(key);
  if (v == nullptr) return std::numeric_limits<double>::quiet_NaN();
  if (const auto* d = std::get_if<double>(v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(v)) return double(*i);
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace herd::algo
