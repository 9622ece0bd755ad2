#include "herd/study/reproduce.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "herd/algo/target.hpp"
#include "herd/cli/plot.hpp"
#include "herd/core/durable_file.hpp"
#include "herd/core/error.hpp"
#include "herd/core/text.hpp"
#include "herd/study/closed_form.hpp"
#include "herd/study/tune.hpp"

namespace herd::study {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------- reading study.toml

class StudyFile {
 public:
  StudyFile(const fs::path& file, const toml::table& table) : file_(file), table_(table) {}

  [[noreturn]] void fail(std::string_view key, std::string_view what) const {
    throw InvalidInput(fmt::format("{}: {}: {}", file_.string(), key, what));
  }
  // Every key of `table` is one of `allowed`.
  void only(const toml::table& table, std::string_view where,
            const std::vector<std::string>& allowed) const {
    for (const auto& [key, node] : table)
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end())
        fail(where.empty() ? std::string(key.str()) : fmt::format("{}.{}", where, key.str()),
             fmt::format("unknown key; the keys here are {}", join(allowed, ", ")));
  }
  std::string text(const toml::table& t, std::string_view key, std::string_view where,
                   bool required) const {
    const toml::node* n = t.get(key);
    const std::string name = where.empty() ? std::string(key) : fmt::format("{}.{}", where, key);
    if (n == nullptr) {
      if (required) fail(name, "missing");
      return "";
    }
    if (!n->is_string()) fail(name, "must be a string");
    return std::string(*n->value<std::string>());
  }
  std::vector<std::string> texts(const toml::table& t, std::string_view key,
                                 std::string_view where) const {
    const toml::node* n = t.get(key);
    const std::string name = where.empty() ? std::string(key) : fmt::format("{}.{}", where, key);
    std::vector<std::string> out;
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) fail(name, "must be an array of strings");
    for (const toml::node& item : *a) {
      if (!item.is_string()) fail(name, "must be an array of strings");
      out.emplace_back(*item.value<std::string>());
    }
    return out;
  }
  std::optional<double> number(const toml::table& t, std::string_view key,
                               std::string_view where) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_number())
      fail(where.empty() ? std::string(key) : fmt::format("{}.{}", where, key), "must be a number");
    return *n->value<double>();
  }
  const toml::table& root() const { return table_; }

 private:
  fs::path file_;
  const toml::table& table_;
};

StudyScale read_scale(const StudyFile& f, const toml::table& t, const std::string& name) {
  f.only(t, name, {"duration", "differs", "set", "sweep", "zip", "seeds", "tune", "marks"});
  StudyScale s;
  s.duration = f.text(t, "duration", name, true);
  s.differs = f.text(t, "differs", name, true);
  s.set = f.texts(t, "set", name);
  for (const std::string& a : f.texts(t, "sweep", name)) {
    try {
      s.axes.push_back(parse_axis(a));
    } catch (const InvalidInput& e) {
      f.fail(name + ".sweep", e.what());
    }
  }
  for (const std::string& m : f.texts(t, "marks", name)) {
    const std::size_t colon = m.find(':');
    double x = 0;
    const char* end = colon == std::string::npos ? nullptr : m.data() + colon;
    if (end == nullptr || std::from_chars(m.data(), end, x).ptr != end || !std::isfinite(x) ||
        trim(m.substr(colon + 1)).empty())
      f.fail(name + ".marks",
             fmt::format("\"{}\" is not X:LABEL (e.g. \"5.6:sqrt(T / (K b))\")", m));
    s.marks.push_back({x, std::string(trim(m.substr(colon + 1)))});
  }
  if (const toml::node* z = t.get("zip")) {
    if (!z->is_boolean()) f.fail(name + ".zip", "must be true or false");
    s.zip = *z->value<bool>();
  }
  if (const auto seeds = f.number(t, "seeds", name)) {
    if (*seeds < 1 || *seeds != std::floor(*seeds))
      f.fail(name + ".seeds", "must be an integer >= 1");
    s.seeds = int(*seeds);
  }
  if (const toml::node* tn = t.get("tune")) {
    const toml::table* tune = tn->as_table();
    const std::string where = name + ".tune";
    if (tune == nullptr) f.fail(where, "must be a table {grid = [...], by = \"...\"}");
    f.only(*tune, where, {"grid", "by", "budget"});
    for (const std::string& g : f.texts(*tune, "grid", where)) {
      try {
        s.grid.push_back(parse_grid(g));
      } catch (const InvalidInput& e) {
        f.fail(where + ".grid", e.what());
      }
    }
    if (s.grid.empty()) f.fail(where + ".grid", "missing");
    s.tune_by = f.text(*tune, "by", where, true);
    try {
      parse_criterion(s.tune_by);
    } catch (const InvalidInput& e) {
      f.fail(where + ".by", e.what());
    }
    s.budget = f.texts(*tune, "budget", where);
  }
  return s;
}

