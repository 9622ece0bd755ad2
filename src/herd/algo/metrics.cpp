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

void MetricsRow::save(ByteWriter& out) const {
  out.put(std::uint64_t(fields.size()));
  for (const auto& [key, value] : fields) {
    out.put(key);
    out.put(std::uint8_t(value.index()));
    if (const auto* i = std::get_if<std::int64_t>(&value)) out.put(*i);
    if (const auto* d = std::get_if<double>(&value)) out.put(*d);
    if (const auto* s = std::get_if<std::string>(&value)) out.put(*s);
  }
}

MetricsRow MetricsRow::load(ByteReader& in) {
  MetricsRow row;
  const auto n = in.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < n; ++i) {
    auto key = in.get<std::string>();
    switch (in.get<std::uint8_t>()) {
      case 0:
        row.set(std::move(key), std::monostate{});
        break;
      case 1:
        row.set(std::move(key), in.get<std::int64_t>());
        break;
      case 2:
        row.set(std::move(key), in.get<double>());
        break;
      case 3:
        row.set(std::move(key), in.get<std::string>());
        break;
      default:
        in.corrupt("a metric value");
    }
  }
  return row;
}

}  // namespace herd::algo
