// Targets (eval.target, stop.target): their syntax, the first evaluation that meets each,
// what summary.json and the tables report, and that every metric an algorithm records can be
// named by one.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "herd/algo/registry.hpp"
#include "herd/algo/target.hpp"
#include "herd/core/error.hpp"
#include "herd/run/compare.hpp"
#include "herd/run/driver.hpp"
#include "herd/run/results.hpp"
#include "support/cli_files.hpp"

namespace herd::run {
namespace {

namespace fs = std::filesystem;
using algo::MetricsRow;
using algo::parse_target;
using algo::parse_targets;
using algo::Target;

fs::path fresh_dir(const std::string& name) {
  return test::fresh_dir("herd_test_targets", name);
}

MetricsRow row(std::int64_t step, double loss, double acc) {
  MetricsRow r;
  r.set("time", 0.5 * double(step));
  r.set("step", step);
  r.set("grads", 10 * step);
  r.set("rounds", step / 2);
  r.set("bytes", 100 * step);
  r.set("train_loss", loss);
  r.set("test_acc", acc);
  return r;
}

TEST(Targets, ParseMetricComparisonAndValue) {
  const Target t = parse_target(" suboptimality <= 1e-3 ", "eval.target");
  EXPECT_EQ(t.metric, "suboptimality");
  EXPECT_EQ(t.op, Target::Op::at_most);
  EXPECT_EQ(t.value, 1e-3);
  EXPECT_EQ(t.text(), "suboptimality<=0.001");
  const Target acc = parse_target("test_acc>=0.9", "eval.target");
  EXPECT_EQ(acc.op, Target::Op::at_least);
  const auto both = parse_targets("weighted_average_suboptimality<=1e-2, test_error<=0.05", "k");
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].metric, "weighted_average_suboptimality");
  EXPECT_EQ(both[1].metric, "test_error");
  EXPECT_TRUE(parse_targets("  ", "k").empty());
}

TEST(Targets, MalformedTargetsNameTheArgumentAndWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"loss<", "<= or >="},
      {"train_loss", "METRIC<=VALUE"},
      {"<=1", "metric is missing"},
      {"train_loss<=", "value is missing"},
      {"train_loss<=abc", "not a finite number"},
      {"train_loss<=nan", "not a finite number"},
      {"train_loss==1", "<= or >="},
      {"accuracy>=0.9", "unknown metric \"accuracy\""},
      {"loss<=0.3", "unknown metric \"loss\""},
  };
  for (const auto& [text, words] : cases) {
    try {
      parse_targets(text, "eval.target");
      ADD_FAILURE() << text << " was accepted";
    } catch (const InvalidInput& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("eval.target"), std::string::npos) << message;
      EXPECT_NE(message.find(words), std::string::npos) << message;
    }
  }
}

TEST(Targets, TheFirstRowThatMeetsEachTargetIsKeptAndNeverMetStaysEmpty) {
  algo::TargetTracker tracker(
      parse_targets("train_loss<=0.5, test_error<=0.2, train_loss<=0.01", "k"));
  const double losses[] = {1.0, 0.7, 0.5, 0.6, 0.3};  // meets 0.5 at step 2 (then rises)
  const double accs[] = {0.5, 0.6, 0.7, 0.85, 0.8};   // error 0.15 at step 3
  for (std::int64_t s = 0; s < 5; ++s) tracker.observe(row(s, losses[s], accs[s]));
  const auto& hits = tracker.hits();
  ASSERT_TRUE(hits[0]);
  EXPECT_EQ(hits[0]->steps, 2);
  EXPECT_EQ(hits[0]->grads, 20);
  EXPECT_EQ(hits[0]->rounds, 1);
  EXPECT_EQ(hits[0]->bytes, 200);
  EXPECT_EQ(hits[0]->time, 1.0);
  ASSERT_TRUE(hits[1]);
  EXPECT_EQ(hits[1]->steps, 3);  // test_error = 1 - test_acc
  EXPECT_FALSE(hits[2]);         // never met
  // A row without the metric (or NaN) meets nothing.
  MetricsRow empty;
  EXPECT_FALSE(parse_target("suboptimality<=1", "k").met_by(empty));
  EXPECT_TRUE(std::isnan(algo::metric_value(empty, "test_error")));
}