Study read_study(const fs::path& root, const fs::path& dir) {
  const fs::path file = dir / "study.toml";
  toml::table table;
  try {
    table = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw InvalidInput(fmt::format("{}:{}:{}: {}", file.string(), e.source().begin.line,
                                   e.source().begin.column, e.description()));
  }
  const StudyFile f(file, table);
  f.only(table, "",
         {"question", "paper", "source", "claim", "paper_number", "config", "closed_forms", "plots",
          "curves", "speedup", "scale", "check"});
  Study s;
  s.id = fs::relative(dir, root).generic_string();
  s.dir = dir;
  s.question = f.text(table, "question", "", true);
  s.paper = f.text(table, "paper", "", true);
  s.source = f.text(table, "source", "", true);
  s.claim = f.text(table, "claim", "", true);
  s.paper_number = f.text(table, "paper_number", "", true);
  s.config = dir / f.text(table, "config", "", true);
  if (!fs::exists(s.config)) f.fail("config", fmt::format("{} does not exist", s.config.string()));
  s.closed_forms = f.texts(table, "closed_forms", "");
  for (const std::string& c : s.closed_forms) {
    const auto& names = closed_form_names();
    if (std::find(names.begin(), names.end(), c) == names.end())
      f.fail("closed_forms",
             fmt::format("unknown closed form {}; the closed forms are {}", c, join(names, ", ")));
  }
  for (const std::string& p : f.texts(table, "plots", "")) {
    const std::size_t colon = p.find(':');
    if (colon == std::string::npos) f.fail("plots", fmt::format("\"{}\" is not KEY:COLUMN", p));
    s.plots.push_back({p.substr(0, colon), p.substr(colon + 1), {}});
  }
  for (const std::string& c : f.texts(table, "curves", "")) {
    const std::size_t colon = c.find(':');
    const std::string x = c.substr(0, std::min(colon, c.size()));
    if (colon == std::string::npos ||
        std::find(cli::plot_x_choices.begin(), cli::plot_x_choices.end(), x) ==
            cli::plot_x_choices.end())
      f.fail("curves", fmt::format("\"{}\" is not X:METRIC with X one of time, grads, rounds, "
                                   "bytes, epoch",
                                   c));
    s.curves.push_back({x, c.substr(colon + 1), {}});
  }
  s.speedup_key = f.text(table, "speedup", "", false);
  const toml::table* scales = table.get_as<toml::table>("scale");
  if (scales == nullptr)
    f.fail("scale", "missing: every study has [scale.quick] and [scale.paper]");
  f.only(*scales, "scale", scale_names());
  for (const std::string& name : scale_names()) {
    const toml::table* t = scales->get_as<toml::table>(name);
    if (t == nullptr) f.fail("scale." + name, "missing: every study has a quick and a paper scale");
    s.scales[name] = read_scale(f, *t, "scale." + name);
  }
  const toml::array* checks = table.get_as<toml::array>("check");
  if (checks == nullptr || checks->empty())
    f.fail("check", "missing: a study states its claim as [[check]] entries");
  for (std::size_t i = 0; i < checks->size(); ++i) {
    const std::string where = fmt::format("check[{}]", i + 1);
    const toml::table* c = (*checks)[i].as_table();
    if (c == nullptr) f.fail(where, "must be a table");
    f.only(*c, where, {"claim", "value", "at_least", "at_most"});
    Check check{f.text(*c, "claim", where, true), Expression{}, f.number(*c, "at_least", where),
                f.number(*c, "at_most", where)};
    try {
      check.value = Expression::parse(f.text(*c, "value", where, true));
    } catch (const InvalidInput& e) {
      f.fail(where + ".value", e.what());
    }
    if (!check.at_least && !check.at_most)
      f.fail(where, "needs at_least, at_most or both: the threshold of the claim");
    s.checks.push_back(std::move(check));
  }
  return s;
}

