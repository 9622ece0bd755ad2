#include "herd/study/sweep.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "herd/algo/registry.hpp"
#include "herd/cli/plot.hpp"
#include "herd/comm/fiber_pool.hpp"
#include "herd/comm/runtimes.hpp"
#include "herd/core/durable_file.hpp"
#include "herd/core/error.hpp"
#include "herd/core/interrupt.hpp"
#include "herd/core/text.hpp"
#include "herd/run/compare.hpp"
#include "herd/run/output.hpp"
#include "herd/run/results.hpp"

namespace herd::study {
namespace {

namespace fs = std::filesystem;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// A value as part of a directory name: characters other than letters, digits and . + - _
// become '_'.
std::string name_part(std::string_view text) {
  std::string out;
  for (const char c : text)
    out += (std::isalnum(static_cast<unsigned char>(c)) || std::strchr(".+-_", c)) ? c : '_';
  return out;
}

double as_number(std::string_view text) {
  double v = 0;
  const std::string s(trim(text));
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() ? v : nan;
}

std::string number_text(double v) {
  return std::isnan(v) ? "" : fmt::format("{}", v);
}

// For tables read by people: counts in full (53917), the rest to 4 significant digits.
std::string readable(double v) {
  if (std::abs(v) >= 1000 && std::abs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

// The configuration one point runs: the file, the entry's settings, then the command line's
// key=value settings and the point's values (the last word wins), as `herd run --entry` does.
run::Config point_config(const run::Config& file, const std::vector<std::string>& overrides,
                         const SweepPoint& point) {
  run::Config c = point.entry.empty() ? file : file.variant(std::string_view(point.entry));
  for (const auto& o : overrides) c.apply_override(o);
  for (const auto& a : point.assignments()) c.apply_override(a);
  return c;
}

// OS threads a run of this configuration occupies: on the threads runtime, its ranks' carriers
// (run.threads, or one per core, never more than the ranks).
int threads_per_run(const run::Config& c) {
  if (c.get_string("run.runtime") == "sim") return 1;
  const auto* algorithm = algo::find_algorithm(c.get_string("algo.name"));
  const int ranks = int(c.get_int("algo.workers")) + (algorithm && algorithm->needs_server ? 1 : 0);
  const int asked = int(c.get_int("run.threads"));
  return std::min(ranks, asked > 0 ? asked : comm::FiberPool::default_threads());
}

// What identifies a sweep's runs: rerun into the same directory, the same record means the
// finished runs are this sweep's.
nlohmann::ordered_json sweep_record(const Sweep& s) {
  nlohmann::ordered_json axes = nlohmann::ordered_json::array();
  for (const Axis& a : s.spec.axes) axes.push_back({{"key", a.key}, {"values", a.values}});
  return {{"config_file", fs::absolute(s.spec.config_path).lexically_normal().string()},
          {"overrides", s.spec.overrides},
          {"axes", axes},
          {"zip", s.spec.zip},
          {"seeds", s.spec.seeds},
          {"config", s.config.to_toml()}};
}

// sweep.json: what the sweep is (compared when it runs again into the same directory) and
// how its tables and plots are drawn (`presentation`: `herd table` draws them again).
void claim_directory(const Sweep& s) {
  const fs::path file = s.spec.out / "sweep.json";
  auto record = sweep_record(s);
  if (!fs::exists(file)) {
    for (const auto& entry : fs::directory_iterator(s.spec.out))
      if (entry.path().filename() != "runs" && entry.path().filename() != ".herd.lock")
        throw InvalidInput(fmt::format(
            "{}: holds {} and no sweep; a sweep writes into a new directory or its own: choose "
            "another --out",
            s.spec.out.string(), entry.path().filename().string()));
  } else {
    std::ifstream in(file);
    const auto before = nlohmann::ordered_json::parse(in, nullptr, false);
    std::vector<std::string> differ;
    for (const auto& [key, value] : record.items())
      if (before.is_discarded() || !before.contains(key) || before[key] != value)
        differ.push_back(key);
    if (!differ.empty())
      throw InvalidInput(fmt::format(
          "{} holds a sweep of other settings (they differ in: {}); its runs are not this "
          "sweep's: choose another --out, or delete the directory",
          s.spec.out.string(), join(differ, ", ")));
  }
  nlohmann::ordered_json plots = nlohmann::ordered_json::array();
  for (const SweepPlot& p : s.spec.plots) plots.push_back({p.x, p.y});
  record["presentation"] = {{"speedup", s.spec.speedup_key}, {"plots", plots}};
  write_file_atomically(file, record.dump(2) + "\n");
}

// The last non-empty line of a run's log: why it failed when it left no summary.
std::string last_log_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!trim(line).empty()) last = line;
  return std::string(trim(last));
}

// One `herd run` per point, at most `jobs` at once. A child dies with the sweep
// (PR_SET_PDEATHSIG), so a killed sweep leaves no run behind that still writes. Each child
// has its own process group, so a Ctrl-C at the terminal reaches the sweep alone: the sweep
// passes the signal on to its runs once (a second would end them at once), and they stop
// at their next evaluation.
class Launcher {
 public:
  Launcher(fs::path herd, int jobs) : herd_(std::move(herd)), jobs_(jobs) {}