const char* small_run = R"(
[data]
format = "synthetic"
rows = 2000
test_rows = 500
features = 10
[model]
name = "logistic"
l2 = 0.01
[algo]
name = "local_sgd"
workers = 4
batch = 8
period = 4
lr = 0.5
[stop]
steps = 400
[eval]
every = 20
target = ["suboptimality<=1e-2", "test_error<=0.01"]
)";

TEST(Targets, SummaryAndTablesReportTheFirstCrossingFromTheMetrics) {
  const fs::path dir = fresh_dir("summary");
  RunPlan p = plan(Config::from_toml_string(small_run, "small.toml"), "small");
  const RunResult r = execute(p, dir, Progress::none);
  ASSERT_EQ(r.targets.size(), 2u);
  // The first row of metrics.jsonl whose suboptimality is <= 1e-2 is the reported one.
  const auto rows = read_metrics(dir / "metrics.jsonl");
  const auto first = std::find_if(rows.begin(), rows.end(), [](const MetricsRow& m) {
    return m.number("suboptimality") <= 1e-2;
  });
  ASSERT_NE(first, rows.end());
  ASSERT_TRUE(r.targets[0].hit);
  EXPECT_EQ(r.targets[0].hit->steps, first->number("step"));
  EXPECT_EQ(r.targets[0].hit->time, first->number("time"));
  EXPECT_FALSE(r.targets[1].hit);  // 99 % test accuracy on noisy data: never
  const std::string summary = test::read(dir / "summary.json");
  EXPECT_NE(summary.find(fmt::format("\"steps_to_target\": {}", first->number("step"))),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("\"target\": \"test_error<=0.01\", \"steps_to_target\": null"),
            std::string::npos)
      << summary;
  // Read back from the directory: the same result.
  const RunResult again = read_run(dir);
  EXPECT_EQ(results_csv({again}), results_csv({r}));
  EXPECT_NE(results_markdown({r}).find("steps to suboptimality<=0.01"), std::string::npos);
}

TEST(Targets, AStopTargetEndsTheRunAtItsFirstCrossing) {
  Config c = Config::from_toml_string(small_run, "small.toml");
  c.set("stop.target", "suboptimality<=1e-2");
  RunPlan p = plan(c, "small");
  const RunResult r = execute(p, fresh_dir("stop"), Progress::none);
  EXPECT_EQ(r.stop_reason, "target");
  ASSERT_TRUE(r.targets[0].hit);
  EXPECT_EQ(r.last.number("step"), double(r.targets[0].hit->steps));
}

// Every numeric field that any algorithm records can be a target.
TEST(Targets, EveryMetricAnAlgorithmRecordsIsKnown) {
  for (const algo::AlgorithmInfo* info : algo::algorithms()) {
    Config c = Config::from_toml_string(small_run, "small.toml");
    c.set("algo.name", info->name);
    c.set("run.runtime", "sim");
    c.set("cluster.compute_times", "1,2,3,4");
    c.set("stop.steps", std::int64_t(40));
    c.set("algo.lr", 0.05);
    c.set("eval.target", "");
    if (info->name == "lsgd" || info->name == "local_sgd")
      c.set("algo.group_size", std::int64_t(2));
    RunPlan p = plan(c, info->name);
    const fs::path dir = fresh_dir("metrics_" + info->name);
    execute(p, dir, Progress::none);
    std::set<std::string> seen;
    for (const MetricsRow& m : read_metrics(dir / "metrics.jsonl"))
      for (const auto& [key, value] : m.fields)
        if (!std::holds_alternative<std::string>(value)) seen.insert(key);
    for (const std::string& key : seen)
      EXPECT_TRUE(algo::is_known_metric(key)) << info->name << " records " << key;
  }
}

TEST(Cli, BadTargetsAreRefusedWithExitTwoAndNothingWritten) {
  const fs::path config = herd::test::temp_dir() / "herd_test_targets.toml";
  std::ofstream(config) << small_run;
  const fs::path out = fresh_dir("refused");
  for (const char* bad : {"eval.target=loss<", "eval.target=unknown<=1", "stop.target=step>=x",
                          "eval.report_loss=0.5"}) {
    const auto [code, err] =
        test::herd_stderr("run " + config.string() + " --out " + out.string() + " '" + bad + "'");
    EXPECT_EQ(code, exit_codes::invalid_input) << bad << ": " << err;
    EXPECT_NE(err.find(std::string(bad).substr(0, std::string(bad).find('='))), std::string::npos)
        << err;
    EXPECT_FALSE(fs::exists(out)) << bad;
  }
}

}  // namespace
}  // namespace herd::run
