#pragma once
// `herd plot`: several runs on one figure. matplotlib draws it, through tools/herd_plot.py,
// which is compiled into the binary so that an installed herd needs no script beside it.
// This side checks the request first, so that a bad request fails with a typed error even
// where Python is absent, then finds an interpreter with matplotlib and runs the script.
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace herd::cli {

inline constexpr std::array<std::string_view, 5> plot_x_choices{"time", "grads", "rounds", "bytes",
                                                                "epoch"};
inline constexpr std::array<std::string_view, 3> plot_logy_choices{"auto", "on", "off"};
inline constexpr std::array<std::string_view, 3> plot_formats{".png", ".pdf", ".svg"};

struct PlotRequest {
  std::vector<std::string> run_dirs;  // each with metrics.jsonl and summary.json
  std::string output;                 // .png, .pdf or .svg
  std::string x = "grads", y = "train_loss";
  std::string title;  // empty: no title
  std::string logy = "auto";
};

// Writes request.output. Throws InvalidInput for a bad request or run directory (no runs, no
// metrics.jsonl, a malformed row, a metric no row of a run has, an unknown x, logy or
// extension) and IoError when a file cannot be read, the figure cannot be written or no
// Python with matplotlib is found.
void plot_runs(const PlotRequest& request);

// A sweep's column against a swept key (`herd sweep --plot X:Y`): the mean over the runs that
// differ only in their seed, with bars from the least to the largest, one line per value of
// the other swept keys (`groups`); with ideal_speedup also the line y = x / x_first.
struct SweepPlotRequest {
  std::string csv;  // sweep.csv
  std::string x, y;
  std::vector<std::string> groups;
  std::string output;
  bool ideal_speedup = false;
  std::vector<std::pair<double, std::string>> marks;  // vertical lines at x, labelled
};
void plot_sweep(const SweepPlotRequest& request);

// The embedded copies of tools/herd_plot.py and tools/herd_sweep_plot.py.
std::string_view plot_script();
std::string_view sweep_plot_script();

// Where to look for Python, in order: $HERD_PYTHON when set, /usr/bin/python3, then python3
// and python on PATH.
std::vector<std::string> python_candidates();

// The first candidate (a path, or a name looked up on PATH) that can import matplotlib. An
// unusable $HERD_PYTHON falls through to the next candidate; when none works, throws
// IoError naming each candidate and why it failed. A missing interpreter is an IoError, not
// InvalidInput: the command line is right, a program the system should provide is missing.
std::string find_python(const std::vector<std::string>& candidates);

}  // namespace herd::cli
