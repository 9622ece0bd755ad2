#pragma once
// `herd sweep`: one configuration run over the cartesian product (or the zip) of listed
// values, seeds and [[compare]] entries, each run a `herd run` process in its own directory,
// several at once. Resumable: a run whose directory holds a summary.json is finished and is
// not run again, so a killed sweep loses no finished run. Results: sweep.csv (one row per
// run), sweep.md (mean and spread over seeds) and plots of a column against a swept key.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "herd/run/config.hpp"
#include "herd/run/driver.hpp"

namespace herd::study {

// One swept option and its values, as text (each checked against the option's type).
struct Axis {
  std::string key;
  std::vector<std::string> values;
};

// "algo.workers=1,2,4". InvalidInput naming the argument: no '=', an unknown key, an empty
// list or value, a value the option refuses.
Axis parse_axis(std::string_view argument);

// A plot of one sweep.csv column against a swept key: "algo.workers:steps_to_target".
// A vertical line at x on a sweep plot, with its label (a study's marks: the bound of a
// theorem, e.g. H = sqrt(T / (K b)) on local-sgd/period).
struct PlotMark {
  double x = 0;
  std::string label;
};

struct SweepPlot {
  std::string x, y;
  std::vector<PlotMark> marks;
};

struct SweepSpec {
  std::filesystem::path config_path;
  std::vector<std::string> overrides;  // key=value for every run (they win over entries)
  std::vector<Axis> axes;
  bool zip = false;                 // pair the axes' values by position instead of crossing
  std::vector<std::int64_t> seeds;  // run.seed values; empty: the configuration's seed
  std::filesystem::path out;        // the sweep directory
  int jobs = 0;                     // processes at once; 0: cores / threads per run
  std::vector<SweepPlot> plots;
  std::string speedup_key;  // adds `speedup`: steps_to_target at its first value / at each
  bool quiet = false;       // no line per run on stdout
  std::filesystem::path herd_binary;  // the herd that runs each point; empty: this program
};

// One run of a sweep.
struct SweepPoint {
  std::string entry;  // the [[compare]] label it runs, "" when the config has none
  std::vector<std::pair<std::string, std::string>> values;  // key, value; in axis order
  std::optional<std::int64_t> seed;
  std::string name;  // its directory under OUT/runs
  // Its key=value arguments for `herd run` (values, then run.seed).
  std::vector<std::string> assignments() const;
};

// Every run: entries x (product or zip of the axes) x seeds, in that nesting order (the last
// varies fastest). InvalidInput when zipped axes differ in length or two runs would share a
// directory name.
std::vector<SweepPoint> expand(const std::vector<std::string>& entries,
                               const std::vector<Axis>& axes, bool zip,
                               const std::vector<std::int64_t>& seeds);

// A checked sweep, ready to run: everything that can be wrong with the command line or the
// configuration of any run was found, and nothing was written.
struct Sweep {
  SweepSpec spec;
  run::Config config;  // the configuration file with spec.overrides applied
  std::vector<SweepPoint> points;
  int jobs = 1;
};
Sweep prepare_sweep(SweepSpec spec);

// One run's outcome: from its directory, or "failed" with the last line of its log when the
// run left no summary.
struct SweepRow {
  SweepPoint point;
  run::RunResult result;
};

// Runs what is not finished (at most sweep.jobs at once), then writes sweep.csv, sweep.md and
// the plots. Returns every run's row, in the order of sweep.points. IoError when OUT cannot
// be written; InvalidInput when OUT holds a different sweep, or another sweep is running in it.
std::vector<SweepRow> run_sweep(const Sweep& sweep);

// sweep.csv as a table: one row per run, each cell as written and as a number (NaN where
// empty or not a number). Columns: entry (with [[compare]] entries), one per swept key, seed,
// status, stop, the final metrics any run has, wall_seconds, the counters of each target
// (steps_to_target, ...; with several targets suffixed [TARGET]), speedup (with
// spec.speedup_key), dir.
struct SweepTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> text;  // [row][column]
  std::vector<std::vector<double>> value;      // [row][column]
  // The column's index; std::nullopt when the table has no such column.
  std::optional<std::size_t> find(std::string_view column) const;
};
SweepTable tabulate(const Sweep& sweep, const std::vector<SweepRow>& rows);

// Each point's row as its directory holds it now (nothing is run).
std::vector<SweepRow> read_rows(const Sweep& sweep);
// sweep.csv, sweep.md and the plots of these rows.
void write_sweep_outputs(const Sweep& sweep, const std::vector<SweepRow>& rows);
// The sweep recorded in DIR/sweep.json, checked again as prepare_sweep does (its configuration
// file must still be there). InvalidInput when DIR holds no sweep.
Sweep sweep_in(const std::filesystem::path& dir);

// The sweep.csv and sweep.md texts.
std::string sweep_csv(const SweepTable& table);
std::string sweep_markdown(const Sweep& sweep, const SweepTable& table);

// The configuration's [[compare]] labels, in order (none: a single run per point).
std::vector<std::string> entry_labels(const run::Config& config);

}  // namespace herd::study
