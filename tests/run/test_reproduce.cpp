// `herd reproduce`: claims as expressions on a measured table (a slope of a power law is its
// exponent, a target never met counts as never, a selection must name one point), the verdict
// computed from the checks, a study run end to end against a closed form, and bad input
// (unknown id, malformed claim, a directory holding other results) refused with nothing lost.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "herd/core/error.hpp"
#include "herd/model/quadratic.hpp"
#include "herd/study/claim.hpp"
#include "herd/study/reproduce.hpp"
#include "support/cli_files.hpp"

namespace herd::study {
namespace {

namespace fs = std::filesystem;
using test::herd_stderr;
using test::read;

// A table of `entries` x algo.workers = 1, 2, 4, 8 x two seeds, with y = c * K^p per entry
// (c = 3 for "a", 5 for "b"; p = 0.5 for "a", -1 for "b").
SweepTable power_law_table() {
  SweepTable t;
  t.columns = {"entry", "algo.workers", "seed", "y"};
  for (const std::string entry : {"a", "b"})
    for (const int k : {1, 2, 4, 8})
      for (const int seed : {1, 2}) {
        const double y = entry == "a" ? 3 * std::sqrt(double(k)) : 5.0 / k;
        // Seeds differ by +-1%: the mean over them is the law.
        const double v = y * (seed == 1 ? 0.99 : 1.01);
        t.text.push_back({entry, std::to_string(k), std::to_string(seed), std::to_string(v)});
        t.value.push_back({std::nan(""), double(k), double(seed), v});
      }
  return t;
}

double evaluate(const std::string& expression, const SweepTable& t) {
  return Expression::parse(expression).evaluate({&t, {"entry", "algo.workers"}});
}

TEST(Claim, TheSlopeOfAPowerLawIsItsExponent) {
  const SweepTable t = power_law_table();
  EXPECT_NEAR(evaluate("slope(y{entry=a}, algo.workers)", t), 0.5, 1e-12);
  EXPECT_NEAR(evaluate("slope(y{entry=b}, algo.workers)", t), -1.0, 1e-12);
  // Means over seeds, arithmetic, max/min of an axis, functions.
  EXPECT_NEAR(evaluate("y{entry=a, algo.workers=max} / y{entry=a, algo.workers=min}", t),
              std::sqrt(8.0), 1e-12);
  EXPECT_NEAR(evaluate("y{entry=b, algo.workers=2} * 2 - 10 + abs(-1) + log(1)", t), -4.0, 1e-12);
  EXPECT_NEAR(evaluate("max(y{entry=a, algo.workers=1}, 4) - min(2, 1)", t), 3.0, 1e-12);
  // A swept key is a column too.
  EXPECT_NEAR(evaluate("algo.workers{entry=a, algo.workers=max}", t), 8.0, 0);
}

TEST(Claim, InfinityHoldsABoundAndNaNHoldsNone) {
  SweepTable t = power_law_table();
  for (auto& row : t.value)
    if (row[1] == 8) row[3] = std::numeric_limits<double>::infinity();  // never met
  const double ratio = evaluate("y{entry=a, algo.workers=8} / y{entry=a, algo.workers=1}", t);
  EXPECT_TRUE(std::isinf(ratio));
  const Check at_least{"", Expression::parse("1"), 2.0, std::nullopt};
  EXPECT_TRUE(at_least.holds(ratio));
  EXPECT_FALSE(at_least.holds(std::nan("")));
  EXPECT_TRUE(std::isnan(evaluate("slope(y{entry=a}, algo.workers)", t)));  // not a power law
  t.value[0][3] = std::nan("");                                             // a run that diverged
  EXPECT_TRUE(std::isnan(evaluate("y{entry=a, algo.workers=1}", t)));
  const Check between{"", Expression::parse("1"), 0.8, 1.2};
  EXPECT_TRUE(between.holds(1.0));
  EXPECT_FALSE(between.holds(1.3));
  EXPECT_EQ(between.bound_text(), "0.8 <= value <= 1.2");
}

TEST(Claim, MalformedExpressionsAndSelectionsAreNamed) {
  const SweepTable t = power_law_table();
  const std::pair<std::string, std::string> cases[] = {
      {"slope(y{entry=a}, algo.workers", "expected ')'"},
      {"median(y)", "unknown function median"},
      {"y{entry=a", "expected ','"},
      {"y{entry=}", "no value for entry"},
      {"2 +", "expected a number, a column or a function"},
      {"slope(3, algo.workers)", "column reference"},
  };
  for (const auto& [text, words] : cases) {
    try {
      Expression::parse(text);
      ADD_FAILURE() << text << " parsed";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << text << ": " << e.what();
    }
  }
  const std::pair<std::string, std::string> evaluation[] = {
      {"y{entry=a}", "different algo.workers"},          // several points
      {"z{entry=a, algo.workers=1}", "no column z"},     // unknown column
      {"y{entry=c, algo.workers=1}", "no run matches"},  // no such entry
      {"y{algo.lr=1, entry=a}", "algo.lr is not a swept key"},
      {"slope(y{entry=a}, algo.lr)", "algo.lr is not a swept key"},
  };
  for (const auto& [text, words] : evaluation) {
    try {
      evaluate(text, t);
      ADD_FAILURE() << text << " evaluated";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << text << ": " << e.what();
    }
  }
}

TEST(Claim, TheVerdictComesFromTheChecks) {
  const CheckResult yes{"", "", "", "", 1, true}, no{"", "", "", "", 0, false};
  EXPECT_EQ(verdict_of({yes, yes}), "reproduced");
  EXPECT_EQ(verdict_of({yes, no}), "partly reproduced");
  EXPECT_EQ(verdict_of({no, no}), "not reproduced");
}

TEST(ClosedForm, TheWeightedMinimiserOfQuadratics) {
  // F_k = 0.5 (x - a_k)' A_k (x - a_k): weights e_k give a_k, equal weights give x*, and
  // w_k = 1/tau_k on identity curvatures give sum(a_k / tau_k) / sum(1 / tau_k).
  std::vector<Eigen::VectorXd> diag = {Eigen::Vector2d(1, 2), Eigen::Vector2d(3, 1)};
  std::vector<Eigen::VectorXd> centers = {Eigen::Vector2d(1, -1), Eigen::Vector2d(-2, 4)};
  const auto p = model::QuadraticProblem::diagonal(diag, centers, 0.0, 1);
  EXPECT_TRUE(p.weighted_minimizer({1, 0}).isApprox(centers[0]));
  EXPECT_TRUE(p.weighted_minimizer({0.5, 0.5}).isApprox(p.minimizer()));
  std::vector<Eigen::VectorXd> ones(2, Eigen::Vector2d(1, 1));
  const auto identity = model::QuadraticProblem::diagonal(ones, centers, 0.0, 1);
  const double tau[] = {1, 3};
  const Eigen::VectorXd expected =
      (centers[0] / tau[0] + centers[1] / tau[1]) / (1 / tau[0] + 1 / tau[1]);
  EXPECT_TRUE(identity.weighted_minimizer({1 / tau[0], 1 / tau[1]}).isApprox(expected));
  EXPECT_THROW(p.weighted_minimizer({1}), InvalidInput);
  EXPECT_THROW(p.weighted_minimizer({0, 0}), InvalidInput);
}

// A studies directory with one study, "bias/asgd": vanilla ASGD against Rescaled ASGD on
// heterogeneous quadratics; `checks` are its [[check]] tables.
fs::path write_studies(const std::string& name, const std::string& checks) {
  const fs::path root = test::fresh_dir("herd_test_reproduce", name);
  fs::create_directories(root / "bias" / "asgd");
  std::ofstream(root / "bias" / "quadratics.toml") << R"(
[run]
runtime = "sim"
[model]
name = "quadratic"
dim = 3
mu = 1.0
smoothness = 1.0
noise = 0.0
[algo]
workers = 4
lr = 0.002
[cluster]
compute_times = "permutation"
[stop]
steps = 8000
[eval]
every = 4000
[[compare]]
label = "ASGD"
algo = { name = "asgd" }
[[compare]]
label = "Rescaled ASGD"
algo = { name = "rescaled_asgd" }
)";
  std::ofstream(root / "bias" / "asgd" / "study.toml") << R"toml(
question = "Where does ASGD settle?"
paper = "a test"
source = "ALGORITHMS.md 2.1"
claim = "at sum(a_i / tau_i) / sum(1 / tau_i)"
paper_number = "the closed form"
config = "../quadratics.toml"
closed_forms = ["asgd_fixed_point_suboptimality"]
[scale.quick]
duration = "1 s"
differs = "small"
sweep = ["algo.workers=4"]
seeds = 2
[scale.paper]
duration = "1 s"
differs = "small"
sweep = ["algo.workers=4"]
)toml" + checks;
  return root;
}

