#pragma once
// `herd reproduce`: the research questions of the three papers, each a study that runs with
// one command and says from its own measurements whether it reproduces the paper's claim.
//
// A study is data: a directory under studies/ (its id is the path, e.g. local-sgd/speedup)
// with study.toml (the question, the paper's claim and where it is stated, a sweep and
// optionally a step-size tuning per scale, and the checks: expressions on the measured table
// with their thresholds, claim.hpp) and the configurations it runs. Each scale (quick: small
// enough for CI; paper: the papers' sizes where the machine allows) says what differs from
// the paper. Results: OUT/ID/report.md (question, claim, measured table, checks, verdict,
// plots, the command that reruns it), OUT/ID/result.json, and OUT/index.md over every study
// in OUT.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "herd/study/claim.hpp"
#include "herd/study/sweep.hpp"

namespace herd::study {

struct StudyScale {
  std::string duration;          // expected, on a 2-core machine (for --list)
  std::string differs;           // what differs from the paper's setting at this scale
  std::vector<std::string> set;  // key=value for every run
  std::vector<Axis> axes;        // the sweep
  bool zip = false;
  int seeds = 1;                    // run.seed = SEED .. SEED + seeds - 1
  std::vector<Axis> grid;           // step-size tuning before the sweep (empty: none)
  std::string tune_by;              // tune's criterion
  std::vector<std::string> budget;  // key=value for the tuning runs only
  std::vector<PlotMark> marks;      // on every plot of the study at this scale
};

struct Study {
  std::string id;  // its path under the studies directory
  std::filesystem::path dir;
  std::string question, paper, source, claim, paper_number;
  std::filesystem::path config;           // the configuration the sweep runs
  std::vector<std::string> closed_forms;  // extra columns (closed_form.hpp)
  std::vector<SweepPlot> plots;
  // X:Y curves (herd plot) of every entry's run at the sweep's last point and first seed,
  // e.g. time:train_loss: the papers' loss-against-time figures.
  std::vector<SweepPlot> curves;
  std::string speedup_key;
  std::map<std::string, StudyScale> scales;  // "quick", "paper"
  std::vector<Check> checks;
};

// The scales every study has.
const std::vector<std::string>& scale_names();

// Every study under `root` (directories holding a study.toml), sorted by id. InvalidInput
// naming the file and key for a malformed study (an unknown key, a missing field, a claim
// that does not parse).
std::vector<Study> load_studies(const std::filesystem::path& root);

// --list: id, question, paper and expected duration at each scale, as a Markdown table.
std::string list_studies(const std::vector<Study>& studies);

struct ReproduceSpec {
  std::filesystem::path studies;  // the studies directory
  std::vector<std::string> ids;   // study ids, or "all"
  std::string scale = "quick";
  std::int64_t seed = 1;
  int jobs = 0;  // runs at once (0: as herd sweep chooses)
  std::filesystem::path out;
  bool quiet = false;                 // no line per run
  bool check_only = false;            // check everything (--check), run nothing
  std::filesystem::path herd_binary;  // empty: this program
};

struct CheckResult {
  std::string claim, expression, bound, note;  // note: why there is no number
  double value = 0;
  bool holds = false;
};

struct StudyResult {
  std::string id, question, verdict, scale;
  std::int64_t seed = 1;
  std::vector<CheckResult> checks;
  double seconds = 0;  // wall time over every invocation of the study in its directory
  std::size_t runs = 0, failed_runs = 0;
};

// "reproduced" when every check holds, "not reproduced" when none does, "partly reproduced"
// otherwise.
std::string verdict_of(const std::vector<CheckResult>& checks);

// Runs the studies (everything about them is checked first: ids, claims against the sweep's
// points, configurations, output directories), writes their reports and OUT/index.md.
// InvalidInput for an unknown id or scale, a malformed study, an output directory that holds
// another study's (or another scale's or seed's) results.
std::vector<StudyResult> reproduce(const ReproduceSpec& spec);

// OUT/index.md and OUT/index.json over every study result found under OUT.
void write_index(const std::filesystem::path& out);

// The results of OUT as documentation in DOCS (docs/results): DOCS/index.md, one page per
// paper (the first part of the ids: local-sgd.md, lsgd.md, rescaled.md) holding its studies'
// reports, and their plots under DOCS/img/. IoError when DOCS cannot be written;
// InvalidInput when OUT holds no results.
void publish(const std::filesystem::path& out, const std::filesystem::path& docs);

}  // namespace herd::study
