// Elastic Averaging SGD and Leader SGD against hand-computed
// exchanges, exact reductions to independent SGD and to minibatch SGD, the symmetry-breaking
// claim on the double well, the byte counts of their collectives, and the convergence of
// their asynchronous forms on the simulator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "herd/algo/job.hpp"
#include "herd/comm/sim.hpp"
#include "herd/comm/threads.hpp"
#include "herd/core/error.hpp"
#include "herd/model/double_well.hpp"
#include "herd/model/quadratic.hpp"
#include "job_helpers.hpp"

namespace herd::algo {
namespace {

struct NamedRuntime {
  std::string name;
  Runtime run;
};

void PrintTo(const NamedRuntime& r, std::ostream* os) {
  *os << r.name;
}

// The simulator with heterogeneous compute times (rank r takes 1 + r seconds per gradient,
// up to 8 ranks): a synchronous trajectory must not depend on them.
Runtime heterogeneous_sim() {
  comm::SimSpec spec;
  for (int r = 0; r < 8; ++r) spec.compute.tau.push_back(1.0 + r);
  return [spec](int ranks, const std::function<void(comm::Communicator&)>& program) {
    comm::run_sim(spec, ranks, program);
  };
}

// F_k(x) = 0.5 (x - a_k)' diag(curvature) (x - a_k); sigma > 0 adds gradient noise.
model::QuadraticProblem quadratic(const std::vector<std::vector<double>>& centers,
                                  std::vector<double> curvature = {}, double sigma = 0) {
  std::vector<Eigen::VectorXd> diag, a;
  const auto d = Eigen::Index(centers.front().size());
  if (curvature.empty()) curvature.assign(std::size_t(d), 1.0);
  for (const auto& center : centers) {
    diag.push_back(Eigen::Map<const Eigen::VectorXd>(curvature.data(), d));
    a.push_back(Eigen::Map<const Eigen::VectorXd>(center.data(), d));
  }
  return model::QuadraticProblem::diagonal(diag, a, sigma, 1);
}

// Worker k starts at starts[k].
std::function<void(int, Span)> starting_at(std::vector<std::vector<float>> starts) {
  return [starts = std::move(starts)](int k, Span x) { copy(starts[std::size_t(k)], x); };
}

// K independent SGD runs of `steps` steps, worker k on its own oracle (as run_job builds it).
std::vector<std::vector<float>> independent_runs(const JobSpec& j, std::int64_t steps) {
  std::vector<std::vector<float>> xs;
  const optim::Schedule schedule(j.schedule);
  for (int k = 0; k < j.workers; ++k) {
    std::vector<float> x(j.problem->dim()), g(x.size());
    j.problem->initial_point(x);
    auto oracle = j.problem->local(k, j.seed);
    optim::LocalOptimizer opt(j.optimizer, x.size());
    for (std::int64_t t = 0; t < steps; ++t) {
      oracle->grad(x, g);
      opt.step(x, g, float(schedule.at(t)));
    }
    xs.push_back(std::move(x));
  }
  return xs;
}

// Four heterogeneous noisy workers in d = 4.
model::QuadraticProblem noisy_quadratic() {
  return quadratic({{1, -2, 0.5, 3}, {-1, 0, 2, 1}, {2, 1, -1, 0}, {0, 3, 1, -2}}, {1, 2, 0.5, 4},
                   0.5);
}

auto without_time(MetricsRow row) {
  std::erase_if(row.fields, [](const auto& f) { return f.first == "time"; });
  return row.fields;
}

// ---- Synchronous algorithms on every runtime ---------------------------------------------

class SyncRuntimes : public ::testing::TestWithParam<NamedRuntime> {
 protected:
  JobResult run(const JobSpec& j) const { return run_job(j, GetParam().run); }
};

TEST_P(SyncRuntimes, LeaderOfMirrorImageStartsOnTheDoubleWellEndsInAMinimum) {
  // The setup of LocalSgd.MirrorImageStartsOnTheDoubleWellAverageToTheMaximum (exact
  // gradients, starts x0 and -x0) in d = 10: the mirror images keep equal losses, so the
  // leader is rank 0 (lowest rank), which is never pulled and descends into the well at
  // x = (1, ..., 1); EASGD's center is the mean of mirror images, 0, the maximum (f = d).
  model::DoubleWellSpec spec;
  spec.dim = 10;
  spec.workers = 4;
  const model::DoubleWellProblem problem(spec);
  for (const char* algo : {"lsgd", "easgd"}) {
    RowSink sink;
    JobSpec j = job_for(problem, algo, 4, 400, 0.05, &sink);
    j.set("algo.period", 8);
    j.worker_start = [&](int k, Span x) { problem.worker_start(k, x); };
    const JobResult r = run(j);
    const MetricsRow& last = sink.rows.back();
    std::printf("[%s] double well, d = 10, K = 4: F(%s) = %.6g, F(average) = %.6g\n",
                GetParam().name.c_str(), algo, last.number("train_loss"),
                last.number("average_loss"));
    if (std::string(algo) == "lsgd") {
      EXPECT_EQ(std::get<std::string>(*last.find("model")), "leader");
      EXPECT_LT(last.number("train_loss"), 1e-6);
      EXPECT_EQ(last.number("leader"), 0);
      EXPECT_EQ(problem.evaluate(r.final_x[0]).train_loss, last.number("train_loss"));
    } else {
      EXPECT_EQ(std::get<std::string>(*last.find("model")), "center");
    }
  }
}

TEST_P(SyncRuntimes, WithoutPullLeaderAndElasticSgdAreIndependentSgdRunsBitForBit) {
  const auto problem = noisy_quadratic();
  const std::int64_t steps = 60;
  JobSpec lsgd = job_for(problem, "lsgd", 4, steps, 0.1);
  lsgd.set("algo.period", 4);
  lsgd.set("algo.pull", 0);
  lsgd.optimizer.rule = optim::Rule::nesterov;
  const auto expected = independent_runs(lsgd, steps);
  EXPECT_EQ(run(lsgd).final_x, expected);

  JobSpec every_step = lsgd;
  every_step.set("algo.pull_every_step", true);
  EXPECT_EQ(run(every_step).final_x, expected);

  JobSpec groups = lsgd;
  groups.set("algo.group_size", 2);
  groups.set("algo.global_period", 8);
  groups.set("algo.global_pull", 0);
  EXPECT_EQ(run(groups).final_x, expected);

  JobSpec easgd = lsgd;
  easgd.algorithm = "easgd";
  easgd.set("algo.elastic_alpha", 0);
  EXPECT_EQ(run(easgd).final_x, expected);
}

TEST_P(SyncRuntimes, LeaderSgdOnOneWorkerIsMinibatchSgdBitForBit) {
  const auto problem = quadratic({{1, -2, 0.5, 3}}, {1, 2, 0.5, 4}, 0.5);
  JobSpec lsgd = job_for(problem, "lsgd", 1, 50, 0.1);
  lsgd.set("algo.period", 3);
  lsgd.optimizer.rule = optim::Rule::nesterov;
  JobSpec minibatch = lsgd;
  minibatch.algorithm = "minibatch_sgd";
  EXPECT_EQ(run(lsgd).final_x, run(minibatch).final_x);
}

TEST_P(SyncRuntimes, ElasticExchangeFollowsTheFormulas) {
  // F_k = 0.5 ||x - a_k||^2 with a_0 = (1, 2), a_1 = (3, -6); one step of size 1 lands each
  // worker on a_k. Starts (2, 0) and (0, 2): the center starts at their mean (1, 1). The
  // exchange with alpha = 0.25:
  //   x_0 = a_0 - 0.25 (a_0 - (1, 1)) = (1, 1.75),  x_1 = (3, -6) - 0.25 (2, -7) = (2.5, -4.25)
  //   xt = (1, 1) + 0.25 ((0, 1) + (2, -7)) = (1.5, -0.5).
  const auto problem = quadratic({{1, 2}, {3, -6}});
  RowSink sink;
  JobSpec j = job_for(problem, "easgd", 2, 1, 1.0, &sink);
  j.set("algo.elastic_alpha", 0.25);
  j.worker_start = starting_at({{2, 0}, {0, 2}});
  const JobResult r = run(j);
  EXPECT_EQ(r.final_x, (std::vector<std::vector<float>>{{1, 1.75f}, {2.5f, -4.25f}}));
  const std::vector<float> center{1.5f, -0.5f}, average{1.75f, -1.25f};
  EXPECT_EQ(sink.rows.back().number("train_loss"), problem.evaluate(center).train_loss);
  EXPECT_EQ(sink.rows.back().number("average_loss"), problem.evaluate(average).train_loss);
  // Before any step the center is the mean of the starts.
  const std::vector<float> mean_start{1, 1};
  EXPECT_EQ(sink.rows.front().number("train_loss"), problem.evaluate(mean_start).train_loss);
}

TEST_P(SyncRuntimes, TheLeaderIsNeverPulled) {
  // lr = 0: the iterates move by the pull alone. F_k = 0.5 ||x||^2; worker 1 starts closer
  // to 0, so it leads, stays where it is, and worker 0 moves a quarter of the way to it:
  // (3, -1) - 0.25 ((3, -1) - (1, 2)) = (2.5, -0.25).
  const auto problem = quadratic({{0, 0}, {0, 0}});
  RowSink sink;
  JobSpec j = job_for(problem, "lsgd", 2, 1, 0.0, &sink);
  j.set("algo.pull", 0.25);
  j.worker_start = starting_at({{3, -1}, {1, 2}});
  const JobResult r = run(j);
  EXPECT_EQ(r.final_x, (std::vector<std::vector<float>>{{2.5f, -0.25f}, {1, 2}}));
  const MetricsRow& last = sink.rows.back();
  EXPECT_EQ(last.number("leader"), 1);
  EXPECT_EQ(last.number("train_loss"), problem.evaluate(r.final_x[1]).train_loss);
  // At step 0, before any loss, rank 0 is reported.
  EXPECT_EQ(sink.rows.front().number("leader"), 0);
}

TEST_P(SyncRuntimes, PullAtEveryStepGoesTowardTheLastCopyAndSparesTheLeader) {
  // d = 1, F_k = 0.5 x^2, lr 0.5, lambda 0.5, tau 2, starts 1 and 4:
  //   steps 1, 2 (no copy yet): x <- 0.5 x: (0.5, 2), then (0.25, 1); at step 2 the scores
  //   are the mean losses (0.3125, 5): worker 0 leads, copy 0.25.
  //   step 3: worker 0: 0.25 - 0.5 (0.25) = 0.125; worker 1: g = 1 + 0.5 (1 - 0.25) = 1.375,
  //   x = 1 - 0.5 (1.375) = 0.3125.
  const auto problem = quadratic({{0}, {0}});
  JobSpec j = job_for(problem, "lsgd", 2, 3, 0.5);
  j.set("algo.pull", 0.5);
  j.set("algo.period", 2);
  j.set("algo.pull_every_step", true);
  j.worker_start = starting_at({{1}, {4}});
  EXPECT_EQ(run(j).final_x, (std::vector<std::vector<float>>{{0.125f}, {0.3125f}}));
}

TEST_P(SyncRuntimes, GroupAndGlobalLeadersPullByHand) {
  // lr = 0, d = 1, F_k = 0.5 x^2, scores = the last loss (m = 1); groups {0, 1}, {2, 3};
  // lambda = 0.5 every step, lambda_G = 0.25 every 2 steps. Starts (4, 2, 8, 1):
  //   step 1, local leaders 1 and 3: (4 - 0.5 (2), 2, 8 - 0.5 (7), 1) = (3, 2, 4.5, 1);
  //   step 2, local leaders 1 and 3, global leader 3:
  //     3 - 0.5 (3 - 2) - 0.25 (3 - 1) = 2,  2 - 0.25 (2 - 1) = 1.75,
  //     4.5 - 0.5 (3.5) - 0.25 (3.5) = 1.875,  1.
  const auto problem = quadratic({{0}, {0}, {0}, {0}});
  for (const std::int64_t steps : {1, 2}) {
    RowSink sink;
    JobSpec j = job_for(problem, "lsgd", 4, steps, 0.0, &sink);
    j.set("algo.pull", 0.5);
    j.set("algo.global_pull", 0.25);
    j.set("algo.period", 1);
    j.set("algo.group_size", 2);
    j.set("algo.global_period", 2);
    j.set("algo.leader_window", 1);
    j.worker_start = starting_at({{4}, {2}, {8}, {1}});
    const auto x = run(j).final_x;
    if (steps == 1) {
      EXPECT_EQ(x, (std::vector<std::vector<float>>{{3}, {2}, {4.5f}, {1}}));
    } else {
      EXPECT_EQ(x, (std::vector<std::vector<float>>{{2}, {1.75f}, {1.875f}, {1}}));
    }
    // Step 1 has no global exchange: the leader is the best score at the evaluation.
    EXPECT_EQ(sink.rows.back().number("leader"), 3);
    EXPECT_EQ(sink.rows.back().number("leader_switches"), 0);
  }
}

TEST_P(SyncRuntimes, BytesPerRoundShowBroadcastAgainstAllreduce) {
  // P = 4 ranks, d = 10 floats. LSGD: an allgather of one double (3 x 8 bytes per rank) and
  // the leader's broadcast (3 x 40 bytes): 96 + 120 = 216. EASGD: a ring allreduce of 40
  // bytes, 2 (P - 1) / P x 40 = 60 per rank: 240.
  const std::vector<double> a(10, 1.0);
  const auto problem = quadratic({a, a, a, a});
  for (const auto& [algo, bytes] : {std::pair{"lsgd", 216.0}, std::pair{"easgd", 240.0}}) {
    RowSink sink;
    JobSpec j = job_for(problem, algo, 4, 40, 0.1, &sink);
    j.set("algo.period", 4);
    run(j);
    EXPECT_EQ(sink.rows.front().number("bytes_per_round"), 0) << algo;
    EXPECT_EQ(sink.rows.back().number("bytes_per_round"), bytes) << algo;
    EXPECT_EQ(sink.rows.back().number("rounds"), 10) << algo;
    EXPECT_EQ(sink.rows.back().number("bytes"), 10 * bytes) << algo;
  }
}

TEST_P(SyncRuntimes, InvalidSettingsThrowInvalidInput) {
  const auto problem = quadratic({{0}, {0}, {0}, {0}});
  auto job = [&](const char* algo, auto&& change) {
    JobSpec j = job_for(problem, algo, 4, 4, 0.1);
    change(j);
    return j;
  };
  auto throws = [&](const JobSpec& j) { EXPECT_THROW(run(j), InvalidInput); };
  for (const char* algo : {"lsgd", "async_lsgd"}) {
    throws(job(algo, [](JobSpec& s) { s.set("algo.pull", 1); }));
    throws(job(algo, [](JobSpec& s) { s.set("algo.pull", -0.1); }));
    throws(job(algo, [](JobSpec& s) { s.set("algo.leader_window", 0); }));
    throws(job(algo, [](JobSpec& s) { s.set("algo.period", 0); }));
  }
  throws(job("lsgd", [](JobSpec& s) { s.set("algo.group_size", 3); }));
  throws(job("lsgd", [](JobSpec& s) {
    s.set("algo.group_size", 2).set("algo.period", 4).set("algo.global_period", 6);
  }));
  throws(job("lsgd", [](JobSpec& s) { s.set("algo.group_size", 2).set("algo.global_pull", 1); }));
  throws(job("async_lsgd", [](JobSpec& s) { s.set("algo.group_size", 2); }));
  for (const char* algo : {"easgd", "eamsgd", "async_easgd"}) {
    throws(job(algo, [](JobSpec& s) { s.set("algo.elastic_alpha", 1); }));
    throws(job(algo, [](JobSpec& s) { s.set("algo.period", 0); }));
  }
  throws(job("eamsgd", [](JobSpec&) {}));  // the default optimizer is plain SGD
  JobSpec heavy_ball = job("eamsgd", [](JobSpec&) {});
  heavy_ball.optimizer.rule = optim::Rule::momentum;  // momentum, but not Nesterov's
  throws(heavy_ball);
  JobSpec with_momentum = job("eamsgd", [](JobSpec&) {});
  with_momentum.optimizer.rule = optim::Rule::nesterov;
  EXPECT_NO_THROW(run(with_momentum));
}

// Synchronous algorithms compute the same bits whatever the runtime and its timing.
TEST(SyncLeaderAndElastic, SimAndThreadsGiveBitIdenticalParameters) {
  const auto problem = noisy_quadratic();
  for (const char* algo : {"easgd", "eamsgd", "lsgd"}) {
    for (const bool groups : {false, true}) {
      if (groups && std::string(algo) != "lsgd") continue;
      JobSpec j = job_for(problem, algo, 4, 60, 0.1);
      j.set("algo.period", 3);
      j.set("algo.group_size", groups ? 2 : 0);
      j.set("algo.global_period", 6);
      j.optimizer.rule = optim::Rule::nesterov;
      const JobResult on_threads = run_job(j, comm::run_threads);
      const JobResult on_sim = run_job(j, heterogeneous_sim());
      EXPECT_EQ(on_threads.final_x, on_sim.final_x) << algo << (groups ? " with groups" : "");
      EXPECT_EQ(without_time(on_threads.last), without_time(on_sim.last)) << algo;
    }
  }
}

// Multi-leader LSGD with its groups on the nodes of a hierarchical network: the local
// rounds run on the fast intra-node link alone, and only the global rounds cross the slow
// inter-node link. No compute time, so the reported time is the communication alone.
TEST(SyncLeaderAndElastic, LocalLeadersTalkInsideTheirNodeAndOnlyGlobalRoundsCrossNodes) {
  const auto problem = noisy_quadratic();  // d = 4: n = 16 bytes of parameters
  constexpr double a = 1e-3, b = 1e4;      // inter-node: 16 bytes take 1.6 ms
  constexpr double ai = 1e-6, bi = 1e8;    // intra-node
  auto run_on = [&](bool nodes) {
    comm::SimSpec spec;
    spec.network.latency = a;
    spec.network.bandwidth = b;
    if (nodes) {
      spec.network.intra = {ai, bi};
      spec.network.node = {0, 0, 1, 1};  // cluster.node_size = algo.group_size = 2
    }
    RowSink sink;
    JobSpec j = job_for(problem, "lsgd", 4, 12, 0.1, &sink);
    j.set("algo.period", 2).set("algo.group_size", 2).set("algo.global_period", 4);
    const JobResult r =
        run_job(j, [spec](int ranks, const std::function<void(comm::Communicator&)>& program) {
          comm::run_sim(spec, ranks, program);
        });
    EXPECT_EQ(sink.rows.back().number("step"), 12);
    return std::pair{r, sink.rows.back()};
  };
  const auto [on_nodes, nodes_row] = run_on(true);
  const auto [flat, flat_row] = run_on(false);

  // A round: an allgather of one 8-byte score, then the leader's broadcast of n = 16 bytes.
  // In a group of 2 on one node (binomial tree, one step): (ai + 8/bi) + (ai + 16/bi).
  // Globally, P = 4 across nodes: 3 (a + 8/b) + 2 (a + 16/b) (the tree is the cheaper).
  const double local = (ai + 8 / bi) + (ai + 16 / bi);
  const double local_flat = (a + 8 / b) + (a + 16 / b);
  const double global = 3 * (a + 8 / b) + 2 * (a + 16 / b);
  // Six local rounds (every 2 steps) and three global ones (every 4) in 12 steps.
  EXPECT_NEAR(nodes_row.number("time"), 6 * local + 3 * global, 1e-12 * (6 * local + 3 * global));
  EXPECT_NEAR(flat_row.number("time"), 6 * local_flat + 3 * global,
              1e-12 * (6 * local_flat + 3 * global));
  EXPECT_LT(nodes_row.number("time"), flat_row.number("time"));
  // The network changes times, not what is computed or counted.
  EXPECT_EQ(on_nodes.final_x, flat.final_x);
  EXPECT_EQ(without_time(nodes_row), without_time(flat_row));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, SyncRuntimes,
                         ::testing::Values(NamedRuntime{"threads", comm::run_threads},
                                           NamedRuntime{"sim", heterogeneous_sim()}),
                         [](const ::testing::TestParamInfo<NamedRuntime>& param) {
                           return param.param.name;
                         });

// ---- Asynchronous forms on the simulator -------------------------------------------------

// Rank 0 is the server; the workers take 1, 2, 3, 4 seconds per gradient, and every message
// takes 0.3 s, so calls reach workers some steps late.
Runtime async_sim() {
  comm::SimSpec spec;
  spec.compute.tau = {1, 1, 2, 3, 4};
  spec.network.latency = 0.3;
  return [spec](int ranks, const std::function<void(comm::Communicator&)>& program) {
    comm::run_sim(spec, ranks, program);
  };
}

double distance(const std::vector<float>& x, const Eigen::VectorXd& x_star) {
  double d2 = 0;
  for (std::size_t i = 0; i < x.size(); ++i) d2 += std::pow(x[i] - x_star[Eigen::Index(i)], 2);
  return std::sqrt(d2);
}

// Every F_k = 0.5 (x - a)' diag(1, 2, 4) (x - a), exact gradients, different starts.
const std::vector<double> common_center{1, -2, 3};
const std::vector<std::vector<float>> async_starts{{0, 0, 0}, {5, 5, 5}, {-4, 2, 0}, {2, -6, 1}};

struct AsyncCase {
  const char* algo;
  bool every_step;
};
constexpr AsyncCase async_cases[] = {
    {"async_easgd", false}, {"async_lsgd", false}, {"async_lsgd", true}};

JobSpec async_job(const model::Problem& problem, const AsyncCase& k, RowSink* sink) {
  JobSpec j = job_for(problem, k.algo, 4, 300, 0.1, sink);
  j.set("algo.period", 4);
  j.set("algo.pull_every_step", k.every_step);
  j.worker_start = starting_at(async_starts);
  return j;
}

// Convergence depends on the schedule: the stop comes when the workers' mean local steps
// reach 300, whoever took them, and the last exchanges may come from a worker that took few
// steps (a thread the OS left waiting): its x, still far from x*, moves the center by
// alpha (x_k - center). So it is asserted on the simulator, whose schedules are exact: the
// heterogeneous cluster of async_sim() and one with a worker 4 times slower than the others
// (AsyncEasgdEndsWhereTheScheduleLeavesIt: with one 16 times slower, EASGD ends farther).
TEST(AsyncLeaderAndElastic, ConvergeOnAStronglyConvexQuadratic) {
  const auto problem =
      quadratic({common_center, common_center, common_center, common_center}, {1, 2, 4});
  comm::SimSpec straggler;
  straggler.compute.tau = {1, 1, 1, 1, 4};
  const Runtime with_straggler = [straggler](int ranks, const auto& program) {
    comm::run_sim(straggler, ranks, program);
  };
  for (const auto& [runtime, on] :
       {std::pair{async_sim(), "heterogeneous"}, {with_straggler, "one straggler"}})
    for (const AsyncCase& k : async_cases) {
      const JobResult r = run_job(async_job(problem, k, nullptr), runtime);
      const double error = distance(r.final_x[0], problem.minimizer());
      std::printf("[sim, %s] %s%s: ||x - x*|| = %.3g after %g steps per worker, %g rounds\n", on,
                  k.algo, k.every_step ? " (pull every step)" : "", error, r.last.number("step"),
                  r.last.number("rounds"));
      EXPECT_LT(error, 1e-4) << k.algo << " on " << on;
      EXPECT_EQ(r.last.number("step"), 300) << k.algo;
      EXPECT_GT(r.last.number("bytes_per_round"), 0) << k.algo;
    }
}

// Why the threads runtime cannot assert convergence: the same 300 steps with worker 3 taking
// 16 times as long per gradient leave EASGD's center about 1e-3 from x*, since the
// straggler's few late exchanges pull it toward the straggler's x. Threads under load meet
// such schedules: with busy loops on the cores, 14 of 150 runs of the former threads case
// ended 1e-4 to 4e-2 away. Leader SGD, judged by the leader, ignores the straggler here.
TEST(AsyncLeaderAndElastic, AsyncEasgdEndsWhereTheScheduleLeavesIt) {
  const auto problem =
      quadratic({common_center, common_center, common_center, common_center}, {1, 2, 4});
  comm::SimSpec straggler;
  straggler.compute.tau = {1, 1, 1, 1, 16};
  const Runtime with_straggler = [straggler](int ranks, const auto& program) {
    comm::run_sim(straggler, ranks, program);
  };
  const JobResult easgd = run_job(async_job(problem, async_cases[0], nullptr), with_straggler);
  const double error = distance(easgd.final_x[0], problem.minimizer());
  std::printf("[sim, a 16 times slower worker] async_easgd: ||x - x*|| = %.3g\n", error);
  EXPECT_GT(error, 1e-4);
  EXPECT_EQ(easgd.last.number("step"), 300);
  const JobResult lsgd = run_job(async_job(problem, async_cases[1], nullptr), with_straggler);
  EXPECT_LT(distance(lsgd.final_x[0], problem.minimizer()), 1e-4);
}

// On threads the protocol meets real races (the stop crossing reports and exchanges in
// flight), under a schedule nobody chooses. Asserted here is only what every interleaving
// of the threads gives:
//   - the run ends, at exactly 300 mean steps: a message raises the sum of the workers'
//     counts by at most K = 4 (a Leader SGD report or exchange by at most one step, an
//     EASGD exchange by period = 4 steps), so the mean, that sum over K, passes through 300
//     and the server stops there;
//   - asynchronous EASGD's counters are those of any schedule: 300 exchanges (each one mean
//     step, as period = K), each of the same bytes, so its bytes per round equal the
//     simulator's;
//   - the server's x stays in the box spanned by the starts and x*, coordinate by
//     coordinate: a gradient step (lr h < 1) and an exchange or a pull (alpha, lambda in
//     [0, 1)) each move x to a convex combination of points in that box.
// How close to x* the run ends depends on the schedule (above): it is the simulator's test.
TEST(AsyncLeaderAndElastic, OnThreadsTheProtocolHoldsWhateverTheSchedule) {
  const auto problem =
      quadratic({common_center, common_center, common_center, common_center}, {1, 2, 4});
  for (const AsyncCase& k : async_cases) {
    RowSink sink;
    const JobResult r = run_job(async_job(problem, k, &sink), comm::run_threads);
    std::printf("[threads] %s%s: ||x - x*|| = %.3g after %g steps per worker, %g rounds\n", k.algo,
                k.every_step ? " (pull every step)" : "",
                distance(r.final_x[0], problem.minimizer()), r.last.number("step"),
                r.last.number("rounds"));
    EXPECT_EQ(r.last.number("step"), 300) << k.algo;
    EXPECT_EQ(sink.rows.back().number("step"), 300) << k.algo;
    EXPECT_GT(r.last.number("rounds"), 0) << k.algo;
    EXPECT_GT(r.last.number("bytes_per_round"), 0) << k.algo;
    if (std::string(k.algo) == "async_easgd") {
      const JobResult on_sim = run_job(async_job(problem, k, nullptr), async_sim());
      EXPECT_EQ(r.last.number("rounds"), 300);
      EXPECT_EQ(r.last.number("bytes_per_round"), on_sim.last.number("bytes_per_round"));
    }
    for (std::size_t i = 0; i < 3; ++i) {
      double lo = common_center[i], hi = common_center[i];
      for (const auto& s : async_starts)
        lo = std::min(lo, double(s[i])), hi = std::max(hi, double(s[i]));
      const double slack = 1e-5 * (hi - lo);  // float rounding of the combinations
      EXPECT_GE(r.final_x[0][i], lo - slack) << k.algo << ", x_" << i;
      EXPECT_LE(r.final_x[0][i], hi + slack) << k.algo << ", x_" << i;
    }
  }
}

TEST(AsyncLeaderAndElastic, TheAsyncLeaderIsAWorkersIterate) {
  // lr = 0: only pulls move the workers. Starts on one ray, s_k (1, -2, 3) with F_k =
  // 0.5 ||x||^2, so pulled workers stay farther out than the leader, worker 2 (s = 0.5):
  // the server's copy is its x exactly, and every other worker lies between its start and
  // the leader.
  const auto problem = quadratic({{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}});
  const std::vector<float> scales{2, 3, 0.5f, 1.5f};
  std::vector<std::vector<float>> starts;
  for (const float s : scales) starts.push_back({s, -2 * s, 3 * s});
  RowSink sink;
  JobSpec j = job_for(problem, "async_lsgd", 4, 40, 0.0, &sink);
  j.set("algo.period", 2);
  j.worker_start = starting_at(starts);
  const JobResult r = run_job(j, async_sim());
  EXPECT_EQ(r.last.number("leader"), 2);
  EXPECT_EQ(r.final_x[0], starts[2]);
  EXPECT_EQ(r.final_x[3], starts[2]);
  for (const std::size_t k : {0u, 1u, 3u}) {
    const float moved = (r.final_x[k + 1][0] - 0.5f) / (scales[k] - 0.5f);
    EXPECT_GT(moved, 0.0f) << "worker " << k;
    EXPECT_LT(moved, 1.0f) << "worker " << k << " was never pulled";
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_NEAR(r.final_x[k + 1][i], starts[2][i] + moved * (starts[k][i] - starts[2][i]), 1e-5);
  }
  // The row's model is the server's copy.
  EXPECT_EQ(r.last.number("train_loss"), problem.evaluate(starts[2]).train_loss);
}

TEST(Registry, ElasticAndLeaderAlgorithmsAreRegistered) {
  const auto& names = algorithm_names();
  const auto lsgd = std::find(names.begin(), names.end(), "lsgd");
  ASSERT_NE(lsgd, names.end());
  ASSERT_LT(lsgd + 2, names.end());
  EXPECT_EQ(*(lsgd + 1), "async_easgd");
  EXPECT_EQ(*(lsgd + 2), "async_lsgd");
  for (const char* name : {"easgd", "eamsgd", "lsgd", "async_easgd", "async_lsgd"}) {
    EXPECT_TRUE(is_implemented(name)) << name;
    EXPECT_EQ(algorithm_or_throw(name).needs_server, std::string(name).starts_with("async"))
        << name;
  }
}

}  // namespace
}  // namespace herd::algo
