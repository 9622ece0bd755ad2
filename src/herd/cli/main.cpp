// herd: the command line. Each subcommand is a thin shell over the library; every error of
// the library's hierarchy becomes its own exit code (core/error.hpp).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "herd/cli/plot.hpp"
#include "herd/comm/mpi.hpp"
#include "herd/core/error.hpp"
#include "herd/run/compare.hpp"
#include "herd/run/config.hpp"
#include "herd/run/options.hpp"
#include "herd/run/output.hpp"
#include "herd/run/results.hpp"

namespace {

using namespace herd;

// herd run --resume DIR [key=value ...]
int resume_command(const std::string& dir, const std::vector<std::string>& overrides) {
  const auto progress = run::resolve_progress("auto");
  const auto result = run::resume(dir, overrides, progress);
  if (!run::is_output_process()) return exit_codes::ok;
  fmt::print("\n{}\nrun directory: {}\n", run::results_markdown({result}), dir);
  return exit_codes::ok;
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

// herd run CONFIG [key=value ...] [--out DIR]
int run_command(const std::string& config_path, const std::vector<std::string>& overrides,
                std::string out_dir) {
  run::Config config = run::Config::from_toml_file(config_path);
  for (const auto& o : overrides) config.apply_override(o);
  if (out_dir.empty())
    out_dir = (std::filesystem::path("runs") / std::filesystem::path(config_path).stem()).string();
  const auto progress = run::resolve_progress(config.get_string("run.progress"));
  const run::Comparison done = run::run_all(config, out_dir, progress);
  if (!run::is_output_process()) return exit_codes::ok;  // rank 0 of the mpi job reports

  if (config.compare().empty()) {
    fmt::print("\n{}\nrun directory: {}\n", run::results_markdown(done.results), out_dir);
    return exit_codes::ok;
  }
  write_comparison(out_dir, done.results);
  if (done.failure) std::rethrow_exception(done.failure);  // after the table is written
  return exit_codes::ok;
}

// herd table DIR: the table of a run or comparison directory, rebuilt from its files (after
// a resume, or of a comparison that was interrupted).
int table_command(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "config.toml"))
    throw InvalidInput(fmt::format(
        "herd table {}: not a run or comparison directory (no config.toml)", dir.string()));
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

  auto* table_cmd = app.add_subcommand(
      "table", "Rebuild the table of a run or comparison directory from its files");
  std::string table_dir;
  table_cmd->add_option("dir", table_dir, "Run or comparison directory")->required();

  auto* config_cmd = app.add_subcommand("config", "Print the configuration reference");
  bool markdown = false;
  config_cmd->add_flag("--markdown", markdown, "As docs/configuration.md (Markdown)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_codes::ok : exit_codes::invalid_input;
  }
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
    return run_command(config_path, overrides, out_dir);
  }
  if (*plot_cmd) {
    cli::plot_runs(plot);
    fmt::print("{}\n", plot.output);
    return exit_codes::ok;
  }
  if (*table_cmd) return table_command(table_dir);
  if (*config_cmd) {
    fmt::print("{}", markdown ? run::options_markdown() : run::options_help());
    return exit_codes::ok;
  }
  return exit_codes::invalid_input;
}

}  // namespace

// Under mpirun an error outside a job (a configuration or data file refused on this rank)
// must end every process: the others may already wait in a collective.
int fail(int code, const std::string& message) {
  if (herd::comm::under_mpirun() && herd::comm::mpi_world_size() > 1) {
    fmt::print(stderr, "\nherd: rank {}: {}\n", herd::comm::mpi_world_rank(), message);
    MPI_Abort(MPI_COMM_WORLD, code);  // every process ends; mpirun exits with `code`
  }
  fmt::print(stderr, "\nherd: {}\n", message);
  return code;
}

int main(int argc, char** argv) {
  if (herd::comm::under_mpirun()) herd::comm::mpi_initialize(&argc, &argv);
  try {
    return main_impl(argc, argv);
  } catch (const herd::Error& e) {
    return fail(herd::exit_code(e.kind()), fmt::format("error: {}", e.what()));
  } catch (const std::exception& e) {
    return fail(herd::exit_codes::internal, fmt::format("internal error: {}", e.what()));
  }
}
