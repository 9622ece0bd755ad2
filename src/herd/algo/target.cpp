#include "herd/algo/target.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include "herd/core/error.hpp"
#include "herd/core/text.hpp"

namespace herd::algo {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Fields of every row (monitor.cpp) and the derived errors.
constexpr std::array common_metrics{"time",        "step",          "epoch",      "grads",
                                    "rounds",      "bytes",         "train_loss", "train_acc",
                                    "train_error", "test_loss",     "test_acc",   "test_error",
                                    "grad_norm2",  "suboptimality", "consensus"};
// Fields that algorithms add beside them (their Monitor `extra` rows); a test runs every
// algorithm and checks that each numeric field it records is known here.
constexpr std::array algorithm_metrics{
    "bytes_per_round", "leader",      "leader_switches",   "delay_max",
    "delay_mean",      "discarded",   "idle_fraction",     "updates",
    "updates_max",     "updates_min", "wasted_fraction",   "delay_threshold",
    "restarts",        "batch",       "ringleader_rounds", "server_batch"};
// The models an algorithm reports (ReportedModel::name); each adds <name>_loss and, where F*
// is known, <name>_suboptimality.
constexpr std::array reported_models{"average", "weighted_average", "leader", "center", "server"};

template <std::size_t N>
bool contains(const std::array<const char*, N>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

std::string known_metrics_text() {
  return fmt::format("{}; or <model>_loss and <model>_suboptimality for a reported model ({})",
                     fmt::join(common_metrics, ", "), fmt::join(reported_models, ", "));
}

}  // namespace

std::string Target::text() const {
  return fmt::format("{}{}{}", metric, op == Op::at_most ? "<=" : ">=", value);
}

double metric_value(const MetricsRow& row, std::string_view metric) {
  if (metric == "test_error") return 1.0 - row.number("test_acc");
  if (metric == "train_error") return 1.0 - row.number("train_acc");
  return row.number(std::string(metric));
}

bool Target::met_by(const MetricsRow& row) const {
  const double v = metric_value(row, metric);
  if (std::isnan(v)) return false;
  return op == Op::at_most ? v <= value : v >= value;
}

bool is_known_metric(std::string_view metric) {
  if (contains(common_metrics, metric) || contains(algorithm_metrics, metric)) return true;
  for (const char* suffix : {"_loss", "_suboptimality"})
    if (metric.ends_with(suffix) &&
        contains(reported_models,
                 metric.substr(0, metric.size() - std::string_view(suffix).size())))
      return true;
  return false;
}

Target parse_target(std::string_view text, std::string_view where) {
  const std::string_view t = trim(text);
  auto refuse = [&](const std::string& why) -> Target {
    throw InvalidInput(fmt::format("{}: target \"{}\": {}", where, t, why));
  };
  const std::size_t at = t.find_first_of("<>=");
  if (at == std::string_view::npos)
    return refuse("expected METRIC<=VALUE or METRIC>=VALUE, e.g. suboptimality<=1e-3");
  const std::string_view op = t.substr(at, 2);
  if (op != "<=" && op != ">=")
    return refuse(fmt::format("the comparison must be <= or >=, not \"{}\"",
                              t.substr(at, op.size() > 1 && op[1] == '=' ? 2 : 1)));
  Target target;
  target.op = op == "<=" ? Target::Op::at_most : Target::Op::at_least;
  target.metric = std::string(trim(t.substr(0, at)));
  if (target.metric.empty()) return refuse("the metric is missing before " + std::string(op));
  if (!is_known_metric(target.metric))
    return refuse(fmt::format("unknown metric \"{}\"; the metrics are {}", target.metric,
                              known_metrics_text()));
  const std::string_view number = trim(t.substr(at + 2));
  if (number.empty()) return refuse("the value is missing after " + std::string(op));
  const auto [end, ec] =
      std::from_chars(number.data(), number.data() + number.size(), target.value);
  if (ec != std::errc{} || end != number.data() + number.size() || !std::isfinite(target.value))
    return refuse(fmt::format("\"{}\" is not a finite number", number));
  return target;
}

std::vector<Target> parse_targets(std::string_view text, std::string_view where) {
  std::vector<Target> out;
  if (trim(text).empty()) return out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    out.push_back(parse_target(text.substr(pos, comma - pos), where));
    pos = comma + 1;
  }
  return out;
}

void TargetTracker::observe(const MetricsRow& row) {
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (hits_[i] || !targets_[i].met_by(row)) continue;
    hits_[i] = TargetHit{std::int64_t(row.number("step")), std::int64_t(row.number("grads")),
                         std::int64_t(row.number("rounds")), std::int64_t(row.number("bytes")),
                         row.number("time")};
  }
}

const std::vector<std::string>& target_counter_names() {
  static const std::vector<std::string> names{"steps_to_target", "grads_to_target",
                                              "rounds_to_target", "bytes_to_target",
                                              "time_to_target"};
  return names;
}

double counter_value(const TargetHit& hit, std::string_view counter) {
  if (counter == "steps_to_target") return double(hit.steps);
  if (counter == "grads_to_target") return double(hit.grads);
  if (counter == "rounds_to_target") return double(hit.rounds);
  if (counter == "bytes_to_target") return double(hit.bytes);
  if (counter == "time_to_target") return hit.time;
  return nan;
}

}  // namespace herd::algo
