// The synchronous family against mathematics: the noise ball of constant-step SGD, exact
// reductions between algorithms, determinism, and Local SGD's communication saving on a9a.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "herd/algo/job.hpp"
#include "herd/comm/sim.hpp"
#include "herd/comm/threads.hpp"
#include "herd/data/libsvm.hpp"
#include "herd/data/partition.hpp"
#include "herd/data/synthetic.hpp"
#include "herd/model/double_well.hpp"
#include "herd/model/factory.hpp"
#include "job_helpers.hpp"

namespace herd::algo {
namespace {

std::unique_ptr<model::Problem> logistic_problem(int workers, std::size_t batch,
                                                 std::shared_ptr<const data::Dataset> train) {
  Rng rng(5, streams::partition);
  model::DataProblemSpec spec;
  spec.train = train;
  spec.shards = data::partition(*train, workers, {}, rng);
  spec.model = model::ModelKind::logistic;
  spec.lambda = 1.0 / double(train->rows);
  spec.batch = batch;
  return model::make_data_problem(std::move(spec));
}

std::shared_ptr<const data::Dataset> synthetic_logistic(std::size_t rows = 2000) {
  data::SyntheticSpec s;
  s.rows = rows;
  s.cols = 20;
  s.noise = 0.05;
  s.seed = 3;
  return std::make_shared<data::Dataset>(data::make_synthetic(s));
}

TEST(MinibatchSgd, ConstantStepSettlesInThePredictedNoiseBall) {
  // F_k(x) = 0.5 ||x - a_k||^2, gradient noise sigma / sqrt(b) per coordinate. The averaged
  // gradient has noise variance s^2 = sigma^2 / (b K) per coordinate, and
  // e_{t+1} = (1 - eta) e_t - eta xi_t has the stationary E||e||^2 = d eta s^2 / (2 - eta),
  // i.e. E[F(x) - F*] = 0.5 d eta s^2 / (2 - eta).
  const int K = 4, d = 10;
  const std::size_t b = 2;
  const double sigma = 1.0, eta = 0.2;
  std::vector<Eigen::VectorXd> diag, centers;
  for (int k = 0; k < K; ++k) {
    diag.push_back(Eigen::VectorXd::Ones(d));
    centers.push_back(Eigen::VectorXd::LinSpaced(d, -1.0 - k, 1.0 + k));
  }
  const auto problem = model::QuadraticProblem::diagonal(diag, centers, sigma, b);
  RowSink sink;
  JobSpec j = job_for(problem, "minibatch_sgd", K, 12000, eta, &sink);
  j.monitor.eval_every = 1;
  run_job(j, comm::run_threads);
  double sum = 0;
  int n = 0;
  for (const auto& row : sink.rows)
    if (row.number("step") >= 1000) sum += row.number("suboptimality"), ++n;
  const double s2 = sigma * sigma / double(b * K);
  const double predicted = 0.5 * d * eta * s2 / (2 - eta);
  EXPECT_NEAR(sum / n, predicted, 0.05 * predicted);
}

TEST(LocalSgd, WeightedAverageUsesTheExplicitStichShift) {
  // F(x) = 0.5 (x - 1)^2 from x_0 = 0, exact gradients, K = 1, H = 4, Stich's schedule with
  // mu = L = 1 and optim.stich_shift a = 2 (below H, which the automatic shift could not be):
  // eta_t = 4 / (2 + t) = 2, 4/3, 1, ... gives errors e_t = x_t - 1 of -1, 1, -1/3, 0, 0, and
  // the weighted average sum_t (a + t)^2 x_t / sum_t (a + t)^2 over t = 0..4 has the error
  // (-4 + 9 - 16/3) / 90 = -1/270.
  const auto problem = model::QuadraticProblem::diagonal({Eigen::VectorXd::Ones(1)},
                                                         {Eigen::VectorXd::Ones(1)}, 0.0, 1);
  RowSink sink;
  JobSpec j = job_for(problem, "local_sgd", 1, 4, 1.0, &sink);
  j.set("algo.period", 4);
  j.monitor.eval_every = 4;
  j.schedule.kind = optim::ScheduleKind::stich;
  j.schedule.mu = j.schedule.L = 1.0;
  j.schedule.period = 4;
  j.schedule.shift = 2.0;
  run_job(j, comm::run_threads);
  ASSERT_EQ(sink.rows.size(), 2u);
  const double e = -1.0 / 270.0;
  EXPECT_NEAR(sink.rows[1].number("train_loss"), 0.0, 1e-12);
  EXPECT_NEAR(sink.rows[1].number("weighted_average_loss"), 0.5 * e * e, 1e-9);
  // The automatic shift, max(16 kappa, H) = 16, weighs the same iterates differently.
  j.schedule.shift = 0.0;
  sink.rows.clear();
  run_job(j, comm::run_threads);
  ASSERT_EQ(sink.rows.size(), 2u);
  EXPECT_GT(std::abs(sink.rows[1].number("weighted_average_loss") - 0.5 * e * e), 1e-6);
}

TEST(LocalSgd, OneWorkerEqualsSequentialSgdBitForBit) {
  const auto train = synthetic_logistic();
  const auto problem = logistic_problem(1, 8, train);
  JobSpec j = job_for(*problem, "local_sgd", 1, 300, 0.5);
  j.set("algo.period", 4);
  j.optimizer.rule = optim::Rule::nesterov;
  const JobResult r = run_job(j, comm::run_threads);

  std::vector<float> x(problem->dim()), g(problem->dim());
  problem->initial_point(x);
  auto oracle = problem->local(0, j.seed);
  optim::LocalOptimizer opt(j.optimizer, x.size());
  const optim::Schedule schedule(j.schedule);
  for (std::int64_t t = 0; t < 300; ++t) {
    oracle->grad(x, g);
    opt.step(x, g, float(schedule.at(t)));
  }
  EXPECT_EQ(r.final_x[0], x);
}

class SyncWorlds : public ::testing::TestWithParam<int> {};

TEST_P(SyncWorlds, LocalSgdWithPeriodOneMatchesMinibatchSgd) {
  // Averaging parameters after one plain SGD step is averaging gradients, up to the order
  // of floating-point operations.
  const int K = GetParam();
  const auto train = synthetic_logistic();
  const auto problem = logistic_problem(K, 8, train);
  RowSink local_rows, minibatch_rows;
  JobSpec local = job_for(*problem, "local_sgd", K, 400, 0.5, &local_rows);
  local.set("algo.period", 1);
  const JobResult a = run_job(local, comm::run_threads);
  const JobResult b =
      run_job(job_for(*problem, "minibatch_sgd", K, 400, 0.5, &minibatch_rows), comm::run_threads);
  ASSERT_EQ(local_rows.rows.size(), minibatch_rows.rows.size());
  for (std::size_t i = 0; i < local_rows.rows.size(); ++i) {
    const double la = local_rows.rows[i].number("train_loss");
    const double lb = minibatch_rows.rows[i].number("train_loss");
    EXPECT_LT(std::abs(la - lb) / lb, 1e-5) << "evaluation " << i;
  }
  for (int k = 0; k < K; ++k) {
    double diff = 0, norm = 0;
    for (std::size_t j = 0; j < a.final_x[0].size(); ++j) {
      diff += std::pow(a.final_x[std::size_t(k)][j] - b.final_x[std::size_t(k)][j], 2);
      norm += std::pow(b.final_x[std::size_t(k)][j], 2);
    }
    EXPECT_LT(std::sqrt(diff / norm), 1e-5);
  }
  // Minibatch SGD keeps every rank on the same point.
  for (int k = 1; k < K; ++k) EXPECT_EQ(b.final_x[std::size_t(k)], b.final_x[0]);
}

TEST_P(SyncWorlds, SameSeedSameMetricsDifferentSeedDifferentMetrics) {
  const int K = GetParam();
  const auto train = synthetic_logistic();
  const auto problem = logistic_problem(K, 4, train);
  auto run = [&](std::uint64_t seed) {
    RowSink sink;
    JobSpec j = job_for(*problem, "local_sgd", K, 200, 0.5, &sink);
    j.set("algo.period", 5);
    j.seed = seed;
    run_job(j, comm::run_threads);
    for (auto& row : sink.rows)  // wall-clock time aside
      std::erase_if(row.fields, [](const auto& f) { return f.first == "time"; });
    return sink.rows;
  };
  const auto a = run(1), b = run(1), c = run(2);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].fields, b[i].fields);
  EXPECT_NE(a.back().number("train_loss"), c.back().number("train_loss"));
}