// ---------------------------------------------------------------- running one study

std::vector<std::int64_t> seeds_of(const StudyScale& scale, std::int64_t first) {
  std::vector<std::int64_t> seeds;
  for (int i = 0; i < scale.seeds; ++i) seeds.push_back(first + i);
  return seeds;
}

SweepSpec sweep_spec(const Study& study, const StudyScale& scale, const ReproduceSpec& spec,
                     const fs::path& config, const fs::path& out) {
  SweepSpec s;
  s.config_path = config;
  s.overrides = scale.set;
  s.axes = scale.axes;
  s.zip = scale.zip;
  s.seeds = seeds_of(scale, spec.seed);
  s.out = out;
  s.jobs = spec.jobs;
  s.plots = study.plots;
  for (SweepPlot& p : s.plots) p.marks = scale.marks;
  s.speedup_key = study.speedup_key;
  s.quiet = spec.quiet;
  s.herd_binary = spec.herd_binary;
  return s;
}

// The keys a claim selects by: the entries, the swept keys and the seed.
std::vector<std::string> axes_of(const Sweep& sweep) {
  std::vector<std::string> axes;
  if (!entry_labels(sweep.config).empty()) axes.push_back("entry");
  for (const Axis& a : sweep.spec.axes) axes.push_back(a.key);
  return axes;
}

// The checks evaluated on a table of the sweep's points, every referenced number 1: what can
// be wrong with a claim (an unknown column or key, a selection of several points) is found
// before anything runs.
void check_claims(const Study& study, const Sweep& sweep) {
  SweepTable known = tabulate(sweep, {});
  for (const std::string& c : study.closed_forms) known.columns.push_back(c);
  SweepTable t;
  t.columns = axes_of(sweep);
  if (!sweep.spec.seeds.empty()) t.columns.push_back("seed");
  for (const Check& check : study.checks)
    for (const std::string& c : check.value.columns()) {
      if (std::find(t.columns.begin(), t.columns.end(), c) != t.columns.end()) continue;
      if (!known.find(c) && !algo::is_known_metric(c))
        throw InvalidInput(fmt::format(
            "{}: check \"{}\": {} is neither a swept key nor a column of the table ({})",
            (study.dir / "study.toml").string(), check.claim, c, join(known.columns, ", ")));
      t.columns.push_back(c);
    }
  for (const SweepPoint& p : sweep.points) {
    std::vector<std::string> text;
    if (!p.entry.empty()) text.push_back(p.entry);
    for (const auto& [key, value] : p.values) text.push_back(value);
    if (p.seed) text.push_back(std::to_string(*p.seed));
    while (text.size() < t.columns.size()) text.push_back("1");
    std::vector<double> value;
    for (const std::string& cell : text) {
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      value.push_back(end != cell.c_str() && *end == '\0' ? v : nan);
    }
    t.text.push_back(std::move(text));
    t.value.push_back(std::move(value));
  }
  const ClaimTable claims{&t, axes_of(sweep), sweep.spec.zip};
  for (const Check& check : study.checks) {
    try {
      check.value.evaluate(claims);
    } catch (const InvalidInput& e) {
      throw InvalidInput(fmt::format("{}: check \"{}\": {}", (study.dir / "study.toml").string(),
                                     check.claim, e.what()));
    }
  }
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw IoError(fmt::format("cannot read {}", file.string()));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A JSON file, or a discarded value (is_discarded()) when it is missing or damaged.
json read_json(const fs::path& file) {
  std::ifstream in(file);
  return in ? json::parse(in, nullptr, false) : json(json::value_t::discarded);
}

json identity_of(const Study& study, const ReproduceSpec& spec) {
  return {{"id", study.id}, {"scale", spec.scale}, {"seed", spec.seed}};
}

// OUT/ID/study.json says whose results a directory holds. InvalidInput unless the directory
// is absent, empty, or holds this study's results at this scale and seed (then they continue).
void check_directory(const fs::path& dir, const Study& study, const ReproduceSpec& spec) {
  if (!fs::exists(dir) || fs::is_empty(dir)) return;
  const json held = read_json(dir / "study.json");
  if (held.is_discarded() || !held.is_object())
    throw InvalidInput(
        fmt::format("{} holds files that are not results of herd reproduce; choose another --out",
                    dir.string()));
  if (held != identity_of(study, spec))
    throw InvalidInput(fmt::format(
        "{} holds the results of {} at scale {} with seed {}; choose another --out (this is {} "
        "at scale {} with seed {})",
        dir.string(), held.value("id", "?"), held.value("scale", "?"),
        held.value("seed", std::int64_t(0)), study.id, spec.scale, spec.seed));
}

void claim_directory(const fs::path& dir, const Study& study, const ReproduceSpec& spec) {
  check_directory(dir, study, spec);
  fs::create_directories(dir);
  if (!fs::exists(dir / "study.json"))
    write_file_atomically(dir / "study.json", identity_of(study, spec).dump(2) + "\n");
}

std::string number_text(double v) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.4g}", v);
}

