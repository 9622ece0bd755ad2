// herd: the command line. Each subcommand is a thin shell over the library; every error of
// the library's hierarchy becomes its own exit code (core/error.hpp).
#include "herd/cli/command_line.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "herd/cli/plot.hpp"
#include "herd/comm/mpi.hpp"
#include "herd/core/error.hpp"
#include "herd/core/interrupt.hpp"
#include "herd/core/text.hpp"
#include "herd/run/compare.hpp"
#include "herd/run/config.hpp"
#include "herd/run/options.hpp"
#include "herd/run/output.hpp"
#include "herd/run/results.hpp"
#include "herd/study/reproduce.hpp"
#include "herd/study/sweep.hpp"
#include "herd/study/tune.hpp"

namespace {

using namespace herd;

// herd run --resume DIR [key=value ...]
// 0, or 128 + the signal when SIGINT or SIGTERM stopped the run (the shell's convention).
int interrupted_exit_code() {
  if (const int signal = interrupt_signal(); signal != 0) {
    fmt::print(stderr, "\nherd: interrupted by signal {}; what was recorded is kept{}\n", signal,
               ", and a run with checkpoints continues with herd run --resume DIR");
    return 128 + signal;
  }
  return exit_codes::ok;
}

int resume_command(const std::string& dir, const std::vector<std::string>& overrides) {
  const auto progress = run::resolve_progress("auto");
  const auto result = run::resume(dir, overrides, progress);
  if (!run::is_output_process()) return interrupted_exit_code();
  fmt::print("\n{}\nrun directory: {}\n", run::results_markdown({result}), dir);
  return interrupted_exit_code();
}

// A comparison's table and plots, beside its runs: comparison.md, comparison.csv and a
// plot of the objective against gradients, rounds and time.
void write_comparison(const std::filesystem::path& out,
                      const std::vector<run::RunResult>& results) {
  const std::string table = run::results_markdown(results);
  fmt::print("\n{}", table);
  write_file_atomically(out / "comparison.md", table);
  write_file_atomically(out / "comparison.csv", run::results_csv(results));
  cli::PlotRequest request;
  for (const auto& r : results)
    if (std::filesystem::exists(r.dir / "metrics.jsonl"))
      request.run_dirs.push_back(r.dir.string());
  const bool has_subopt = std::any_of(results.begin(), results.end(), [](const auto& r) {
    return !std::isnan(r.last.number("suboptimality"));
  });
  request.y = has_subopt ? "suboptimality" : "train_loss";
  std::vector<std::string> written;
  for (const char* x : {"grads", "rounds", "time"}) {
    if (request.run_dirs.empty()) break;
    request.x = x;
    request.output = (out / fmt::format("comparison_{}.png", x)).string();
    request.title = fmt::format("{} against {}", request.y, x);
    try {
      cli::plot_runs(request);
      written.push_back(request.output);
    } catch (const Error& e) {  // the runs and the table stand even when plotting cannot
      fmt::print(stderr, "herd: warning: no plot: {}\n", e.what());
    }
  }
  fmt::print("\ntable: {}\n", (out / "comparison.md").string());
  for (const auto& w : written) fmt::print("plot:  {}\n", w);
}

// herd run CONFIG [--entry LABEL] [key=value ...] [--out DIR]
int run_command(const std::string& config_path, const std::vector<std::string>& overrides,
                std::string out_dir, const std::string& entry, bool force) {
  run::Config config = run::Config::from_toml_file(config_path);
  // One entry of a comparison runs alone, and the command line's settings win over its own.
  if (!entry.empty()) config = config.variant(std::string_view(entry));
  for (const auto& o : overrides) config.apply_override(o);
  // An override of a key that [[compare]] entries set does not reach them (theirs win).
  if (entry.empty())
    for (const auto& o : overrides) {
      const std::string key(trim(std::string_view(o).substr(0, o.find('='))));
      std::vector<std::string> setters;
      for (const auto& e : config.compare())
        for (const auto& [k, v] : e.overrides)
          if (k == key) setters.push_back(quote(e.label));
      if (setters.empty()) continue;
      if (setters.size() == config.compare().size())
        throw InvalidInput(fmt::format(
            "{}: every [[compare]] entry sets {} itself, so this changes no run; run one entry "
            "with it (--entry LABEL {}), or edit the entries",
            o, key, o));
      fmt::print(stderr, "herd: warning: {} does not apply to {}, which set {} themselves\n", o,
                 join(setters, ", "), key);
    }
  // The default directory never replaces an earlier run: runs/NAME, else runs/NAME-2, ...
  if (out_dir.empty())
    out_dir = run::unused_directory(std::filesystem::path("runs") /
                                    std::filesystem::path(config_path).stem())
                  .string();
  const auto progress = run::resolve_progress(config.get_string("run.progress"));
  const run::Comparison done = run::run_all(config, out_dir, progress, entry, force);
  if (!run::is_output_process()) return interrupted_exit_code();  // rank 0 reports

  if (config.compare().empty()) {
    fmt::print("\n{}\nrun directory: {}\n", run::results_markdown(done.results), out_dir);
    return interrupted_exit_code();
  }
  write_comparison(out_dir, done.results);
  if (done.failure) std::rethrow_exception(done.failure);  // after the table is written
  return interrupted_exit_code();
}

// herd sweep CONFIG key=v1,v2 ... [options]
int sweep_command(study::SweepSpec spec, const std::vector<std::string>& arguments,
                  const std::vector<std::string>& plots) {
  // key=v1,v2 sweeps the key; key=v (one value) sets it for every run.
  for (const std::string& a : arguments) {
    study::Axis axis = study::parse_axis(a);
    if (axis.values.size() == 1 && axis.key != "run.seed")
      spec.overrides.push_back(a);
    else
      spec.axes.push_back(std::move(axis));
  }
  for (const std::string& p : plots) {
    const std::size_t colon = p.find(':');
    if (colon == std::string::npos)
      throw InvalidInput(
          fmt::format("--plot {}: expected KEY:COLUMN, e.g. algo.workers:speedup", p));
    spec.plots.push_back({p.substr(0, colon), p.substr(colon + 1), {}});
  }
  if (spec.out.empty())
    spec.out = std::filesystem::path("runs") / ("sweep_" + spec.config_path.stem().string());
  const study::Sweep sweep = study::prepare_sweep(std::move(spec));
  const auto rows = study::run_sweep(sweep);
  fmt::print("\n{}\ntable: {}\n       {}\n",
             study::sweep_markdown(sweep, study::tabulate(sweep, rows)),
             (sweep.spec.out / "sweep.csv").string(), (sweep.spec.out / "sweep.md").string());
  const auto failed = std::count_if(rows.begin(), rows.end(),
                                    [](const auto& r) { return r.result.status == "failed"; });
  if (failed > 0)
    throw Error(ErrorKind::io, fmt::format("{} of {} runs failed; their logs are in {}", failed,
                                           rows.size(), (sweep.spec.out / "runs").string()));
  return exit_codes::ok;
}

// herd tune CONFIG [key=value ...] --grid KEY=SPEC --by CRITERION [--budget key=value]
int tune_command(study::TuneSpec spec, const std::vector<std::string>& grids) {
  if (grids.empty())
    throw InvalidInput("herd tune: give at least one --grid KEY=log:LOW:HIGH:COUNT");
  for (const auto& g : grids) spec.sweep.axes.push_back(study::parse_grid(g));
  for (const auto& b : spec.budget) run::Config().apply_override(b);  // checked before running
  if (spec.sweep.out.empty())
    spec.sweep.out =
        std::filesystem::path("runs") / ("tune_" + spec.sweep.config_path.stem().string());
  const study::TuneResult result = study::tune(std::move(spec));
  fmt::print("\n");
  for (const auto& c : result.choices) {
    const std::string who = c.entry.empty() ? std::string("best") : "\"" + c.entry + "\"";
    if (c.values.empty()) {
      fmt::print(
          "{}: every grid point diverged or failed ({} points); widen the grid toward "
          "smaller steps\n",
          who, c.points);
      continue;
    }
    std::vector<std::string> chosen;
    for (const auto& [k, v] : c.values) chosen.push_back(k + " = " + v);
    fmt::print("{}: {} (score {:.6g}; {} of {} grid points diverged){}\n", who, join(chosen, ", "),
               c.score, c.diverged, c.points,
               c.at_edge ? "; at the edge of the grid: widen it to be sure" : "");
  }
  fmt::print("\ntuned configuration: {}\nrun it:  herd run {}\n", result.tuned_config.string(),
             result.tuned_config.string());
  return exit_codes::ok;
}

// herd table DIR: the table of a run or comparison directory, rebuilt from its files (after
// a resume, or of a comparison that was interrupted).
int table_command(const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir / "sweep.json")) {
    const study::Sweep sweep = study::sweep_in(dir);
    const auto rows = study::read_rows(sweep);
    study::write_sweep_outputs(sweep, rows);
    fmt::print("{}", study::sweep_markdown(sweep, study::tabulate(sweep, rows)));
    return exit_codes::ok;
  }
  if (!std::filesystem::exists(dir / "config.toml"))
    throw InvalidInput(
        fmt::format("herd table {}: not a run, comparison or sweep directory (no config.toml, no "
                    "sweep.json)",
                    dir.string()));
  const run::Config config = run::Config::from_toml_file((dir / "config.toml").string());
  if (config.compare().empty()) {
    fmt::print("{}", run::results_markdown({run::read_run(dir)}));
    return exit_codes::ok;
  }
  std::vector<run::RunResult> results;
  for (const auto& entry : config.compare()) {
    const auto entry_dir = dir / run::slug(entry.label);
    if (std::filesystem::exists(entry_dir / "config.toml")) {
      results.push_back(run::read_run(entry_dir, entry.label));
      continue;
    }
    run::RunResult never_started;  // the comparison ended before this entry began
    never_started.dir = entry_dir;
    never_started.label = entry.label;
    never_started.status = never_started.stop_reason = "not run";
    results.push_back(std::move(never_started));
  }
  write_comparison(dir, results);
  return exit_codes::ok;
}