  // Waits until fewer than `jobs` runs are running.
  void wait_for_a_slot() {
    while (int(running_.size()) >= jobs_) finished_.push_back(wait_one());
  }

  void start(std::size_t index, const std::vector<std::string>& args, const fs::path& log) {
    wait_for_a_slot();
    std::vector<std::string> storage{herd_.string()};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw IoError(fmt::format("cannot start a run: fork: {}", std::strerror(errno)));
    if (pid == 0) {  // the child: only async-signal-safe calls until exec
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::setpgid(0, 0);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    running_[pid] = index;
  }

  // Every started run that ended: its index and exit code (128 + signal when killed).
  std::vector<std::pair<std::size_t, int>> take_finished() { return std::exchange(finished_, {}); }
  bool idle() const { return running_.empty(); }
  // Polls, so that a signal that arrives meanwhile is passed on to the runs.
  std::pair<std::size_t, int> wait_one() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid < 0 && errno != EINTR)
        throw IoError(fmt::format("cannot wait for a run: {}", std::strerror(errno)));
      if (pid <= 0) {
        pass_on_interrupt();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      const auto it = running_.find(pid);
      if (it == running_.end()) continue;  // not one of ours (a plot's python)
      const std::size_t index = it->second;
      running_.erase(it);
      return {index, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
    }
  }

 private:
  void pass_on_interrupt() {
    const int signal = interrupt_signal();
    if (signal == 0 || passed_on_) return;
    passed_on_ = true;
    for (const auto& [pid, index] : running_) ::kill(pid, signal);
  }

  fs::path herd_;
  int jobs_;
  bool passed_on_ = false;
  std::map<pid_t, std::size_t> running_;
  std::vector<std::pair<std::size_t, int>> finished_;
};

// A run is finished when its summary.json (written last) says it did not stop for a signal.
bool finished(const fs::path& dir) {
  std::ifstream in(dir / "summary.json");
  if (!in) return false;
  const auto summary = nlohmann::json::parse(in, nullptr, false);
  return !summary.is_discarded() && summary.value("status", "") != "interrupted";
}

fs::path run_dir(const Sweep& s, const SweepPoint& p) {
  return s.spec.out / "runs" / p.name;
}

SweepRow read_row(const Sweep& s, const SweepPoint& p) {
  const fs::path dir = run_dir(s, p);
  SweepRow row{p, {}};
  const std::string label = p.entry.empty() ? "" : p.entry;
  if (fs::exists(dir / "summary.json")) {
    row.result = run::read_run(dir, label);
    return row;
  }
  row.result.dir = dir;
  row.result.label = label;
  row.result.status = "failed";
  row.result.stop_reason = "error";
  row.result.error = last_log_line(s.spec.out / "runs" / (p.name + ".log"));
  return row;
}

// What `herd run` is given for one point.
std::vector<std::string> run_arguments(const Sweep& s, const SweepPoint& p) {
  std::vector<std::string> args{"run", s.spec.config_path.string()};
  if (!p.entry.empty()) args.insert(args.end(), {"--entry", p.entry});
  args.insert(args.end(), s.spec.overrides.begin(), s.spec.overrides.end());
  for (const auto& a : p.assignments()) args.push_back(a);
  args.insert(args.end(), {"run.progress=none", "--out", run_dir(s, p).string()});
  return args;
}

// Columns whose cells the table derives from each row's result.
struct Column {
  std::string name;
  std::function<std::pair<std::string, double>(const SweepRow&)> cell;
};

std::pair<std::string, double> number_cell(double v) {
  return {number_text(v), v};
}

const std::vector<std::string> final_metrics{"step",     "grads",      "rounds",        "bytes",
                                             "time",     "train_loss", "suboptimality", "test_loss",
                                             "test_acc", "test_error"};

}  // namespace

std::vector<std::string> SweepPoint::assignments() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : values) out.push_back(key + "=" + value);
  if (seed) out.push_back(fmt::format("run.seed={}", *seed));
  return out;
}

