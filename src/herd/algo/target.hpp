#pragma once
// Targets: "METRIC<=VALUE" or "METRIC>=VALUE" conditions on an evaluation's metrics row, as
// eval.target reports them (the first evaluation that met each) and stop rules use them (stop
// once met). Every metric a row carries can be named, plus the derived errors
// test_error = 1 - test_acc and train_error = 1 - train_acc.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "herd/algo/metrics.hpp"

namespace herd::algo {

struct Target {
  enum class Op { at_most, at_least };
  std::string metric;  // "suboptimality", "test_error", "weighted_average_suboptimality", ...
  Op op = Op::at_most;
  double value = 0;
  std::string text() const;  // "suboptimality<=0.001", as the user wrote it up to spacing
  // Whether the row meets the target: false when the row lacks the metric or it is NaN.
  bool met_by(const MetricsRow& row) const;
  bool operator==(const Target&) const = default;
};

// The metric's value in the row, derived metrics included; NaN when the row has none.
double metric_value(const MetricsRow& row, std::string_view metric);

// Whether rows can carry this metric: the monitor's fields, the derived errors, a reported
// model's "<model>_loss" / "<model>_suboptimality", and the fields algorithms add.
bool is_known_metric(std::string_view metric);

// One target; InvalidInput names `where` (the option or argument) and what is wrong.
Target parse_target(std::string_view text, std::string_view where);
// Several targets separated by commas (or a TOML array joined by run::Config); "" = none.
std::vector<Target> parse_targets(std::string_view text, std::string_view where);

// Where a run stood at the first evaluation that met a target.
struct TargetHit {
  std::int64_t steps = 0, grads = 0, rounds = 0, bytes = 0;
  double time = 0;
};

// Follows the rows of a run in order and keeps, per target, the first row that met it.
class TargetTracker {
 public:
  explicit TargetTracker(std::vector<Target> targets) : targets_(std::move(targets)) {
    hits_.resize(targets_.size());
  }
  void observe(const MetricsRow& row);
  const std::vector<Target>& targets() const { return targets_; }
  const std::vector<std::optional<TargetHit>>& hits() const { return hits_; }

 private:
  std::vector<Target> targets_;
  std::vector<std::optional<TargetHit>> hits_;
};

// The counters a result reports per target, in the order of tables and summary.json:
// "steps_to_target", "grads_to_target", "rounds_to_target", "bytes_to_target",
// "time_to_target".
const std::vector<std::string>& target_counter_names();
// The hit's value of one of those counters.
double counter_value(const TargetHit& hit, std::string_view counter);

}  // namespace herd::algo