TEST_P(SyncWorlds, HierarchyOfOneGroupAndFullPostLocalPhaseReduceExactly) {
  const int K = GetParam();
  const auto train = synthetic_logistic();
  const auto problem = logistic_problem(K, 4, train);
  JobSpec flat = job_for(*problem, "local_sgd", K, 120, 0.5);
  flat.set("algo.period", 6);
  JobSpec grouped = flat;  // one group of K: group rounds are global rounds
  grouped.set("algo.group_size", K);
  grouped.set("algo.global_period", 12);
  EXPECT_EQ(run_job(flat, comm::run_threads).final_x, run_job(grouped, comm::run_threads).final_x);

  JobSpec warm = flat;  // post-local phase over the whole run: minibatch SGD itself
  warm.set("algo.post_local_steps", 120);
  EXPECT_EQ(run_job(warm, comm::run_threads).final_x,
            run_job(job_for(*problem, "minibatch_sgd", K, 120, 0.5), comm::run_threads).final_x);

  JobSpec outer = flat;  // outer SGD with lr 1 and no momentum takes the average itself
  outer.set("algo.outer_optimizer", "nesterov");
  outer.set("algo.outer_lr", 1.0f);
  outer.set("algo.outer_momentum", 0.0f);
  const auto a = run_job(flat, comm::run_threads).final_x;
  const auto o = run_job(outer, comm::run_threads).final_x;
  for (std::size_t j = 0; j < a[0].size(); ++j) EXPECT_NEAR(a[0][j], o[0][j], 1e-5);
}

