#pragma once
// Reading back what runs left behind: metrics.jsonl rows and whole run directories, for
// resumed runs (targets met before the checkpoint), `herd table` and sweeps. The files are
// the record: a table rebuilt from them equals the one the runs printed.
#include <filesystem>
#include <string>
#include <vector>

#include "herd/algo/metrics.hpp"
#include "herd/run/driver.hpp"

namespace herd::run {

// Every row of a metrics.jsonl file, in order. InvalidInput naming the file and line for a
// line that is not a JSON object; IoError when it cannot be read. Nulls (NaN when written)
// are kept as empty values.
std::vector<algo::MetricsRow> read_metrics(const std::filesystem::path& file);

// The result a run directory holds: its summary.json, and the targets of its config.toml's
// eval.target found again in metrics.jsonl. A directory with a config but no summary (a run
// that was killed or still runs) gives status "incomplete" and the last recorded row;
// `label` names it then. InvalidInput when `dir` holds no run (no config.toml).
RunResult read_run(const std::filesystem::path& dir, const std::string& label = "");

// The targets of eval.target, followed through rows.
std::vector<TargetResult> find_targets(const std::vector<algo::Target>& targets,
                                       const std::vector<algo::MetricsRow>& rows);

}  // namespace herd::run
