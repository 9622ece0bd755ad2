#include "herd/study/tune.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "herd/algo/target.hpp"
#include "herd/core/durable_file.hpp"
#include "herd/core/error.hpp"
#include "herd/core/text.hpp"

namespace herd::study {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

double parse_bound(std::string_view text, const std::string& where) {
  double v = 0;
  const std::string_view t = trim(text);
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc{} || end != t.data() + t.size() || !std::isfinite(v))
    throw InvalidInput(fmt::format("{}: \"{}\" is not a finite number", where, t));
  return v;
}

// What a grid point scores for the criterion: less is better; inf for a run that diverged,
// failed or never met the target.
double score(const Criterion& c, const SweepTable& table, std::size_t row) {
  if (table.text[row][*table.find("status")] != "ok") return inf;
  const double v = c.counter.empty() ? table.value[row][*table.find(c.metric)]
                                     : table.value[row][*table.find(c.counter)];
  if (std::isnan(v)) return inf;
  return c.maximise ? -v : v;
}

// The final objective, for ties: suboptimality where known, else the training loss.
double objective(const SweepTable& table, std::size_t row) {
  if (table.text[row][*table.find("status")] != "ok") return inf;
  for (const char* column : {"suboptimality", "train_loss"})
    if (const auto c = table.find(column); c && !std::isnan(table.value[row][*c]))
      return table.value[row][*c];
  return inf;
}

}  // namespace

Axis parse_grid(std::string_view argument) {
  const std::string where = fmt::format("--grid '{}'", argument);
  const std::size_t eq = argument.find('=');
  const std::string_view spec = eq == std::string_view::npos ? "" : argument.substr(eq + 1);
  const bool log = spec.starts_with("log:"), lin = spec.starts_with("lin:");
  if (!log && !lin) {  // a list of values
    try {
      return parse_axis(argument);
    } catch (const InvalidInput& e) {
      throw InvalidInput(fmt::format("{}: {} (or KEY=log:LOW:HIGH:COUNT, KEY=lin:LOW:HIGH:COUNT)",
                                     where, e.what()));
    }
  }
  std::vector<std::string_view> parts;
  for (std::size_t pos = 4; pos <= spec.size();) {
    const std::size_t colon = std::min(spec.find(':', pos), spec.size());
    parts.push_back(spec.substr(pos, colon - pos));
    pos = colon + 1;
  }
  if (parts.size() != 3)
    throw InvalidInput(fmt::format("{}: expected {}:LOW:HIGH:COUNT", where, log ? "log" : "lin"));
  const double low = parse_bound(parts[0], where), high = parse_bound(parts[1], where);
  int count = 0;
  const auto [end, ec] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), count);
  if (ec != std::errc{} || end != parts[2].data() + parts[2].size() || count < 2)
    throw InvalidInput(
        fmt::format("{}: COUNT must be an integer >= 2, not \"{}\"", where, parts[2]));
  if (log && (low <= 0 || high <= 0))
    throw InvalidInput(fmt::format("{}: a log grid needs positive bounds (got {} and {})", where,
                                   parts[0], parts[1]));
  if (!(low < high))
    throw InvalidInput(
        fmt::format("{}: LOW must be below HIGH (got {} and {})", where, parts[0], parts[1]));
  // Values with 4 significant digits (more where that would merge two): readable directory
  // names and tables, and the grid is exactly what they say.
  std::vector<std::string> values;
  for (int digits = 4; digits <= 17; ++digits) {
    values.clear();
    for (int i = 0; i < count; ++i) {
      const double f = double(i) / double(count - 1);
      const double v = log ? low * std::pow(high / low, f) : low + (high - low) * f;
      values.push_back(fmt::format("{:.{}g}", v, digits));
    }
    if (std::adjacent_find(values.begin(), values.end()) == values.end()) break;
  }
  return parse_axis(fmt::format("{}={}", argument.substr(0, eq), join(values, ",")));
}

Criterion parse_criterion(std::string_view text) {
  Criterion c;
  c.text = std::string(text);
  const auto& counters = algo::target_counter_names();
  if (std::find(counters.begin(), counters.end(), text) != counters.end()) {
    c.counter = std::string(text);
    return c;
  }
  if (text.starts_with("final:")) {
    c.metric = std::string(trim(text.substr(6)));
    if (!algo::is_known_metric(c.metric))
      throw InvalidInput(fmt::format("--by {}: unknown metric \"{}\"", text, c.metric));
    c.maximise = c.metric.ends_with("_acc");
    return c;
  }
  throw InvalidInput(fmt::format("--by {}: expected {} or final:METRIC (e.g. final:train_loss)",
                                 text, join(counters, ", ")));
}

