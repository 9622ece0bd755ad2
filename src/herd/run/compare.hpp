#pragma once
// Runs one configuration, or every [[compare]] entry of it, and summarises the results.
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "herd/run/driver.hpp"

namespace herd::run {

// What run_all did: one result per run, and the first entry that failed (not diverged) when
// one did, for the caller to report once the table is written.
struct Comparison {
  std::vector<RunResult> results;
  std::exception_ptr failure;
};

// Plans every run first (so bad input in any entry stops the whole command before anything
// is written), then executes them one after another. A config without [[compare]] entries
// is a single run in out_dir itself, whose failure is thrown; with entries, each runs in
// out_dir/<slug of label>, out_dir/config.toml records the comparison, and an entry that
// diverges or fails is a result with that status while the others still run.
// `label` names a single run (default: its algorithm). out_dir is claimed once every run is
// planned (OutputClaim: refused when it holds an earlier run, unless `force` replaces it).
Comparison run_all(const Config& config, const std::filesystem::path& out_dir, Progress progress,
                   const std::string& label = "", bool force = false);

// The comparison table: one row per run (rounds, bytes, final loss and suboptimality,
// time, ...), as Markdown (also readable on a terminal) and as CSV.
std::string results_markdown(const std::vector<RunResult>& results);
std::string results_csv(const std::vector<RunResult>& results);

// "Local SGD, H = 8" -> "local_sgd_h_8"
std::string slug(const std::string& label);

}  // namespace herd::run
