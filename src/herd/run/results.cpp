#include "herd/run/results.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "herd/core/error.hpp"
#include "herd/run/config.hpp"

namespace herd::run {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keeps the order of a row's fields

Json read_json_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw IoError(fmt::format("{}: cannot open for reading", file.string()));
  try {
    return Json::parse(in);
  } catch (const Json::exception& e) {
    throw InvalidInput(fmt::format("{}: not valid JSON: {}", file.string(), e.what()));
  }
}

algo::MetricValue to_metric(const Json& v) {
  if (v.is_number_integer()) return std::int64_t(v.get<std::int64_t>());
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  return std::monostate{};
}

algo::MetricsRow to_row(const Json& object) {
  algo::MetricsRow row;
  for (const auto& [key, value] : object.items()) row.set(key, to_metric(value));
  return row;
}

std::string string_or(const Json& j, const char* key, std::string fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

}  // namespace

std::vector<algo::MetricsRow> read_metrics(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw IoError(fmt::format("{}: cannot open for reading", file.string()));
  std::vector<algo::MetricsRow> rows;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    Json object = Json::parse(line, nullptr, false);
    if (object.is_discarded() || !object.is_object())
      throw InvalidInput(fmt::format("{}:{}: not a metrics row (a JSON object on one line)",
                                     file.string(), number));
    rows.push_back(to_row(object));
  }
  if (in.bad()) throw IoError(fmt::format("{}: cannot read", file.string()));
  return rows;
}

std::vector<TargetResult> find_targets(const std::vector<algo::Target>& targets,
                                       const std::vector<algo::MetricsRow>& rows) {
  algo::TargetTracker tracker(targets);
  for (const auto& row : rows) tracker.observe(row);
  std::vector<TargetResult> out;
  for (std::size_t i = 0; i < targets.size(); ++i) out.push_back({targets[i], tracker.hits()[i]});
  return out;
}

RunResult read_run(const fs::path& dir, const std::string& label) {
  const fs::path config_file = dir / "config.toml";
  if (!fs::exists(config_file))
    throw InvalidInput(fmt::format("{}: not a run directory (no config.toml)", dir.string()));
  const Config config = Config::from_toml_file(config_file.string());
  RunResult r;
  r.dir = dir;
  r.label = label.empty() ? config.get_string("algo.name") : label;
  r.algorithm = config.get_string("algo.name");
  const fs::path metrics_file = dir / "metrics.jsonl";
  const auto rows =
      fs::exists(metrics_file) ? read_metrics(metrics_file) : std::vector<algo::MetricsRow>{};
  r.targets = find_targets(
      algo::parse_targets(config.get_string("eval.target"), config_file.string()), rows);
  const fs::path summary_file = dir / "summary.json";
  if (!fs::exists(summary_file)) {
    r.status = "incomplete";
    r.stop_reason = "incomplete";
    if (!rows.empty()) r.last = rows.back();
    return r;
  }
  const Json summary = read_json_file(summary_file);
  if (!summary.is_object())
    throw InvalidInput(fmt::format("{}: not a run summary (a JSON object)", summary_file.string()));
  r.label = string_or(summary, "label", r.label);
  r.algorithm = string_or(summary, "algorithm", r.algorithm);
  r.status = string_or(summary, "status", "ok");
  r.error = string_or(summary, "error", "");
  r.stop_reason = string_or(summary, "stop_reason", "");
  r.parameters_crc32 = string_or(summary, "parameters_crc32", "");
  if (const auto it = summary.find("wall_seconds"); it != summary.end() && it->is_number())
    r.wall_seconds = it->get<double>();
  if (const auto it = summary.find("final"); it != summary.end() && it->is_object())
    r.last = to_row(*it);
  return r;
}

}  // namespace herd::run