std::string report_markdown(const Study& study, const StudyScale& scale, const ReproduceSpec& spec,
                            const StudyResult& result, const Sweep& sweep, const SweepTable& table,
                            const std::vector<std::string>& tuned) {
  std::string md = fmt::format("# {}: {}\n\n", study.id, study.question);
  const std::size_t held = std::size_t(
      std::count_if(result.checks.begin(), result.checks.end(), [](auto& c) { return c.holds; }));
  md += fmt::format(
      "**{}** ({} of {} checks hold) at scale {}, seed {}: {} runs in {:.0f} s{}.\n\n",
      result.verdict, held, result.checks.size(), spec.scale, spec.seed, result.runs,
      result.seconds, result.failed_runs > 0 ? fmt::format(", {} failed", result.failed_runs) : "");
  md += fmt::format("## The paper\n\n{}\n\n- Paper: {}\n- Where: {}\n- The paper's number: {}\n\n",
                    study.claim, study.paper, study.source, study.paper_number);
  md += fmt::format("## Setting\n\n{}\n\n", scale.differs);
  md += fmt::format("- Configuration: `{}`\n", fs::relative(study.config, study.dir).string());
  if (!scale.set.empty()) md += fmt::format("- Settings: `{}`\n", join(scale.set, "`, `"));
  for (const Axis& a : scale.axes)
    md += fmt::format("- Swept: `{}` = {}\n", a.key, join(a.values, ", "));
  md += fmt::format("- Seeds: {}\n", scale.seeds == 1 ? std::to_string(spec.seed)
                                                      : fmt::format("{} to {}", spec.seed,
                                                                    spec.seed + scale.seeds - 1));
  if (!scale.grid.empty()) {
    std::vector<std::string> grid;
    for (const Axis& a : scale.grid)
      grid.push_back(fmt::format("`{}` in {{{}}}", a.key, join(a.values, ", ")));
    md += fmt::format(
        "- Step sizes tuned per method by {} over {}{}; chosen: {} (tune/tune.md)\n", scale.tune_by,
        join(grid, ", "),
        scale.budget.empty() ? "" : fmt::format(" with `{}`", join(scale.budget, "`, `")),
        join(tuned, "; "));
  }
  // The sweep's table without its own title.
  std::string measured = sweep_markdown(sweep, table);
  if (measured.starts_with("# ")) measured.erase(0, measured.find('\n') + 1);
  md += "\n## Measured\n" + measured + "\n";
  for (const std::string& name : study.closed_forms) {
    const std::size_t c = *table.find(name);
    std::vector<std::string> values;
    for (std::size_t r = 0; r < table.text.size(); ++r) values.push_back(table.text[r][c]);
    md += fmt::format("Closed form {} of each run, in sweep.csv's order: {}.\n\n", name,
                      join(values, ", "));
  }
  std::vector<fs::path> plots;
  for (const auto& e : fs::directory_iterator(sweep.spec.out))
    if (e.path().extension() == ".png") plots.push_back(e.path());
  std::sort(plots.begin(), plots.end());
  for (const fs::path& p : plots)
    md += fmt::format("![{}](sweep/{})\n\n", p.stem().string(), p.filename().string());
  md +=
      "## Checks\n\n| claim | computed | value | threshold | holds |\n| --- | --- | --- | --- | "
      "--- |\n";
  for (const CheckResult& c : result.checks)
    md += fmt::format("| {} | `{}` | {}{} | {} | {} |\n", markdown_cell(c.claim),
                      markdown_cell(c.expression), number_text(c.value),
                      c.note.empty() ? "" : " (" + markdown_cell(c.note) + ")", c.bound,
                      c.holds ? "yes" : "**no**");
  md += "\n## Verdict\n\n";
  if (result.verdict == "reproduced") {
    md += "Every check holds on herd's measurements.\n";
  } else {
    std::vector<std::string> failed;
    for (const CheckResult& c : result.checks)
      if (!c.holds)
        failed.push_back(
            fmt::format("{} (measured {}, needs {})", c.claim, number_text(c.value), c.bound));
    md += fmt::format("{} of {} checks hold. Not holding: {}.\n", held, result.checks.size(),
                      join(failed, "; "));
  }
  md += fmt::format("\n## Rerun\n\n    herd reproduce {} --scale {} --seed {} --out {}\n", study.id,
                    spec.scale, spec.seed, spec.out.string());
  return md;
}

