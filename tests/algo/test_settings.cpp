// The algorithms' typed settings and their registry, as a program that calls run_job directly
// sees them: every algorithm is linked and registered (this binary references none of them
// by name), option values are validated against the options the algorithms declare, the
// defaults and rules of the settings apply without the run layer, and a refused job starts
// no rank.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "herd/algo/easgd.hpp"
#include "herd/algo/job.hpp"
#include "herd/algo/local_sgd.hpp"
#include "herd/algo/lsgd.hpp"
#include "herd/comm/threads.hpp"
#include "herd/core/error.hpp"
#include "herd/model/quadratic.hpp"
#include "job_helpers.hpp"

namespace herd::algo {
namespace {

// Four noisy workers with different optima in d = 3.
model::QuadraticProblem noisy_quadratic() {
  std::vector<Eigen::VectorXd> diag, a;
  for (int k = 0; k < 4; ++k) {
    diag.push_back(Eigen::Vector3d(1.0, 2.0, 0.5 + k));
    a.push_back(Eigen::Vector3d(k - 1.5, 1.0, -0.5 * k));
  }
  return model::QuadraticProblem::diagonal(diag, a, 0.5, 1);
}

// comm::run_threads that remembers whether any rank was started.
struct WatchedRuntime {
  bool started = false;
  Runtime runtime() {
    return [this](int ranks, const std::function<void(comm::Communicator&)>& program) {
      started = true;
      comm::run_threads(ranks, program);
    };
  }
};

// The InvalidInput of a refused job, which must not have started a rank.
std::string refusal(const JobSpec& j) {
  WatchedRuntime watched;
  try {
    run_job(j, watched.runtime());
  } catch (const InvalidInput& e) {
    EXPECT_FALSE(watched.started) << e.what();
    return e.what();
  }
  ADD_FAILURE() << j.algorithm << ": expected InvalidInput";
  return "";
}

TEST(Registry, EveryAlgorithmIsLinkedAndListedInTheDocumentedOrder) {
  const std::vector<std::string> expected = {
      "minibatch_sgd",   "local_sgd", "fedprox",       "async_local_sgd",
      "easgd",           "eamsgd",    "lsgd",          "async_easgd",
      "async_lsgd",      "asgd",      "rescaled_asgd", "delay_adaptive_asgd",
      "ringmaster_asgd", "ia2sgd",    "malenia_sgd",   "rennala_sgd",
      "ringleader_asgd"};
  EXPECT_EQ(algorithm_names(), expected);
  std::set<int> orders;
  for (const AlgorithmInfo* a : algorithms()) {
    EXPECT_TRUE(orders.insert(a->order).second) << a->name;
    EXPECT_FALSE(a->summary.empty()) << a->name;
    EXPECT_TRUE(a->prepare) << a->name;
    EXPECT_EQ(find_algorithm(a->name), a);
  }
  EXPECT_EQ(find_algorithm("sgd"), nullptr);
  EXPECT_THROW(algorithm_or_throw("sgd"), InvalidInput);
}

TEST(Registry, EachAlgorithmOptionIsListedOnceAndReadByTheAlgorithmsThatDeclareIt) {
  std::set<std::string> keys;
  for (const OptionSpec* spec : algorithm_options()) {
    EXPECT_TRUE(keys.insert(spec->key).second) << spec->key;
    EXPECT_EQ(spec->section(), "algo") << spec->key;
    EXPECT_FALSE(algorithms_reading(spec->key).empty()) << spec->key;
    // Every default passes its own checks.
    EXPECT_EQ(validate(*spec, spec->default_value, ""), spec->default_value) << spec->key;
  }
  // Readers in the registry's order (a new algorithm that reads algo.period joins the list).
  const std::vector<std::string> period_readers = algorithms_reading("algo.period");
  std::vector<std::string> expected;
  for (const std::string& name : algorithm_names())
    if (find_algorithm(name)->reads("algo.period")) expected.push_back(name);
  EXPECT_EQ(period_readers, expected);
  for (const char* reader :
       {"local_sgd", "async_local_sgd", "easgd", "eamsgd", "lsgd", "async_easgd", "async_lsgd"})
    EXPECT_NE(std::find(period_readers.begin(), period_readers.end(), reader), period_readers.end())
        << reader;
  EXPECT_EQ(algorithms_reading("algo.server_batch"),
            (std::vector<std::string>{"malenia_sgd", "rennala_sgd"}));
  EXPECT_TRUE(algorithms_reading("algo.workers").empty());  // the run layer's option
  EXPECT_TRUE(find_algorithm("minibatch_sgd")->options.empty());
  EXPECT_EQ(find_algorithm("eamsgd")->optim_name, "nesterov");
}

TEST(Settings, DefaultsAreTheOptionsDefaults) {
  const LocalSgdSettings local = LocalSgdSettings::knobs().make({});
  EXPECT_EQ(local.period, 8);
  EXPECT_EQ(local.post_local_steps, 0);
  EXPECT_EQ(local.group_size, 0);
  EXPECT_FALSE(local.outer_nesterov);
  EXPECT_EQ(local.outer_lr, 0.7f);
  EXPECT_EQ(local.outer_momentum, 0.9f);
  const LeaderSettings leader = LeaderSettings::knobs().make({});
  EXPECT_EQ(leader.pull, 0.1);
  EXPECT_EQ(leader.leader_window, 10);
  // Explicit values win; a choice sets its flag.
  const LocalSgdSettings set = LocalSgdSettings::knobs().make(
      {{"algo.period", std::int64_t{3}}, {"algo.outer_optimizer", std::string("nesterov")}});
  EXPECT_EQ(set.period, 3);
  EXPECT_TRUE(set.outer_nesterov);
}

TEST(Settings, DefaultsThatDependOnTheJobAreResolvedBesideTheAlgorithm) {
  JobContext job;
  job.workers = 6;
  LocalSgdSettings local = LocalSgdSettings::knobs().make(
      {{"algo.period", std::int64_t{4}}, {"algo.group_size", std::int64_t{2}}});
  local.resolve(job);
  EXPECT_EQ(local.global_period, 4);  // 0 means every period
  ElasticSettings elastic = ElasticSettings::knobs().make({});
  EXPECT_FALSE(elastic.elastic_alpha.has_value());
  elastic.resolve(job);
  EXPECT_DOUBLE_EQ(*elastic.elastic_alpha, 0.9 / 6);
  ElasticSettings zero = ElasticSettings::knobs().make({{"algo.elastic_alpha", 0.0}});
  zero.resolve(job);
  EXPECT_EQ(*zero.elastic_alpha, 0.0);  // set explicitly: kept
}

TEST(Settings, LocalSgdGroupsWithoutAGlobalPeriodRunAsWithGlobalPeriodEqualToPeriod) {
  // Used to divide by zero (SIGFPE): only the run layer turned global_period = 0 into period.
  const auto problem = noisy_quadratic();
  JobSpec implicit = job_for(problem, "local_sgd", 4, 30, 0.1);
  implicit.set("algo.period", 3).set("algo.group_size", 2);
  JobSpec explicit_period = implicit;
  explicit_period.set("algo.global_period", 3);
  const JobResult a = run_job(implicit, comm::run_threads);
  const JobResult b = run_job(explicit_period, comm::run_threads);
  EXPECT_EQ(a.final_x, b.final_x);
  std::vector<float> x0(problem.dim());
  problem.initial_point(x0);
  EXPECT_NE(a.final_x[0], x0);
  // Groups that never average globally otherwise would end apart: global rounds happened.
  for (const auto& x : a.final_x) EXPECT_EQ(x, a.final_x[0]);
}

TEST(Settings, BadCombinationsThrowInvalidInputBeforeAnyRankStarts) {
  const auto problem = noisy_quadratic();
  JobSpec local = job_for(problem, "local_sgd", 4, 10, 0.1);
  local.set("algo.period", 4).set("algo.group_size", 2).set("algo.global_period", 6);
  EXPECT_NE(refusal(local).find("algo.global_period = 6 must be a multiple of algo.period = 4"),
            std::string::npos);

  JobSpec lsgd = job_for(problem, "lsgd", 4, 10, 0.1);
  lsgd.set("algo.group_size", 3);
  EXPECT_NE(refusal(lsgd).find("algo.group_size = 3 does not divide algo.workers = 4"),
            std::string::npos);

  JobSpec eamsgd = job_for(problem, "eamsgd", 4, 10, 0.1);
  EXPECT_NE(refusal(eamsgd).find("Nesterov"), std::string::npos);

  JobSpec rescaled = job_for(problem, "rescaled_asgd", 4, 10, 0.1);
  EXPECT_NE(refusal(rescaled).find("cluster.compute_times"), std::string::npos);
  rescaled.worker_tau = {1, 2, 3, 4};
  EXPECT_NO_THROW(run_job(rescaled, comm::run_threads));
}

TEST(Settings, OptionValuesAreValidatedNamingTheKey) {
  const auto problem = noisy_quadratic();
  JobSpec j = job_for(problem, "local_sgd", 4, 10, 0.1);
  j.set("algo.period", 0);
  EXPECT_NE(refusal(j).find("algo.period = 0 is out of range"), std::string::npos);
  j.set("algo.period", "four");
  EXPECT_NE(refusal(j).find("algo.period: expected an integer"), std::string::npos);
  j.options["algo.period"] = std::int64_t{4};
  j.options["algo.perod"] = std::int64_t{4};
  EXPECT_NE(refusal(j).find("algo.perod"), std::string::npos);
  j.options.erase("algo.perod");
  // An integer for a number option is a number; keys other algorithms read are ignored.
  j.set("algo.outer_lr", 1).set("algo.server_batch", 2);
  EXPECT_NO_THROW(run_job(j, comm::run_threads));
  j.set("algo.group_size", std::int64_t{1} << 40);  // larger than the member holds
  EXPECT_NE(refusal(j).find("algo.group_size"), std::string::npos);
}

}  // namespace
}  // namespace herd::algo