Axis parse_axis(std::string_view argument) {
  const std::string where = fmt::format("sweep argument '{}'", argument);
  const std::size_t eq = argument.find('=');
  if (eq == std::string_view::npos)
    throw InvalidInput(where + ": expected KEY=VALUE,VALUE,..., e.g. algo.workers=1,2,4");
  Axis axis;
  axis.key = std::string(trim(argument.substr(0, eq)));
  const OptionSpec& spec = run::option_or_throw(axis.key, where);
  const std::string_view list = argument.substr(eq + 1);
  if (trim(list).empty()) throw InvalidInput(where + ": the list of values is empty");
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = std::min(list.find(',', pos), list.size());
    const std::string value(trim(list.substr(pos, comma - pos)));
    if (value.empty())
      throw InvalidInput(
          fmt::format("{}: value {} of the list is empty", where, axis.values.size() + 1));
    parse_value(spec, value, where);  // refused now, not by a run later
    axis.values.push_back(value);
    pos = comma + 1;
  }
  return axis;
}

std::vector<SweepPoint> expand(const std::vector<std::string>& entries,
                               const std::vector<Axis>& axes, bool zip,
                               const std::vector<std::int64_t>& seeds) {
  using Values = std::vector<std::pair<std::string, std::string>>;
  std::vector<Values> combos{{}};
  if (zip && !axes.empty()) {
    for (const Axis& a : axes)
      if (a.values.size() != axes.front().values.size())
        throw InvalidInput(
            fmt::format("--zip pairs values by position, but {} has {} values and {} has {}", a.key,
                        a.values.size(), axes.front().key, axes.front().values.size()));
    combos.assign(axes.front().values.size(), {});
    for (std::size_t i = 0; i < combos.size(); ++i)
      for (const Axis& a : axes) combos[i].emplace_back(a.key, a.values[i]);
  } else {
    for (const Axis& a : axes) {
      std::vector<Values> next;
      for (const Values& c : combos)
        for (const std::string& v : a.values) {
          next.push_back(c);
          next.back().emplace_back(a.key, v);
        }
      combos = std::move(next);
    }
  }
  std::vector<std::string> entry_list = entries.empty() ? std::vector<std::string>{""} : entries;
  std::vector<std::optional<std::int64_t>> seed_list;
  for (auto s : seeds) seed_list.emplace_back(s);
  if (seed_list.empty()) seed_list.emplace_back();

  std::vector<SweepPoint> points;
  std::map<std::string, std::size_t> names;
  for (const std::string& entry : entry_list)
    for (const Values& combo : combos)
      for (const auto& seed : seed_list) {
        SweepPoint p{entry, combo, seed, ""};
        std::vector<std::string> parts;
        if (!entry.empty()) parts.push_back(run::slug(entry));
        for (const auto& [key, value] : combo) parts.push_back(key + "=" + name_part(value));
        if (seed) parts.push_back(fmt::format("seed={}", *seed));
        p.name = parts.empty() ? "run" : join(parts, "__");
        if (const auto [it, fresh] = names.emplace(p.name, points.size()); !fresh)
          throw InvalidInput(fmt::format(
              "two runs of the sweep would share the directory {}: list each value once", p.name));
        points.push_back(std::move(p));
      }
  return points;
}

std::vector<std::string> entry_labels(const run::Config& config) {
  std::vector<std::string> labels;
  for (const auto& e : config.compare()) labels.push_back(e.label);
  return labels;
}