json result_json(const StudyResult& r) {
  json checks = json::array();
  for (const CheckResult& c : r.checks)
    checks.push_back({{"claim", c.claim},
                      {"value_expression", c.expression},
                      {"value", std::isfinite(c.value) ? json(c.value) : json(nullptr)},
                      {"threshold", c.bound},
                      {"holds", c.holds},
                      {"note", c.note}});
  return {{"id", r.id},     {"question", r.question},       {"scale", r.scale},
          {"seed", r.seed}, {"verdict", r.verdict},         {"seconds", r.seconds},
          {"runs", r.runs}, {"failed_runs", r.failed_runs}, {"checks", checks}};
}

// The study's curves: every entry's run at the last value of each swept key (the last point
// of a zipped sweep too), first seed.
void plot_curves(const Study& study, const StudyScale& scale, const ReproduceSpec& spec,
                 const std::vector<SweepRow>& rows, const fs::path& out) {
  for (const SweepPlot& curve : study.curves) {
    cli::PlotRequest request;
    for (const SweepRow& row : rows) {
      bool last = !row.point.seed || *row.point.seed == spec.seed;
      for (std::size_t a = 0; a < scale.axes.size() && last; ++a)
        last = row.point.values[a].second == scale.axes[a].values.back();
      if (last && fs::exists(row.result.dir / "metrics.jsonl"))
        request.run_dirs.push_back(row.result.dir.string());
    }
    if (request.run_dirs.empty()) continue;
    request.x = curve.x;
    request.y = curve.y;
    request.output = (out / fmt::format("curves_{}_vs_{}.png", curve.y, curve.x)).string();
    request.title = fmt::format("{} against {}", curve.y, curve.x);
    try {
      cli::plot_runs(request);
    } catch (const Error& e) {  // the study stands without its figure
      fmt::print(stderr, "herd: warning: no plot: {}\n", e.what());
    }
  }
}