TEST_P(SyncWorlds, HierarchicalAveragingKeepsGroupsApartBetweenGlobalRounds) {
  const int K = GetParam();
  if (K % 2 != 0 || K < 4) GTEST_SKIP() << "needs two groups of at least two";
  const auto train = synthetic_logistic();
  const auto problem = logistic_problem(K, 4, train);
  JobSpec j = job_for(*problem, "local_sgd", K, 12, 0.5);
  j.set("algo.period", 4);
  j.set("algo.group_size", K / 2);
  j.set("algo.global_period", 8);
  const auto x = run_job(j, comm::run_threads).final_x;  // 12 = group round, not global
  for (int k = 1; k < K; ++k) {
    const bool same_group = k < K / 2;
    EXPECT_EQ(x[std::size_t(k)] == x[0], same_group) << "rank " << k;
  }
}

TEST_P(SyncWorlds, SimAndThreadsGiveBitIdenticalParameters) {
  const int K = GetParam();
  const auto train = synthetic_logistic();
  const auto problem = logistic_problem(K, 4, train);
  comm::SimSpec heterogeneous;  // virtual time must not change a synchronous trajectory
  for (int k = 0; k < K; ++k) heterogeneous.compute.tau.push_back(1.0 + k);
  heterogeneous.compute.reference_batch = 4;  // tau_k per minibatch of 4
  const Runtime sim = [&](int ranks, const std::function<void(comm::Communicator&)>& f) {
    comm::run_sim(heterogeneous, ranks, f);
  };
  for (const char* algo : {"minibatch_sgd", "local_sgd"}) {
    JobSpec j = job_for(*problem, algo, K, 60, 0.5);
    j.set("algo.period", 4);
    j.optimizer.rule = optim::Rule::nesterov;
    const JobResult on_threads = run_job(j, comm::run_threads);
    const JobResult on_sim = run_job(j, sim);
    EXPECT_EQ(on_threads.final_x, on_sim.final_x) << algo;
    auto strip_time = [](MetricsRow row) {
      std::erase_if(row.fields, [](const auto& f) { return f.first == "time"; });
      return row.fields;
    };
    EXPECT_EQ(strip_time(on_threads.last), strip_time(on_sim.last)) << algo;
    EXPECT_DOUBLE_EQ(on_sim.last.number("time"), 60.0 * K) << algo;  // tau_max per step
  }
}

TEST(LocalSgd, MirrorImageStartsOnTheDoubleWellAverageToTheMaximum) {
  // f(x) = sum_j (x_j^2 - 1)^2 has an odd gradient: workers started at x0 and -x0 with exact
  // gradients stay mirror images, so their average is 0 at every step, the local maximum
  // between the wells, where f = d (the Leader SGD paper's claim 2). Averaged every H steps,
  // the workers are pulled back to it too: everyone ends on the maximum, a stationary point.
  model::DoubleWellSpec spec;
  spec.dim = 5;
  spec.workers = 4;
  const model::DoubleWellProblem problem(spec);
  RowSink sink;
  JobSpec j = job_for(problem, "local_sgd", 4, 400, 0.05, &sink);
  j.set("algo.period", 8);
  j.worker_start = [&](int k, Span x) { problem.worker_start(k, x); };
  const JobResult r = run_job(j, comm::run_threads);
  for (const MetricsRow& row : sink.rows) EXPECT_EQ(row.number("train_loss"), 5.0);
  std::vector<double> xd(5), g(5);
  for (const auto& x : r.final_x) {
    for (std::size_t i = 0; i < 5; ++i) xd[i] = x[i];
    EXPECT_EQ(model::DoubleWellProblem::value_grad(xd, g), 5.0);
  }
}

INSTANTIATE_TEST_SUITE_P(WorldSizes, SyncWorlds, ::testing::Values(1, 2, 3, 5, 8));