const std::string two_checks = R"(
[[check]]
claim = "ASGD ends at the closed form within 5%"
value = "suboptimality{entry=ASGD, algo.workers=4} / asgd_fixed_point_suboptimality{entry=ASGD, algo.workers=4}"
at_least = 0.95
at_most = 1.05
[[check]]
claim = "a claim the numbers refute: ASGD is twice the closed form"
value = "suboptimality{entry=ASGD, algo.workers=4} / asgd_fixed_point_suboptimality{entry=ASGD, algo.workers=4}"
at_least = 2
)";

TEST(Cli, ReproduceJudgesAStudyFromItsOwnNumbers) {
  const fs::path studies = write_studies("judge", two_checks);
  const fs::path out = test::fresh_dir("herd_test_reproduce", "judge_out");
  const std::string command =
      "reproduce bias/asgd --studies " + studies.string() + " --out " + out.string();
  const auto [code, err] = herd_stderr(command);
  ASSERT_EQ(code, exit_codes::ok) << err;
  const std::string report = read(out / "bias" / "asgd" / "report.md");
  EXPECT_NE(report.find("**partly reproduced** (1 of 2 checks hold)"), std::string::npos) << report;
  EXPECT_NE(report.find("herd reproduce bias/asgd --scale quick --seed 1"), std::string::npos);
  const std::string result = read(out / "bias" / "asgd" / "result.json");
  const std::size_t at = result.find("\"value\": ");
  ASSERT_NE(at, std::string::npos) << result;
  EXPECT_NEAR(std::stod(result.substr(at + 9)), 1.0, 0.05) << result;
  EXPECT_NE(read(out / "index.md").find("| [bias/asgd](bias/asgd/report.md) |"), std::string::npos);

  // Again: the finished runs are kept, the verdict is the same.
  const auto [again, err2] = herd_stderr(command);
  EXPECT_EQ(again, exit_codes::ok) << err2;
  EXPECT_EQ(read(out / "bias" / "asgd" / "report.md").find("partly reproduced"),
            report.find("partly reproduced"));
}