Sweep prepare_sweep(SweepSpec spec_in) {
  Sweep s;
  s.spec = std::move(spec_in);
  SweepSpec& spec = s.spec;
  s.config = run::Config::from_toml_file(spec.config_path.string());
  for (const auto& o : spec.overrides) s.config.apply_override(o);
  // run.seed=1,2,3 is the same as --seeds: the column is `seed`.
  for (auto it = spec.axes.begin(); it != spec.axes.end();) {
    if (it->key != "run.seed") {
      ++it;
      continue;
    }
    if (!spec.seeds.empty())
      throw InvalidInput("give the seeds once: --seeds or run.seed=..., not both");
    for (const auto& v : it->values) spec.seeds.push_back(std::stoll(v));
    it = spec.axes.erase(it);
  }
  for (std::size_t i = 0; i < spec.axes.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (spec.axes[i].key == spec.axes[j].key)
        throw InvalidInput(
            fmt::format("{} is swept twice; give its values in one list", spec.axes[i].key));
  auto is_axis = [&](std::string_view key) {
    return std::any_of(spec.axes.begin(), spec.axes.end(),
                       [&](const Axis& a) { return a.key == key; });
  };
  const auto targets = algo::parse_targets(s.config.get_string("eval.target"), "eval.target");
  if (!spec.speedup_key.empty()) {
    if (!is_axis(spec.speedup_key))
      throw InvalidInput(fmt::format("--speedup {}: not a swept key", spec.speedup_key));
    if (targets.empty())
      throw InvalidInput(
          fmt::format("--speedup {}: the speedup is a ratio of steps_to_target; set eval.target",
                      spec.speedup_key));
  }
  s.points = expand(entry_labels(s.config), s.spec.axes, s.spec.zip, s.spec.seeds);

  // Every run's configuration is checked now: bad input stops the sweep before anything is
  // written, not as one failed run among many.
  int threads = 1;
  const run::Config file = run::Config::from_toml_file(s.spec.config_path.string());
  for (const SweepPoint& p : s.points) {
    try {
      const run::Config c = point_config(file, s.spec.overrides, p);
      c.check();
      if (!comm::runtime_or_throw(c.get_string("run.runtime")).in_process)
        throw InvalidInput(fmt::format(
            "run.runtime = \"{}\": a sweep starts each run as a process on this machine; "
            "sweep on the threads or sim runtime",
            c.get_string("run.runtime")));
      threads = std::max(threads, threads_per_run(c));
    } catch (const InvalidInput& e) {
      throw InvalidInput(fmt::format("run {}: {}", p.name, e.what()));
    }
  }
  s.jobs =
      s.spec.jobs > 0 ? s.spec.jobs : std::max(1, comm::FiberPool::default_threads() / threads);

  // The plots are checked against the table's columns (a sweep of no rows has them all).
  const SweepTable empty = tabulate(s, {});
  for (const SweepPlot& plot : s.spec.plots) {
    if (!is_axis(plot.x) && plot.x != "seed")
      throw InvalidInput(
          fmt::format("--plot {}:{}: {} is not a swept key", plot.x, plot.y, plot.x));
    if (!empty.find(plot.y) && !std::count(final_metrics.begin(), final_metrics.end(), plot.y))
      throw InvalidInput(fmt::format("--plot {}:{}: sweep.csv has no column {}; the columns are {}",
                                     plot.x, plot.y, plot.y, join(empty.columns, ", ")));
  }
  // Every run execs this very program, through /proc/self/exe, not its path: a herd rebuilt
  // or replaced on disk while a long sweep runs (its path then names another file, or none)
  // must neither fail the runs still to start nor run them with another binary.
  if (s.spec.herd_binary.empty()) s.spec.herd_binary = "/proc/self/exe";
  return s;
}

std::optional<std::size_t> SweepTable::find(std::string_view column) const {
  const auto it = std::find(columns.begin(), columns.end(), column);
  if (it == columns.end()) return std::nullopt;
  return std::size_t(it - columns.begin());
}

SweepTable tabulate(const Sweep& s, const std::vector<SweepRow>& rows) {
  std::vector<Column> cols;
  if (!entry_labels(s.config).empty())
    cols.push_back({"entry", [](const SweepRow& r) { return std::pair{r.point.entry, nan}; }});
  for (std::size_t a = 0; a < s.spec.axes.size(); ++a)
    cols.push_back(
        {s.spec.axes[a].key, [a](const SweepRow& r) {
           return std::pair{r.point.values[a].second, as_number(r.point.values[a].second)};
         }});
  if (!s.spec.seeds.empty())
    cols.push_back({"seed", [](const SweepRow& r) { return number_cell(double(*r.point.seed)); }});
  cols.push_back({"status", [](const SweepRow& r) { return std::pair{r.result.status, nan}; }});
  cols.push_back({"stop", [](const SweepRow& r) { return std::pair{r.result.stop_reason, nan}; }});
  for (const std::string& m : final_metrics) {
    const bool any = std::any_of(rows.begin(), rows.end(), [&](const SweepRow& r) {
      return !std::isnan(algo::metric_value(r.result.last, m));
    });
    if (any)
      cols.push_back({m, [m](const SweepRow& r) {
                        return number_cell(algo::metric_value(r.result.last, m));
                      }});
  }
  cols.push_back(
      {"wall_seconds", [](const SweepRow& r) { return number_cell(r.result.wall_seconds); }});
  const auto targets = algo::parse_targets(s.config.get_string("eval.target"), "eval.target");
  for (std::size_t t = 0; t < targets.size(); ++t)
    for (const std::string& counter : algo::target_counter_names()) {
      const std::string name =
          targets.size() == 1 ? counter : fmt::format("{}[{}]", counter, targets[t].text());
      cols.push_back({name, [t, counter](const SweepRow& r) {
                        const bool hit = t < r.result.targets.size() && r.result.targets[t].hit;
                        return number_cell(
                            hit ? algo::counter_value(*r.result.targets[t].hit, counter) : nan);
                      }});
    }

  SweepTable table;
  for (const Column& c : cols) table.columns.push_back(c.name);
  for (const SweepRow& r : rows) {
    table.text.emplace_back();
    table.value.emplace_back();
    for (const Column& c : cols) {
      auto [text, value] = c.cell(r);
      table.text.back().push_back(std::move(text));
      table.value.back().push_back(value);
    }
  }
  // speedup = steps_to_target of the run with the key's first value (the rest equal) over
  // this run's.
  if (!s.spec.speedup_key.empty()) {
    const std::size_t steps =
        *table.find(targets.size() == 1 ? std::string("steps_to_target")
                                        : fmt::format("steps_to_target[{}]", targets[0].text()));
    const auto axis = std::find_if(s.spec.axes.begin(), s.spec.axes.end(),
                                   [&](const Axis& a) { return a.key == s.spec.speedup_key; });
    const std::size_t a = std::size_t(axis - s.spec.axes.begin());
    table.columns.push_back("speedup");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      double speedup = nan;
      for (std::size_t j = 0; j < rows.size(); ++j) {
        const SweepPoint &p = rows[i].point, &q = rows[j].point;
        bool base = q.entry == p.entry && q.seed == p.seed && q.values[a].second == axis->values[0];
        for (std::size_t b = 0; base && b < p.values.size(); ++b)
          base = b == a || p.values[b] == q.values[b];
        if (base) speedup = table.value[j][steps] / table.value[i][steps];
      }
      table.text[i].push_back(number_text(speedup));
      table.value[i].push_back(speedup);
    }
  }
  table.columns.push_back("dir");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    table.text[i].push_back("runs/" + rows[i].point.name);
    table.value[i].push_back(nan);
  }
  return table;
}