StudyResult run_study(const Study& study, const ReproduceSpec& spec) {
  const auto start = std::chrono::steady_clock::now();
  const StudyScale& scale = study.scales.at(spec.scale);
  const fs::path dir = spec.out / study.id;
  claim_directory(dir, study, spec);
  fmt::print("\n== {} ({}): {}\n", study.id, spec.scale, study.question);
  std::fflush(stdout);

  fs::path config = study.config;
  std::vector<std::string> tuned;
  if (!scale.grid.empty()) {
    TuneSpec t;
    t.sweep = sweep_spec(study, scale, spec, study.config, dir / "tune");
    t.sweep.axes = scale.grid;
    t.sweep.plots.clear();
    t.sweep.speedup_key.clear();
    // Tuned at the sweep's last point (its largest workers, say): the tuning runs only, so the
    // tuned configuration keeps the sweep free to move these keys.
    t.budget = scale.budget;
    for (const Axis& a : scale.axes) t.budget.push_back(a.key + "=" + a.values.back());
    t.by = scale.tune_by;
    const TuneResult r = tune(std::move(t));
    config = r.tuned_config;
    for (const TuneChoice& c : r.choices) {
      std::vector<std::string> values;
      for (const auto& [key, value] : c.values) values.push_back(key + " = " + value);
      // A best value at the end of its grid may not be the best: the report says so, as
      // `herd tune` does, so a verdict is not read as the methods' when it may be the grid's.
      tuned.push_back(
          fmt::format("{}{}{}{}", c.entry, c.entry.empty() ? "" : ": ",
                      values.empty() ? "none converged" : join(values, ", "),
                      c.at_edge ? " (at the edge of the grid: the best may lie beyond)" : ""));
    }
  }
  const Sweep sweep = prepare_sweep(sweep_spec(study, scale, spec, config, dir / "sweep"));
  const std::vector<SweepRow> rows = run_sweep(sweep);
  plot_curves(study, scale, spec, rows, dir / "sweep");
  SweepTable table = tabulate(sweep, rows);
  for (const std::string& name : study.closed_forms) {
    table.columns.push_back(name);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      double v = nan;
      try {
        v = closed_form(name,
                        run::Config::from_toml_file((rows[r].result.dir / "config.toml").string()));
      } catch (const Error&) {  // a run without its configuration has no closed form
      }
      table.text[r].push_back(number_text(v));
      table.value[r].push_back(v);
    }
  }

  StudyResult result;
  result.id = study.id;
  result.question = study.question;
  result.scale = spec.scale;
  result.seed = spec.seed;
  result.runs = rows.size();
  result.failed_runs = std::size_t(std::count_if(rows.begin(), rows.end(), [](const SweepRow& r) {
    return r.result.status != "ok" && r.result.status != "diverged";
  }));
  // A finished run that never met a target: its counters to it are +inf (claim.hpp).
  const auto status = table.find("status");
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    const bool counter =
        std::any_of(algo::target_counter_names().begin(), algo::target_counter_names().end(),
                    [&](const std::string& n) { return table.columns[c].starts_with(n); });
    for (std::size_t r = 0; counter && r < rows.size(); ++r)
      if (std::isnan(table.value[r][c]) && table.text[r][*status] == "ok")
        table.value[r][c] = std::numeric_limits<double>::infinity();
  }
  const ClaimTable claims{&table, axes_of(sweep), sweep.spec.zip};
  for (const Check& check : study.checks) {
    CheckResult c{check.claim, check.value.text(), check.bound_text(), "", nan, false};
    try {
      c.value = check.value.evaluate(claims);
    } catch (const InvalidInput& e) {  // e.g. no run recorded the column
      c.note = e.what();
    }
    if (std::isnan(c.value) && c.note.empty())
      c.note = "not measured: a run it reads diverged, failed or never met its target";
    c.holds = check.holds(c.value);
    result.checks.push_back(std::move(c));
  }
  result.verdict = verdict_of(result.checks);
  // The time spent on the study over every invocation: one that only rewrites the report of
  // finished runs adds its second or two instead of replacing the time before it.
  const json before = read_json(dir / "result.json");
  result.seconds = (before.is_object() ? before.value("seconds", 0.0) : 0.0) +
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_file_atomically(dir / "report.md",
                        report_markdown(study, scale, spec, result, sweep, table, tuned));
  write_file_atomically(dir / "result.json", result_json(result).dump(2) + "\n");
  fmt::print("{}: {} ({:.0f} s); report: {}\n", study.id, result.verdict, result.seconds,
             (dir / "report.md").string());
  std::fflush(stdout);
  return result;
}

}  // namespace