// herd reproduce --list | ID... | all [--scale quick|paper] [--seed N] [--jobs J] [--out DIR]
int reproduce_command(study::ReproduceSpec spec, bool list, const std::filesystem::path& publish) {
  if (spec.studies.empty()) {
    const char* env = std::getenv("HERD_STUDIES");
    const std::filesystem::path installed =
        std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "share" /
        "herd" / "studies";
    spec.studies = env != nullptr && *env != '\0'                    ? std::filesystem::path(env)
                   : std::filesystem::is_directory(HERD_STUDIES_DIR) ? HERD_STUDIES_DIR
                                                                     : installed;
  }
  if (list) {
    fmt::print("{}", study::list_studies(study::load_studies(spec.studies)));
    return exit_codes::ok;
  }
  if (spec.out.empty()) spec.out = std::filesystem::path("runs") / ("reproduce-" + spec.scale);
  if (spec.ids.empty() && !publish.empty()) {  // the results already in --out
    study::publish(spec.out, publish);
    fmt::print("published {} into {}\n", spec.out.string(), publish.string());
    return exit_codes::ok;
  }
  const auto results = study::reproduce(spec);
  if (spec.check_only) {
    fmt::print("{}: checked at scale {}, nothing run\n", join(spec.ids, " "), spec.scale);
    return exit_codes::ok;
  }
  fmt::print("\n| study | verdict | time [s] |\n| --- | --- | --- |\n");
  std::size_t failed = 0;
  for (const auto& r : results) {
    fmt::print("| {} | {} | {:.0f} |\n", r.id, r.verdict, r.seconds);
    failed += r.failed_runs;
  }
  fmt::print("\nindex: {}\n", (spec.out / "index.md").string());
  if (!publish.empty()) {
    study::publish(spec.out, publish);
    fmt::print("published into {}\n", publish.string());
  }
  if (failed > 0)
    throw IoError(
        fmt::format("{} runs failed; their logs are in the studies' sweep/runs "
                    "directories, and the reports say which",
                    failed));
  return exit_codes::ok;
}