std::string sweep_csv(const SweepTable& table) {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      out += csv_field(cells[i]);
    }
    out += '\n';
  };
  line(table.columns);
  for (const auto& row : table.text) line(row);
  return out;
}

std::string sweep_markdown(const Sweep& s, const SweepTable& table) {
  // Runs that differ only in their seed form one line: mean, and (min - max) over seeds.
  std::vector<std::string> keys;
  if (table.find("entry")) keys.push_back("entry");
  for (const Axis& a : s.spec.axes) keys.push_back(a.key);
  std::vector<std::string> shown;
  for (const char* c : {"steps_to_target", "rounds_to_target", "time_to_target", "speedup",
                        "train_loss", "suboptimality", "test_acc"})
    if (table.find(c)) shown.push_back(c);
  if (!table.find("steps_to_target"))  // several targets: the first one's counters
    for (const std::string& c : table.columns)
      if (c.starts_with("steps_to_target[") || c.starts_with("time_to_target[")) shown.push_back(c);

  std::vector<std::vector<std::size_t>> groups;
  std::map<std::vector<std::string>, std::size_t> group_of;
  for (std::size_t r = 0; r < table.text.size(); ++r) {
    std::vector<std::string> id;
    for (const auto& k : keys) id.push_back(table.text[r][*table.find(k)]);
    const auto [it, fresh] = group_of.emplace(id, groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(r);
  }
  std::vector<std::string> header = keys;
  header.push_back("runs");
  for (const auto& c : shown) header.push_back(c);
  std::vector<std::vector<std::string>> lines;
  for (const auto& g : groups) {
    std::vector<std::string> line;
    for (const auto& k : keys) line.push_back(markdown_cell(table.text[g.front()][*table.find(k)]));
    const auto ok = std::count_if(g.begin(), g.end(), [&](std::size_t r) {
      return table.text[r][*table.find("status")] == "ok";
    });
    line.push_back(ok == std::ptrdiff_t(g.size()) ? fmt::format("{}", g.size())
                                                  : fmt::format("{} ({} ok)", g.size(), ok));
    for (const auto& c : shown) {
      std::vector<double> v;
      for (std::size_t r : g)
        if (!std::isnan(table.value[r][*table.find(c)]))
          v.push_back(table.value[r][*table.find(c)]);
      if (v.empty()) {
        line.push_back("-");
        continue;
      }
      double mean = 0;
      for (double x : v) mean += x / double(v.size());
      std::string cell = readable(mean);
      if (v.size() > 1)
        cell += fmt::format(" ({} - {})", readable(*std::min_element(v.begin(), v.end())),
                            readable(*std::max_element(v.begin(), v.end())));
      if (v.size() < g.size()) cell += fmt::format(" [{} of {} met]", v.size(), g.size());
      line.push_back(cell);
    }
    lines.push_back(std::move(line));
  }
  std::string out = fmt::format("# Sweep of {}\n\n", s.spec.config_path.filename().string());
  if (!s.spec.seeds.empty())
    out += fmt::format(
        "Mean over {} seeds, (min - max) beside it; a counter to a target is "
        "averaged over the runs that met it.\n\n",
        s.spec.seeds.size());
  if (const auto t = s.config.get_string("eval.target"); !t.empty())
    out += fmt::format("Target: {}.\n\n", t);
  auto row_text = [](const std::vector<std::string>& cells) {
    return "| " + join(cells, " | ") + " |\n";
  };
  out += row_text(header);
  out += row_text(std::vector<std::string>(header.size(), "---"));
  for (const auto& l : lines) out += row_text(l);
  return out;
}

std::vector<SweepRow> run_sweep(const Sweep& s) {
  std::error_code ec;
  fs::create_directories(s.spec.out / "runs", ec);
  if (ec)
    throw IoError(fmt::format("{}: cannot create the sweep directory: {}", s.spec.out.string(),
                              ec.message()));
  // Locked for as long as the sweep runs: a second sweep (or run) into it is refused.
  const run::OutputClaim lock(s.spec.out, run::OutputClaim::Mode::resume, false);
  claim_directory(s);

  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    const fs::path dir = run_dir(s, s.points[i]);
    if (finished(dir)) continue;  // by an earlier sweep
    fs::remove_all(dir);          // a run that was killed: it starts again from nothing
    todo.push_back(i);
  }
  if (!s.spec.quiet)
    fmt::print("sweep: {} runs, {} finished before; running {}, {} at a time\n", s.points.size(),
               s.points.size() - todo.size(), todo.size(), s.jobs);
  std::fflush(stdout);

  Launcher launcher(s.spec.herd_binary, s.jobs);
  std::size_t done = 0;
  auto report = [&](std::pair<std::size_t, int> finished) {
    ++done;
    if (s.spec.quiet) return;
    const SweepRow row = read_row(s, s.points[finished.first]);
    if (interrupt_signal() != 0 && row.result.status != "ok") {
      fmt::print("[{}/{}] {}: interrupted; it runs again when the sweep continues\n", done,
                 todo.size(), s.points[finished.first].name);
      std::fflush(stdout);
      return;
    }
    fmt::print("[{}/{}] {}: {}{}\n", done, todo.size(), s.points[finished.first].name,
               row.result.status,
               row.result.status == "ok" ? fmt::format(" ({})", row.result.stop_reason)
                                         : ": " + row.result.error);
    std::fflush(stdout);
  };
  for (const std::size_t i : todo) {
    launcher.wait_for_a_slot();
    for (const auto& f : launcher.take_finished()) report(f);
    if (interrupt_signal() != 0) break;  // no further run starts
    launcher.start(i, run_arguments(s, s.points[i]),
                   s.spec.out / "runs" / (s.points[i].name + ".log"));
  }
  while (!launcher.idle()) report(launcher.wait_one());
  if (const int signal = interrupt_signal(); signal != 0) {
    const auto kept = std::count_if(s.points.begin(), s.points.end(),
                                    [&](const SweepPoint& p) { return finished(run_dir(s, p)); });
    throw Interrupted(signal, fmt::format("{}: {} of {} runs finished and are kept; the same "
                                          "command continues with the others",
                                          s.spec.out.string(), kept, s.points.size()));
  }

  const std::vector<SweepRow> rows = read_rows(s);
  write_sweep_outputs(s, rows);
  return rows;
}