const std::vector<std::string>& scale_names() {
  static const std::vector<std::string> names = {"quick", "paper"};
  return names;
}

std::vector<Study> load_studies(const fs::path& root) {
  if (!fs::is_directory(root))
    throw InvalidInput(
        fmt::format("the studies directory {} does not exist (set --studies)", root.string()));
  std::vector<Study> studies;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().filename() == "study.toml")
      studies.push_back(read_study(root, e.path().parent_path()));
  std::sort(studies.begin(), studies.end(),
            [](const Study& a, const Study& b) { return a.id < b.id; });
  return studies;
}

std::string list_studies(const std::vector<Study>& studies) {
  std::string md =
      "| study | question | paper | quick | paper scale |\n| --- | --- | --- | --- | --- |\n";
  for (const Study& s : studies)
    md += fmt::format("| {} | {} | {} | {} | {} |\n", s.id, markdown_cell(s.question),
                      markdown_cell(s.paper), s.scales.at("quick").duration,
                      s.scales.at("paper").duration);
  return md;
}

std::string verdict_of(const std::vector<CheckResult>& checks) {
  const auto held =
      std::count_if(checks.begin(), checks.end(), [](const CheckResult& c) { return c.holds; });
  if (held == std::ptrdiff_t(checks.size())) return "reproduced";
  return held == 0 ? "not reproduced" : "partly reproduced";
}

std::vector<StudyResult> reproduce(const ReproduceSpec& spec) {
  if (std::find(scale_names().begin(), scale_names().end(), spec.scale) == scale_names().end())
    throw InvalidInput(
        fmt::format("--scale {}: the scales are {}", spec.scale, join(scale_names(), ", ")));
  const std::vector<Study> all = load_studies(spec.studies);
  std::vector<const Study*> chosen;
  if (spec.ids.empty()) throw InvalidInput("herd reproduce: name the studies (or all; see --list)");
  for (const std::string& id : spec.ids) {
    if (id == "all") {
      for (const Study& s : all) chosen.push_back(&s);
      continue;
    }
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const Study& s) { return s.id == id; });
    if (it == all.end()) {
      std::vector<std::string> ids;
      for (const Study& s : all) ids.push_back(s.id);
      throw InvalidInput(fmt::format("unknown study {}; the studies are {}", id, join(ids, ", ")));
    }
    chosen.push_back(&*it);
  }
  // Everything is checked before the first run: each sweep's configuration and points, the
  // claims against them, the output directories.
  for (const Study* s : chosen) {
    const StudyScale& scale = s->scales.at(spec.scale);
    const Sweep sweep =
        prepare_sweep(sweep_spec(*s, scale, spec, s->config, spec.out / s->id / "sweep"));
    check_claims(*s, sweep);
    check_directory(spec.out / s->id, *s, spec);
  }
  std::vector<StudyResult> results;
  if (spec.check_only) return results;
  for (const Study* s : chosen) results.push_back(run_study(*s, spec));
  write_index(spec.out);
  return results;
}

namespace {

// Every study result under OUT (its result.json), sorted by id.
std::vector<json> results_in(const fs::path& out) {
  std::vector<json> results;
  for (auto it = fs::recursive_directory_iterator(out); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->is_directory() && (it->path().filename() == "sweep" || it->path().filename() == "tune"))
      it.disable_recursion_pending();  // the runs of a study hold no results of studies
    else if (it->path().filename() == "result.json")
      if (json r = read_json(it->path()); r.is_object() && r.contains("checks"))
        results.push_back(std::move(r));
  }
  std::sort(results.begin(), results.end(),
            [](const json& a, const json& b) { return a["id"] < b["id"]; });
  return results;
}

