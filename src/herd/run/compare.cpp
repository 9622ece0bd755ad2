#include "herd/run/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "herd/core/error.hpp"

namespace herd::run {

std::string slug(const std::string& label) {
  std::string out;
  for (const char ch : label) {
    if (std::isalnum(static_cast<unsigned char>(ch)))
      out += char(std::tolower(static_cast<unsigned char>(ch)));
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "run" : out;
}

std::vector<RunResult> run_all(const Config& config, const std::filesystem::path& out_dir,
                               Progress progress) {
  std::vector<RunPlan> plans;
  std::vector<std::filesystem::path> dirs;
  if (config.compare().empty()) {
    plans.push_back(plan(config, config.get_string("algo.name")));
    dirs.push_back(out_dir);
  } else {
    std::set<std::string> used;
    for (const CompareEntry& entry : config.compare()) {
      const std::string dir = slug(entry.label);
      if (!used.insert(dir).second)
        throw InvalidInput(
            fmt::format("[[compare]] label \"{}\" gives the same directory name "
                        "\"{}\" as an earlier entry; make the labels differ",
                        entry.label, dir));
      try {
        plans.push_back(plan(config.variant(entry), entry.label));
      } catch (const InvalidInput& e) {
        throw InvalidInput(fmt::format("[[compare]] \"{}\": {}", entry.label, e.what()));
      }
      dirs.push_back(out_dir / dir);
    }
  }
  std::vector<RunResult> results;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    results.push_back(execute(plans[i], dirs[i], progress));
    plans[i].problem.reset();  // free its data before the next run
  }
  return results;
}

namespace {

struct Column {
  std::string title;
  std::string (*format)(const RunResult&);
};

std::string number(const RunResult& r, const char* key, const char* spec) {
  const double v = r.last.number(key);
  return std::isnan(v) ? "-" : fmt::format(fmt::runtime(spec), v);
}

std::string bytes_text(double b) {
  if (std::isnan(b)) return "-";
  if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.2f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

const std::vector<Column>& all_columns() {
  static const std::vector<Column> cols{
      {"run", [](const RunResult& r) { return r.label; }},
      {"algorithm", [](const RunResult& r) { return r.algorithm; }},
      {"steps", [](const RunResult& r) { return number(r, "step", "{:.0f}"); }},
      {"grads", [](const RunResult& r) { return number(r, "grads", "{:.0f}"); }},
      {"rounds", [](const RunResult& r) { return number(r, "rounds", "{:.0f}"); }},
      {"bytes", [](const RunResult& r) { return bytes_text(r.last.number("bytes")); }},
      {"train loss", [](const RunResult& r) { return number(r, "train_loss", "{:.6f}"); }},
      {"suboptimality", [](const RunResult& r) { return number(r, "suboptimality", "{:.3e}"); }},
      {"test acc", [](const RunResult& r) { return number(r, "test_acc", "{:.4f}"); }},
      {"time [s]", [](const RunResult& r) { return number(r, "time", "{:.2f}"); }},
      {"time to loss [s]",
       [](const RunResult& r) {
         return r.time_to_loss ? fmt::format("{:.2f}", *r.time_to_loss) : std::string("-");
       }},
      {"stop", [](const RunResult& r) { return r.stop_reason; }},
  };
  return cols;
}

// The columns worth showing for these results: "time to loss" only when some run has one.
std::vector<Column> columns(const std::vector<RunResult>& results) {
  const bool any_time_to_loss = std::any_of(results.begin(), results.end(),
                                            [](const RunResult& r) { return r.time_to_loss; });
  std::vector<Column> cols;
  for (const Column& c : all_columns())
    if (any_time_to_loss || c.title != "time to loss [s]") cols.push_back(c);
  return cols;
}

}  // namespace

std::string results_markdown(const std::vector<RunResult>& results) {
  const auto cols = columns(results);
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width;
  for (const auto& c : cols) width.push_back(c.title.size());
  for (const auto& r : results) {
    cells.emplace_back();
    for (std::size_t i = 0; i < cols.size(); ++i) {
      cells.back().push_back(cols[i].format(r));
      width[i] = std::max(width[i], cells.back().back().size());
    }
  }
  auto line = [&](auto cell) {
    std::string out = "|";
    for (std::size_t i = 0; i < cols.size(); ++i) out += fmt::format(" {} |", cell(i));
    return out + "\n";
  };
  std::string out =
      line([&](std::size_t i) { return fmt::format("{:<{}}", cols[i].title, width[i]); });
  out += line([&](std::size_t i) { return std::string(width[i], '-'); });
  for (const auto& row : cells)
    out += line([&](std::size_t i) {
      return i < 2 ? fmt::format("{:<{}}", row[i], width[i])
                   : fmt::format("{:>{}}", row[i], width[i]);
    });
  return out;
}

std::string results_csv(const std::vector<RunResult>& results) {
  const auto cols = columns(results);
  std::string out;
  for (std::size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + cols[i].title;
  out += "\n";
  for (const auto& r : results) {
    for (std::size_t i = 0; i < cols.size(); ++i) {
      std::string cell = cols[i].format(r);
      if (cell.find_first_of(",\"") != std::string::npos) cell = "\"" + cell + "\"";
      out += (i ? "," : "") + cell;
    }
    out += "\n";
  }
  return out;
}

}  // namespace herd::run