std::vector<SweepRow> read_rows(const Sweep& s) {
  std::vector<SweepRow> rows;
  for (const SweepPoint& p : s.points) rows.push_back(read_row(s, p));
  return rows;
}

void write_sweep_outputs(const Sweep& s, const std::vector<SweepRow>& rows) {
  const SweepTable table = tabulate(s, rows);
  write_file_atomically(s.spec.out / "sweep.csv", sweep_csv(table));
  write_file_atomically(s.spec.out / "sweep.md", sweep_markdown(s, table));
  for (const SweepPlot& plot : s.spec.plots) {
    cli::SweepPlotRequest request;
    request.csv = (s.spec.out / "sweep.csv").string();
    request.x = plot.x;
    request.y = plot.y;
    if (table.find("entry")) request.groups.push_back("entry");
    for (const Axis& a : s.spec.axes)
      if (a.key != plot.x) request.groups.push_back(a.key);
    request.output =
        (s.spec.out / fmt::format("sweep_{}_vs_{}.png", name_part(plot.y), name_part(plot.x)))
            .string();
    request.ideal_speedup = plot.y == "speedup";
    for (const PlotMark& m : plot.marks) request.marks.emplace_back(m.x, m.label);
    try {
      cli::plot_sweep(request);
      if (!s.spec.quiet) fmt::print("plot:  {}\n", request.output);
    } catch (const Error& e) {  // the runs and the table stand even when plotting cannot
      fmt::print(stderr, "herd: warning: no plot: {}\n", e.what());
    }
  }
}