// A tuned step size at the end of its grid is named as such in the report: the verdict may
// then be the grid's rather than the method's. Noise-free quadratics: the largest of three
// small steps gets closest in the same steps.
TEST(Cli, ReproduceSaysWhenATunedStepSizeIsAtTheEdgeOfItsGrid) {
  fs::path studies = write_studies("edge", two_checks);
  const fs::path file = studies / "bias" / "asgd" / "study.toml";
  std::string text = read(file);
  const std::string quick = "[scale.quick]\n";
  text.insert(text.find(quick) + quick.size(),
              "tune = { grid = [\"algo.lr=0.0002,0.0005,0.001\"], by = \"final:suboptimality\" "
              "}\n");
  std::ofstream(file) << text;
  const fs::path out = test::fresh_dir("herd_test_reproduce", "edge_out");
  const auto [code, err] =
      herd_stderr("reproduce bias/asgd --studies " + studies.string() + " --out " + out.string());
  ASSERT_EQ(code, exit_codes::ok) << err;
  const std::string report = read(out / "bias" / "asgd" / "report.md");
  EXPECT_NE(report.find("ASGD: algo.lr = 0.001 (at the edge of the grid: the best may lie beyond)"),
            std::string::npos)
      << report;
}

TEST(Cli, BadReproduceInputExitsTwoAndLosesNothing) {
  const fs::path studies = write_studies("bad", two_checks);
  const fs::path out = test::fresh_dir("herd_test_reproduce", "bad_out");
  const std::string base = "reproduce --studies " + studies.string() + " --out " + out.string();
  const auto expect_refused = [&](const std::string& args, const std::string& words) {
    const auto [code, err] = herd_stderr(args);
    EXPECT_EQ(code, exit_codes::invalid_input) << args << ": " << err;
    EXPECT_NE(err.find(words), std::string::npos) << args << ": " << err;
  };
  expect_refused(base + " bias/nope", "unknown study bias/nope; the studies are bias/asgd");
  expect_refused(base + " bias/asgd --scale huge", "--scale huge");
  EXPECT_FALSE(fs::exists(out));

  // A malformed claim: found before anything runs, named with its file.
  const fs::path broken = write_studies(
      "broken", "[[check]]\nclaim = \"x\"\nvalue = \"suboptimality{entry=ASGD\"\nat_least = 1\n");
  expect_refused("reproduce bias/asgd --studies " + broken.string() + " --out " + out.string(),
                 "study.toml: check[1].value");
  // A selection of several points (both entries) and an unknown column: refused before any run.
  for (const std::string value : {"suboptimality{algo.workers=4}", "nonsense{entry=ASGD}"}) {
    const fs::path s = write_studies(
        "ambiguous", "[[check]]\nclaim = \"x\"\nvalue = \"" + value + "\"\nat_least = 1\n");
    expect_refused("reproduce bias/asgd --studies " + s.string() + " --out " + out.string(),
                   "check \"x\"");
  }
  // A plot mark that is not X:LABEL.
  const fs::path marked = write_studies("marked", two_checks);
  {
    const fs::path file = marked / "bias" / "asgd" / "study.toml";
    std::string text = read(file);
    text.replace(text.find("seeds = 2\n"), 10, "seeds = 2\nmarks = [\"five:H = 5\"]\n");
    std::ofstream(file) << text;
  }
  expect_refused("reproduce bias/asgd --studies " + marked.string() + " --out " + out.string(),
                 "scale.quick.marks: \"five:H = 5\" is not X:LABEL");
  EXPECT_FALSE(fs::exists(out));

  // An output directory that holds this study's results at another seed: refused, kept whole.
  ASSERT_EQ(test::herd(base + " bias/asgd"), exit_codes::ok);
  const std::string report = read(out / "bias" / "asgd" / "report.md");
  expect_refused(base + " bias/asgd --seed 7",
                 "holds the results of bias/asgd at scale quick with seed 1");
  EXPECT_EQ(read(out / "bias" / "asgd" / "report.md"), report);
  // ... and one of other files.
  const fs::path foreign = test::fresh_dir("herd_test_reproduce", "foreign");
  fs::create_directories(foreign / "bias" / "asgd");
  std::ofstream(foreign / "bias" / "asgd" / "notes.txt") << "mine";
  expect_refused("reproduce bias/asgd --studies " + studies.string() + " --out " + foreign.string(),
                 "not results of herd reproduce");
  EXPECT_EQ(read(foreign / "bias" / "asgd" / "notes.txt"), "mine");
}

// Every study of the repository passes the checks made before a run, at both scales: its
// claims parse and select single points of its sweep, its configurations are valid.
TEST(Studies, EveryStudyOfTheRepositoryIsWellFormedAtBothScales) {
  const fs::path root = fs::path(HERD_SOURCE_DIR) / "studies";
  const std::vector<Study> studies = load_studies(root);
  EXPECT_GE(studies.size(), 15u);
  for (const std::string scale : {"quick", "paper"}) {
    for (const Study& study : studies) {
      ReproduceSpec spec;
      spec.studies = root;
      spec.ids = {study.id};
      spec.scale = scale;
      spec.check_only = true;
      spec.out = test::fresh_dir("herd_test_reproduce", "check_" + scale);
      try {
        reproduce(spec);
      } catch (const Error& e) {
        // Without LibTorch the CNN studies are refused up front, naming the model.
        const bool torch_model = std::string(e.what()).find("lenet5") != std::string::npos;
        if (HERD_WITH_TORCH || !torch_model)
          ADD_FAILURE() << study.id << " " << scale << ": " << e.what();
      }
      EXPECT_FALSE(fs::exists(spec.out));
    }
  }
}

}  // namespace
}  // namespace herd::study