TuneResult tune(TuneSpec spec) {
  const Criterion criterion = parse_criterion(spec.by);
  // The configuration the tuned values go into: the file and the user's settings, without the
  // tuning budget.
  run::Config tuned = run::Config::from_toml_file(spec.sweep.config_path.string());
  for (const auto& o : spec.sweep.overrides) tuned.apply_override(o);
  if (!criterion.counter.empty() && tuned.get_string("eval.target").empty())
    throw InvalidInput(
        fmt::format("--by {}: set eval.target, the target it counts to", criterion.text));
  std::vector<std::string> grid_keys;
  for (const Axis& a : spec.sweep.axes) grid_keys.push_back(a.key);
  const std::vector<Axis> grid = spec.sweep.axes;
  spec.sweep.overrides.insert(spec.sweep.overrides.end(), spec.budget.begin(), spec.budget.end());
  const Sweep sweep = prepare_sweep(spec.sweep);
  const std::vector<SweepRow> rows = run_sweep(sweep);
  const SweepTable table = tabulate(sweep, rows);
  if (!criterion.metric.empty() && !table.find(criterion.metric))
    throw InvalidInput(
        fmt::format("--by {}: no run recorded {}", criterion.text, criterion.metric));

  // Grid points: the runs of one entry and one grid value that differ only in their seed.
  struct Point {
    std::string entry;
    std::vector<std::pair<std::string, std::string>> values;
    std::size_t order = 0;  // position in the grid
    double score = 0, objective = 0;
    std::size_t runs = 0, diverged = 0;
  };
  std::vector<Point> points;
  std::map<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>, std::size_t>
      index;
  std::map<std::string, std::size_t> next_order;  // rows come in grid order, per entry
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const SweepPoint& p = rows[r].point;
    const auto [it, fresh] = index.emplace(std::pair{p.entry, p.values}, points.size());
    if (fresh) points.push_back({p.entry, p.values, next_order[p.entry]++});
    Point& point = points[it->second];
    const double s = score(criterion, table, r), o = objective(table, r);
    // The mean over seeds; one seed that diverged or missed makes the point infinitely bad.
    point.score += s;
    point.objective += o;
    point.runs += 1;
    point.diverged += rows[r].result.status == "diverged" ? 1 : 0;
  }
  for (Point& p : points) p.score /= double(p.runs), p.objective /= double(p.runs);

  TuneResult result;
  const std::vector<std::string> entries = entry_labels(sweep.config);
  std::string csv = "entry," + join(grid_keys, ",") + ",runs,diverged,score,objective,chosen\n";
  for (std::size_t e = 0; e < std::max<std::size_t>(1, entries.size()); ++e) {
    const std::string entry = entries.empty() ? "" : entries[e];
    TuneChoice choice;
    choice.entry = entry;
    const Point* best = nullptr;
    for (const Point& p : points) {
      if (p.entry != entry) continue;
      ++choice.points;
      choice.diverged += p.diverged > 0 ? 1 : 0;
      if (p.score == inf && p.objective == inf) continue;  // every seed diverged or failed
      if (!best || std::tie(p.score, p.objective, p.order) <
                       std::tie(best->score, best->objective, best->order))
        best = &p;
    }
    if (best) {
      choice.values = best->values;
      choice.score = criterion.maximise ? -best->score : best->score;
      for (std::size_t a = 0; a < grid.size(); ++a) {
        const auto& values = grid[a].values;
        choice.at_edge |= values.size() >= 3 && (best->values[a].second == values.front() ||
                                                 best->values[a].second == values.back());
        if (entries.empty())
          tuned.set(grid[a].key, parse_value(*run::find_option(grid[a].key), best->values[a].second,
                                             "tuned value"));
        else
          tuned.set_in_entry(
              e, grid[a].key,
              parse_value(*run::find_option(grid[a].key), best->values[a].second, "tuned value"));
      }
    }
    for (const Point& p : points) {
      if (p.entry != entry) continue;
      std::vector<std::string> cells{csv_field(entry)};
      for (const auto& [k, v] : p.values) cells.push_back(csv_field(v));
      const double shown = criterion.maximise ? -p.score : p.score;
      cells.insert(cells.end(), {fmt::format("{}", p.runs), fmt::format("{}", p.diverged),
                                 std::isinf(p.score) ? "" : fmt::format("{}", shown),
                                 std::isinf(p.objective) ? "" : fmt::format("{}", p.objective),
                                 &p == best ? "yes" : ""});
      csv += join(cells, ",") + "\n";
    }
    result.choices.push_back(std::move(choice));
  }
  write_file_atomically(sweep.spec.out / "tune.csv", csv);
  tuned.make_data_paths_absolute();
  result.tuned_config = sweep.spec.out / "tuned.toml";
  write_file_atomically(result.tuned_config,
                        fmt::format("# {} with the step sizes `herd tune --by {}` chose ({}).\n",
                                    sweep.spec.config_path.filename().string(), criterion.text,
                                    (sweep.spec.out / "tune.csv").string()) +
                            tuned.to_toml_as_given());
  return result;
}

}  // namespace herd::study