Sweep sweep_in(const fs::path& dir) {
  const fs::path file = dir / "sweep.json";
  std::ifstream in(file);
  if (!in)
    throw InvalidInput(fmt::format("{}: not a sweep directory (no sweep.json)", dir.string()));
  const auto record = nlohmann::ordered_json::parse(in, nullptr, false);
  SweepSpec spec;
  try {
    spec.config_path = record.at("config_file").get<std::string>();
    spec.overrides = record.at("overrides").get<std::vector<std::string>>();
    for (const auto& a : record.at("axes"))
      spec.axes.push_back(
          {a.at("key").get<std::string>(), a.at("values").get<std::vector<std::string>>()});
    spec.zip = record.at("zip").get<bool>();
    spec.seeds = record.at("seeds").get<std::vector<std::int64_t>>();
    const auto& shown = record.at("presentation");
    spec.speedup_key = shown.at("speedup").get<std::string>();
    for (const auto& p : shown.at("plots"))
      spec.plots.push_back({p.at(0).get<std::string>(), p.at(1).get<std::string>(), {}});
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(fmt::format("{}: not a sweep record: {}", file.string(), e.what()));
  }
  spec.out = dir;
  spec.herd_binary = "/proc/self/exe";
  return prepare_sweep(std::move(spec));
}

}  // namespace herd::study
