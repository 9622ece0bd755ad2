#pragma once
// One evaluation's record: an ordered list of named values, so each algorithm can add its
// own fields (leader, staleness, ...) beside the common ones without a schema change.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "herd/core/bytes.hpp"

namespace herd::algo {

using MetricValue = std::variant<std::monostate, std::int64_t, double, std::string>;

struct MetricsRow {
  std::vector<std::pair<std::string, MetricValue>> fields;
  void set(std::string key, MetricValue v) { fields.emplace_back(std::move(key), std::move(v)); }
  const MetricValue* find(const std::string& key) const {
    for (const auto& [k, v] : fields)
      if (k == key) return &v;
    return nullptr;
  }
  double number(const std::string& key) const;  // NaN when absent or not a number
  // Checkpoints keep the last row (core/bytes.hpp).
  void save(ByteWriter& out) const;
  static MetricsRow load(ByteReader& in);
};

// Where rank 0 sends each evaluation (a metrics.jsonl file, a progress display, a test).
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  virtual void record(const MetricsRow& row) = 0;
};

}  // namespace herd::algo