TEST(LocalSgd, OnA9aReachesTheTargetWithAtMostASixthOfTheRounds) {
  const std::string path = std::string(HERD_DATA_DIR) + "/libsvm/a9a";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found (set HERD_DATA_DIR)";
  const auto train = std::make_shared<data::Dataset>(data::read_libsvm(path));
  const int K = 8;
  const auto problem = logistic_problem(K, 64, train);
  auto rounds_to_target = [&](const std::string& algo) {
    JobSpec j = job_for(*problem, algo, K, 10000, 0.5);
    j.set("algo.period", 8);
    j.monitor.stop.targets = {{parse_target("suboptimality<=1e-3", "test"), "target"}};
    j.monitor.eval_every = 8;
    const JobResult r = run_job(j, comm::run_threads);
    EXPECT_EQ(r.stop_reason, "target") << algo;
    return std::pair{r.last.number("rounds"), r.last.number("grads")};
  };
  const auto [local_rounds, local_grads] = rounds_to_target("local_sgd");
  const auto [mb_rounds, mb_grads] = rounds_to_target("minibatch_sgd");
  RecordProperty("local_rounds", std::to_string(local_rounds));
  RecordProperty("minibatch_rounds", std::to_string(mb_rounds));
  std::printf(
      "a9a, K = 8, H = 8, b = 64, lr = 0.5: Local SGD %g rounds / %g grads, minibatch SGD %g "
      "rounds / %g grads to suboptimality 1e-3\n",
      local_rounds, local_grads, mb_rounds, mb_grads);
  EXPECT_LE(local_rounds, mb_rounds / 6.0);
}

// FedProx with mu = 0 adds 0 (x - x_r) to every gradient: Local SGD, bit for bit.
TEST(FedProx, WithoutTheProximalTermIsLocalSgdBitForBit) {
  const auto problem = logistic_problem(4, 8, synthetic_logistic());
  for (const auto& runtime : {Runtime(comm::run_threads),
                              Runtime([](int r, const auto&f) { comm::run_sim({}, r, f); })}) {
    JobSpec local = job_for(*problem, "local_sgd", 4, 200, 0.5);
    local.set("algo.period", 5);
    JobSpec prox = local;
    prox.algorithm = "fedprox";
    prox.set("algo.proximal_mu", 0.0);
    EXPECT_EQ(run_job(prox, runtime).final_x, run_job(local, runtime).final_x);
  }
}

// On F_k(x) = 0.5 ||x - a_k||^2 with exact gradients, a FedProx round from the average x
// takes worker k toward z_k = (a_k + mu x) / (1 + mu) at the rate rho = 1 - eta (1 + mu) per
// step, so after H steps and the average the error to x* = mean a_k shrinks by exactly
//   c = rho^H + (1 - rho^H) mu / (1 + mu)
// per round (mu = 0: Local SGD's (1 - eta)^H). The proximal term slows the local progress
// by the factor the paper trades for a bounded client drift.
TEST(FedProx, ContractsAtTheClosedFormRatePerRoundOnQuadratics) {
  const int K = 4, d = 3, H = 4, rounds = 6;
  const double eta = 0.1;
  std::vector<Eigen::VectorXd> diag, centers;
  for (int k = 0; k < K; ++k) {
    diag.push_back(Eigen::VectorXd::Ones(d));
    centers.push_back(Eigen::VectorXd::LinSpaced(d, -2.0 + k, 3.0 - 2 * k));
  }
  const auto problem =
      model::QuadraticProblem::diagonal(diag, centers, 0.0, 1, Eigen::VectorXd::Constant(d, 5.0));
  const Eigen::VectorXd x_star = problem.minimizer();
  for (const double mu : {0.0, 0.5, 2.0}) {
    JobSpec j = job_for(problem, "fedprox", K, std::int64_t(H) * rounds, eta);
    j.set("algo.period", H);
    j.set("algo.proximal_mu", mu);
    const JobResult r = run_job(j, comm::run_threads);
    const double rho = 1 - eta * (1 + mu);
    const double c = std::pow(rho, H) + (1 - std::pow(rho, H)) * mu / (1 + mu);
    double start = 0, end = 0;
    for (int i = 0; i < d; ++i) {
      start += (5.0 - x_star[i]) * (5.0 - x_star[i]);
      end +=
          (r.final_x[0][std::size_t(i)] - x_star[i]) * (r.final_x[0][std::size_t(i)] - x_star[i]);
    }
    EXPECT_NEAR(std::sqrt(end / start), std::pow(c, rounds), 1e-5) << "mu = " << mu;
  }
}

}  // namespace
}  // namespace herd::algo