int main_impl(int argc, char** argv) {
  CLI::App app{"herd: communication-efficient distributed SGD (Local SGD, LSGD, Rescaled ASGD)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "herd 0.1.0");

  auto* run_cmd =
      app.add_subcommand("run", "Run one algorithm, or every [[compare]] entry of a config");
  std::string config_path, out_dir, resume_dir;
  std::vector<std::string> overrides;
  run_cmd->add_option("config", config_path, "Configuration file (TOML)");
  run_cmd->add_option("overrides", overrides, "key=value settings that override the file");
  auto* out_opt =
      run_cmd->add_option("--out,-o", out_dir, "Output directory (default runs/<config name>)");
  bool force = false;
  run_cmd->add_flag("--force", force,
                    "Replace the earlier run in the --out directory (else it is refused)");
  std::string entry;
  run_cmd->add_option("--entry", entry,
                      "Run only the [[compare]] entry with this label, as a single run (the "
                      "key=value settings win over the entry's own)");
  run_cmd
      ->add_option("--resume", resume_dir,
                   "Continue the run in this directory from its checkpoint (see "
                   "run.checkpoint_every); key=value settings may follow")
      ->excludes(out_opt);
  run_cmd->footer("\nOptions of the configuration file (also settable as key=value):\n\n" +
                  run::options_help());

  auto* plot_cmd = app.add_subcommand("plot", "Plot metrics of one or more run directories");
  cli::PlotRequest plot;
  plot_cmd->add_option("dirs", plot.run_dirs, "Run directories")->required();
  plot_cmd->add_option("-o,--output", plot.output, "Output file (.png, .pdf, .svg)")->required();
  plot_cmd->add_option("--x", plot.x, "x axis: time, grads, rounds, bytes, epoch")
      ->capture_default_str();
  plot_cmd->add_option("--y", plot.y, "metric on the y axis (a key of metrics.jsonl)")
      ->capture_default_str();
  plot_cmd->add_option("--title", plot.title, "Figure title");
  plot_cmd->add_option("--logy", plot.logy, "auto, on or off")->capture_default_str();

  auto* sweep_cmd = app.add_subcommand(
      "sweep", "Run a configuration over lists of values (and seeds); resumable");
  study::SweepSpec sweep;
  std::string sweep_config;
  std::vector<std::string> sweep_args, sweep_plots;
  std::int64_t seeds = 0;
  sweep_cmd->add_option("config", sweep_config, "Configuration file (TOML)")->required();
  sweep_cmd->add_option("values", sweep_args,
                        "key=v1,v2,... to sweep (key=v sets one value for every run)");
  sweep_cmd->add_flag("--zip", sweep.zip, "Pair the lists by position instead of crossing them");
  sweep_cmd->add_option("--seeds", seeds, "Run every point with run.seed = 1..N")
      ->check(CLI::PositiveNumber);
  sweep_cmd->add_option("--jobs,-j", sweep.jobs, "Runs at once (default: cores / threads per run)")
      ->check(CLI::PositiveNumber);
  sweep_cmd->add_option("--out,-o", sweep.out,
                        "Sweep directory (default runs/sweep_<config name>)");
  sweep_cmd->add_option("--plot", sweep_plots,
                        "KEY:COLUMN, e.g. algo.workers:speedup (repeatable)");
  sweep_cmd->add_option("--speedup", sweep.speedup_key,
                        "Add speedup = steps_to_target at KEY's first value / at each value");

  auto* tune_cmd = app.add_subcommand(
      "tune", "Pick each method's best step size on a grid; writes a tuned configuration");
  study::TuneSpec tune;
  std::string tune_config;
  std::vector<std::string> grids;
  std::int64_t tune_seeds = 0;
  tune_cmd->add_option("config", tune_config, "Configuration file (TOML)")->required();
  tune_cmd->add_option("overrides", tune.sweep.overrides,
                       "key=value settings of the configuration");
  tune_cmd
      ->add_option("--grid", grids,
                   "KEY=log:LOW:HIGH:COUNT, KEY=lin:LOW:HIGH:COUNT or KEY=v1,v2,...")
      ->required();
  tune_cmd
      ->add_option("--by", tune.by,
                   "time_to_target, steps_to_target, grads_to_target, rounds_to_target, "
                   "bytes_to_target, or final:METRIC")
      ->capture_default_str();
  tune_cmd->add_option("--budget", tune.budget,
                       "key=value for the tuning runs only, e.g. stop.time=500");
  tune_cmd->add_option("--seeds", tune_seeds, "Score each point over run.seed = 1..N")
      ->check(CLI::PositiveNumber);
  tune_cmd->add_option("--jobs,-j", tune.sweep.jobs, "Runs at once")->check(CLI::PositiveNumber);
  tune_cmd->add_option("--out,-o", tune.sweep.out, "Directory (default runs/tune_<config name>)");

  auto* table_cmd = app.add_subcommand(
      "table", "Rebuild the table of a run or comparison directory from its files");
  std::string table_dir;
  table_cmd->add_option("dir", table_dir, "Run or comparison directory")->required();

  auto* reproduce_cmd = app.add_subcommand(
      "reproduce", "Run the papers' research questions as studies and judge each claim");
  study::ReproduceSpec reproduce;
  bool list_studies = false;
  reproduce_cmd->add_option("studies", reproduce.ids, "Study ids (see --list), or all");
  reproduce_cmd->add_flag("--list", list_studies,
                          "List the studies: id, question, paper, expected duration");
  reproduce_cmd->add_option("--scale", reproduce.scale, "quick (minutes) or paper")
      ->capture_default_str();
  reproduce_cmd->add_option("--seed", reproduce.seed, "First run.seed of every study")
      ->capture_default_str();
  reproduce_cmd->add_option("--jobs,-j", reproduce.jobs, "Runs at once")
      ->check(CLI::PositiveNumber);
  reproduce_cmd->add_option("--out,-o", reproduce.out,
                            "Results directory (default runs/reproduce-<scale>)");
  reproduce_cmd->add_flag("--quiet,-q", reproduce.quiet, "No line per run, only per study");
  std::filesystem::path publish_dir;
  reproduce_cmd->add_option("--publish", publish_dir,
                            "Write the results of --out as documentation pages into this "
                            "directory (docs/results); without studies, only that");
  reproduce_cmd->add_flag("--check", reproduce.check_only,
                          "Check the studies (claims, configurations, output) and run nothing");
  reproduce_cmd->add_option("--studies", reproduce.studies,
                            "The studies directory (default: this source tree's studies/)");

  auto* config_cmd = app.add_subcommand("config", "Print the configuration reference");
  bool markdown = false;
  config_cmd->add_flag("--markdown", markdown, "As docs/configuration.md (Markdown)");
  bool keys = false;
  config_cmd->add_flag("--keys", keys,
                       "Each option on a line: its key, then its choices (for shell completion: "
                       "tools/herd-completion.bash)");

  // An unknown first word is named (CLI11 would only say that a subcommand is required).
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end())
      throw InvalidInput(
          fmt::format("unknown command '{}'; the commands are {}", argv[1], join(names, ", ")));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_codes::ok : exit_codes::invalid_input;
  }
  // A run stops at its next evaluation; a sweep, tune or reproduce passes the signal to its
  // runs, starts no other and keeps what finished.
  if (*run_cmd || *sweep_cmd || *tune_cmd || *reproduce_cmd) install_interrupt_handlers();
  if (*run_cmd && !resume_dir.empty()) {
    // With --resume every positional argument is a key=value override.
    if (!config_path.empty()) {
      if (config_path.find('=') == std::string::npos)
        throw InvalidInput(fmt::format(
            "herd run: give a configuration file or --resume DIR, not both (got \"{}\")",
            config_path));
      overrides.insert(overrides.begin(), config_path);
    }
    return resume_command(resume_dir, overrides);
  }
  if (*run_cmd) {
    if (config_path.empty())
      throw InvalidInput("herd run: a configuration file (or --resume DIR) is required");
    return run_command(config_path, overrides, out_dir, entry, force);
  }
  if (*sweep_cmd) {
    sweep.config_path = sweep_config;
    for (std::int64_t s = 1; s <= seeds; ++s) sweep.seeds.push_back(s);
    return sweep_command(std::move(sweep), sweep_args, sweep_plots);
  }
  if (*tune_cmd) {
    tune.sweep.config_path = tune_config;
    for (std::int64_t s = 1; s <= tune_seeds; ++s) tune.sweep.seeds.push_back(s);
    return tune_command(std::move(tune), grids);
  }
  if (*plot_cmd) {
    cli::plot_runs(plot);
    fmt::print("{}\n", plot.output);
    return exit_codes::ok;
  }
  if (*table_cmd) return table_command(table_dir);
  if (*reproduce_cmd) return reproduce_command(std::move(reproduce), list_studies, publish_dir);
  if (*config_cmd && keys) {
    for (const OptionSpec& spec : run::option_table()) {
      std::string line = spec.key;
      for (const auto& choice : spec.choices) line += " " + choice;
      if (spec.type == Type::boolean) line += " true false";
      fmt::print("{}\n", line);
    }
    return exit_codes::ok;
  }
  if (*config_cmd) {
    fmt::print("{}", markdown ? run::options_markdown() : run::options_help());
    return exit_codes::ok;
  }
  return exit_codes::invalid_input;
}

}  // namespace

// Under mpirun an error outside a job (a configuration or data file refused on this rank)
// must end every process: the others may already wait in a collective.
namespace {

int fail(int code, const std::string& message) {
  if (herd::comm::under_mpirun() && herd::comm::mpi_world_size() > 1) {
    fmt::print(stderr, "\nherd: rank {}: {}\n", herd::comm::mpi_world_rank(), message);
    MPI_Abort(MPI_COMM_WORLD, code);  // every process ends; mpirun exits with `code`
  }
  fmt::print(stderr, "\nherd: {}\n", message);
  return code;
}

}  // namespace

int herd::cli::main(int argc, char** argv) {
  if (herd::comm::under_mpirun()) herd::comm::mpi_initialize(&argc, &argv);
  try {
    return main_impl(argc, argv);
  } catch (const herd::Interrupted& e) {
    fmt::print(stderr, "\nherd: interrupted by signal {}: {}\n", e.signal(), e.what());
    return 128 + e.signal();
  } catch (const herd::Error& e) {
    return fail(herd::exit_code(e.kind()), fmt::format("error: {}", e.what()));
  } catch (const std::exception& e) {
    return fail(herd::exit_codes::internal, fmt::format("internal error: {}", e.what()));
  }
}