// The index table; `link` gives the target of a study's link.
std::string index_markdown(const std::vector<json>& results,
                           const std::function<std::string(const std::string&)>& link) {
  std::string md =
      "| study | question | verdict | checks held | scale | seed | runs | time [s] |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const json& r : results) {
    std::size_t held = 0;
    for (const json& c : r["checks"]) held += c["holds"].get<bool>() ? 1 : 0;
    const std::string id = r["id"];
    md += fmt::format("| [{}]({}) | {} | {} | {} of {} | {} | {} | {} | {:.0f} |\n", id, link(id),
                      markdown_cell(r["question"].get<std::string>()),
                      r["verdict"].get<std::string>(), held, r["checks"].size(),
                      r["scale"].get<std::string>(), r["seed"].get<std::int64_t>(),
                      r["runs"].get<std::size_t>(), r["seconds"].get<double>());
  }
  return md;
}

const char* index_title =
    "# herd reproduce: the research questions of Local SGD, Leader SGD and Rescaled ASGD\n\n";

}  // namespace

void write_index(const fs::path& out) {
  const std::vector<json> results = results_in(out);
  json index = json::array();
  for (const json& r : results)
    index.push_back({{"id", r["id"]},
                     {"verdict", r["verdict"]},
                     {"scale", r["scale"]},
                     {"seed", r["seed"]},
                     {"seconds", r["seconds"]}});
  write_file_atomically(out / "index.md",
                        index_title + index_markdown(results, [](const std::string& id) {
                          return id + "/report.md";
                        }));
  write_file_atomically(out / "index.json", index.dump(2) + "\n");
}

void publish(const fs::path& out, const fs::path& docs) {
  const std::vector<json> results = results_in(out);
  if (results.empty())
    throw InvalidInput(fmt::format("{} holds no results of herd reproduce", out.string()));
  const auto paper_of = [](const std::string& id) { return id.substr(0, id.find('/')); };
  const auto anchor = [](const std::string& id) {
    std::string a;
    for (char c : id) a += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
    return a;
  };
  const std::string generated = fmt::format(
      "<!-- Generated by herd reproduce --publish from {}: edit the studies (studies/), not "
      "this page. -->\n\n",
      out.filename().string());
  fs::create_directories(docs / "img");
  std::map<std::string, std::string> pages;
  for (const json& r : results) {
    const std::string id = r["id"];
    std::string report = read_file(out / id / "report.md");
    // One level down: the page's title is the paper; each study is a section.
    std::string shifted;
    std::size_t pos = 0;
    while (pos < report.size()) {
      const std::size_t end = std::min(report.find('\n', pos), report.size());
      std::string line = report.substr(pos, end - pos);
      if (line.starts_with("#")) line = "#" + line;
      if (line.starts_with("![")) {  // a plot: copied beside the pages
        const std::size_t open = line.find("](sweep/");
        if (open != std::string::npos) {
          const std::string file = line.substr(open + 8, line.size() - open - 9);
          const fs::path to = docs / "img" / anchor(id) / file;
          fs::create_directories(to.parent_path());
          fs::copy_file(out / id / "sweep" / file, to, fs::copy_options::overwrite_existing);
          line = line.substr(0, open) + "](img/" + anchor(id) + "/" + file + ")";
        }
      }
      shifted += line + "\n";
      pos = end + 1;
    }
    pages[paper_of(id)] += fmt::format("<a id=\"{}\"></a>\n\n{}\n", anchor(id), shifted);
  }
  static const std::map<std::string, std::string> titles = {
      {"local-sgd", "Local SGD (Stich 2019)"},
      {"lsgd", "Leader SGD (Teng et al. 2019)"},
      {"rescaled", "Rescaled ASGD (Mahran, Maranjyan, Richtarik 2026)"}};
  for (const auto& [paper, text] : pages) {
    const auto t = titles.find(paper);
    write_file_atomically(
        docs / (paper + ".md"),
        generated + fmt::format("# {}\n\n", t == titles.end() ? paper : t->second) + text);
  }
  write_file_atomically(docs / "index.md", generated + index_title +
                                               index_markdown(results, [&](const std::string& id) {
                                                 return paper_of(id) + ".md#" + anchor(id);
                                               }));
}

}  // namespace herd::study
