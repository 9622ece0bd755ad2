#pragma once
// `herd tune`: each method at its best step size. A sweep over a grid (per [[compare]] entry
// when the configuration has them), scored by a criterion; the best grid point per entry is
// written to tune.csv and into a copy of the configuration (tuned.toml) that runs the
// comparison at the tuned values. A diverged grid point is a result (the worst score), not a
// failure of the tuning.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "herd/study/sweep.hpp"

namespace herd::study {

// "algo.lr=log:1e-3:10:9" (9 log-spaced values from 1e-3 to 10), "algo.lr=lin:0.1:1:10", or a
// list "algo.lr=0.1,0.3,1". InvalidInput naming the argument (a non-positive bound of log:, a
// count below 2, an unknown key, ...).
Axis parse_grid(std::string_view argument);

// How grid points are compared: the least counter to the first target of eval.target, or the
// final value of a metric (least; most for accuracies).
struct Criterion {
  std::string counter;  // "time_to_target", ... or "" for a final metric
  std::string metric;   // final:METRIC
  bool maximise = false;
  std::string text;  // as given
};
// "time_to_target", "steps_to_target", ..., "final:METRIC"; InvalidInput naming --by.
Criterion parse_criterion(std::string_view text);

struct TuneSpec {
  SweepSpec sweep;                  // axes: the grid; overrides: the configuration's
  std::vector<std::string> budget;  // key=value for the tuning runs only (stop.time=...)
  std::string by = "time_to_target";
};

struct TuneChoice {
  std::string entry;                                        // "" without [[compare]] entries
  std::vector<std::pair<std::string, std::string>> values;  // the best grid point (empty: none)
  double score = 0;                                         // its mean over seeds
  std::size_t points = 0, diverged = 0;                     // grid points, and how many diverged
  bool at_edge = false;  // the best value is the least or largest of its grid axis
};

struct TuneResult {
  std::vector<TuneChoice> choices;  // one per entry
  std::filesystem::path tuned_config;
};

// Runs the grid (a sweep into spec.sweep.out), picks the best point per entry, writes
// OUT/tune.csv, OUT/tune.md and OUT/tuned.toml. Ties in the score are broken by the final
// objective (suboptimality where known, else the training loss), then by grid order.
TuneResult tune(TuneSpec spec);

}  // namespace herd::study
