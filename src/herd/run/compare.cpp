#include "herd/run/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <optional>
#include <set>

#include "herd/comm/mpi.hpp"
#include "herd/core/error.hpp"
#include "herd/core/interrupt.hpp"
#include "herd/core/text.hpp"
#include "herd/run/output.hpp"
#include "herd/run/results.hpp"

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

Comparison run_all(const Config& config, const std::filesystem::path& out_dir, Progress progress,
                   const std::string& label, bool force) {
  std::vector<RunPlan> plans;
  std::vector<std::filesystem::path> dirs;
  const bool comparison = !config.compare().empty();
  if (!comparison) {
    plans.push_back(plan(config, label.empty() ? config.get_string("algo.name") : label));
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
  // Settings that do nothing are said once, not silently accepted.
  if (is_output_process()) {
    std::set<std::string> said;
    const auto warn_about = [&](const Config& c) {
      for (const std::string& w : c.ineffective_settings())
        if (said.insert(w).second) fmt::print(stderr, "herd: warning: {}\n", w);
    };
    if (!comparison) warn_about(config);
    for (const CompareEntry& entry : config.compare()) warn_about(config.variant(entry));
  }
  Comparison out;
  std::optional<OutputClaim> claim;
  if (is_output_process()) {
    claim.emplace(out_dir, OutputClaim::Mode::fresh, force);
    // The comparison's own record: `herd table DIR` finds its entries (and their order) here.
    if (comparison) write_file_atomically(out_dir / "config.toml", config.to_toml());
  }
  // On mpi a failed run has ended every process of the job (MPI_Abort): nothing to go on with.
  const bool one_process = !comm::under_mpirun() || comm::mpi_world_size() == 1;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (interrupt_signal() != 0) break;  // Ctrl-C: no further entry starts
    try {
      out.results.push_back(execute(plans[i], dirs[i], progress));
    } catch (const Error& e) {
      if (!comparison || !one_process) throw;
      // One entry's failure is a result of the comparison: it is recorded (its summary.json
      // says how it ended) and the other entries still run.
      fmt::print(stderr, "\nherd: [[compare]] \"{}\" {}: {}\n", plans[i].label,
                 e.kind() == ErrorKind::divergence ? "diverged" : "failed", e.what());
      if (e.kind() != ErrorKind::divergence && !out.failure) out.failure = std::current_exception();
      out.results.push_back(read_run(dirs[i], plans[i].label));
    }
    plans[i].problem.reset();  // free its data before the next run
  }
  return out;
}

namespace {

struct Column {
  std::string title;
  std::function<std::string(const RunResult&)> format;
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

std::string count(double v) {
  return std::isnan(v) ? "-" : fmt::format("{:.0f}", v);
}

const std::vector<Column>& leading_columns() {
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
  };
  return cols;
}

// The columns for these results: the common ones, then per target of eval.target the five
// counters at its first crossing ("-" when never met), then how each run stopped.
std::vector<Column> columns(const std::vector<RunResult>& results) {
  std::vector<Column> cols = leading_columns();
  const std::size_t targets = results.empty() ? 0 : results.front().targets.size();
  for (std::size_t t = 0; t < targets; ++t) {
    const std::string name = targets == 1 ? "target" : results.front().targets[t].target.text();
    for (const std::string& counter : algo::target_counter_names()) {
      const std::string what = counter.substr(0, counter.find('_'));  // "steps"
      cols.push_back({fmt::format("{} to {}{}", what, name, what == "time" ? " [s]" : ""),
                      [t, counter](const RunResult& r) -> std::string {
                        if (t >= r.targets.size() || !r.targets[t].hit) return "-";
                        const double v = algo::counter_value(*r.targets[t].hit, counter);
                        if (counter == "bytes_to_target") return bytes_text(v);
                        return counter == "time_to_target" ? fmt::format("{:.2f}", v) : count(v);
                      }});
    }
  }
  cols.push_back({"stop", [](const RunResult& r) { return r.stop_reason; }});
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
      cells.back().push_back(markdown_cell(cols[i].format(r)));
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
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (i > 0) out += ',';
    out += csv_field(cols[i].title);
  }
  out += "\n";
  for (const auto& r : results) {
    for (std::size_t i = 0; i < cols.size(); ++i) {
      if (i > 0) out += ',';
      out += csv_field(cols[i].format(r));
    }
    out += "\n";
  }
  return out;
}

}  // namespace herd::run
