// The fixed points of asynchronous SGD under heterogeneous data and compute (the Rescaled
// ASGD paper, Mahran, Maranjyan, Richtarik 2026): K = 8 workers, F_i(x) = 0.5 ||x - a_i||^2 with
// a_i and distinct tau_i drawn from the seed, on the simulator (exact compute times). The gradients
// are exact, so instead of averaging the iterate over the tail of the run a small step keeps the
// periodic, delay-induced oscillation around the fixed point at O(lr).
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <functional>

#include "herd/algo/job.hpp"
#include "herd/comm/sim.hpp"
#include "herd/core/rng.hpp"
#include "herd/model/quadratic.hpp"

namespace herd::algo {
namespace {

struct Instance {
  std::vector<Eigen::VectorXd> a;  // optima of the F_i
  std::vector<double> tau;         // seconds per gradient
  std::vector<double> tau_after;   // from change_at on (empty: never)
  double change_at = 0;
};

Instance draw(std::uint64_t seed, int K, int d) {
  Rng rng(seed, streams::problem);
  Instance in;
  for (int i = 0; i < K; ++i) {
    Eigen::VectorXd a(d);
    for (int j = 0; j < d; ++j) a[j] = 3.0 * rng.normal();
    in.a.push_back(a);
    in.tau.push_back(1.0 + 9.0 * rng.uniform());  // distinct with probability one
  }
  return in;
}

// sum_i w_i a_i / sum_i w_i.
Eigen::VectorXd weighted_mean(const Instance& in, const std::function<double(std::size_t)>& w) {
  Eigen::VectorXd num = Eigen::VectorXd::Zero(in.a[0].size());
  double den = 0;
  for (std::size_t i = 0; i < in.a.size(); ++i) {
    num += w(i) * in.a[i];
    den += w(i);
  }
  return num / den;
}
Eigen::VectorXd weighted_mean(const Instance& in, bool by_rate) {
  return weighted_mean(in, [&](std::size_t i) { return by_rate ? 1.0 / in.tau[i] : 1.0; });
}

// Final server point of `algo` on the instance.
Eigen::VectorXd run(const Instance& in, const std::string& algo, bool estimate_tau) {
  const int K = int(in.a.size());
  std::vector<Eigen::VectorXd> diag(in.a.size(), Eigen::VectorXd::Ones(in.a[0].size()));
  const auto problem = model::QuadraticProblem::diagonal(diag, in.a, 0.0, 1);
  JobSpec j;
  j.problem = &problem;
  j.algorithm = algo;
  j.workers = K;
  j.schedule.lr = 5e-4;  // small: the delay-induced oscillation is O(lr)
  j.worker_tau = in.tau;
  j.set("algo.rescale_tau", estimate_tau ? "estimated" : "known");
  j.monitor.problem = &problem;
  j.monitor.stop.max_steps = 40000;
  j.monitor.eval_every = 40000;
  comm::SimSpec spec;
  spec.compute.tau = {0.0};  // the server
  spec.compute.tau.insert(spec.compute.tau.end(), in.tau.begin(), in.tau.end());
  if (!in.tau_after.empty()) {
    spec.compute.tau_after = {0.0};
    spec.compute.tau_after.insert(spec.compute.tau_after.end(), in.tau_after.begin(),
                                  in.tau_after.end());
    spec.compute.change_at = in.change_at;
  }
  const JobResult r = run_job(j, [&](int ranks, const std::function<void(comm::Communicator&)>& f) {
    comm::run_sim(spec, ranks, f);
  });
  const std::vector<float>& x = r.final_x[0];  // the server's point
  Eigen::VectorXd out(long(x.size()));
  for (std::size_t k = 0; k < x.size(); ++k) out[long(k)] = x[k];
  return out;
}

double relative(const Eigen::VectorXd& x, const Eigen::VectorXd& target) {
  return (x - target).norm() / target.norm();
}

class FixedPoints : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(FixedPoints, AsgdIsFrequencyWeightedRescaledAsgdIsTheMean) {
  const Instance in = draw(GetParam(), 8, 3);
  const Eigen::VectorXd by_rate = weighted_mean(in, true), mean = weighted_mean(in, false);
  ASSERT_GT(relative(by_rate, mean), 0.05) << "the instance must separate the two points";
  const Eigen::VectorXd asgd = run(in, "asgd", false);
  const Eigen::VectorXd rescaled = run(in, "rescaled_asgd", false);
  const Eigen::VectorXd estimated = run(in, "rescaled_asgd", true);
  std::printf(
      "seed %llu: |ASGD - sum(a/tau)/sum(1/tau)| %.2e, |Rescaled - mean a| %.2e, "
      "|Rescaled(estimated) - mean a| %.2e, gap %.2e (relative)\n",
      (unsigned long long)GetParam(), relative(asgd, by_rate), relative(rescaled, mean),
      relative(estimated, mean), relative(by_rate, mean));
  EXPECT_LT(relative(asgd, by_rate), 0.01);
  EXPECT_LT(relative(rescaled, mean), 0.01);
  EXPECT_LT(relative(estimated, mean), 0.02);
}

// Drifting hardware (cluster.compute_times_after): at a quarter of the run the compute times
// reverse, the fastest worker becoming the slowest. Each method then settles where the new
// arrival rates 1/tau'_i put it: ASGD at sum(a_i/tau'_i)/sum(1/tau'_i); Rescaled ASGD with
// the known (now stale) tau_i, whose step for worker i is proportional to tau_i, at
// sum(a_i tau_i/tau'_i)/sum(tau_i/tau'_i); with tau estimated online, at mean(a_i) again.
TEST_P(FixedPoints, AfterTheComputeTimesDriftOnlyEstimatedTauKeepsTheMean) {
  Instance in = draw(GetParam(), 8, 3);
  in.tau_after.assign(in.tau.rbegin(), in.tau.rend());
  double rate = 0;  // gradients per second, before and after alike (the same times)
  for (double t : in.tau) rate += 1.0 / t;
  in.change_at = 0.25 * 40000 / rate;  // a quarter of the 40,000 steps
  const Eigen::VectorXd mean = weighted_mean(in, false);
  const Eigen::VectorXd by_new_rate =
      weighted_mean(in, [&](std::size_t i) { return 1.0 / in.tau_after[i]; });
  const Eigen::VectorXd stale =
      weighted_mean(in, [&](std::size_t i) { return in.tau[i] / in.tau_after[i]; });
  ASSERT_GT(relative(stale, mean), 0.05) << "the instance must separate the points";
  ASSERT_GT(relative(by_new_rate, weighted_mean(in, true)), 0.05);
  const Eigen::VectorXd asgd = run(in, "asgd", false);
  const Eigen::VectorXd known = run(in, "rescaled_asgd", false);
  const Eigen::VectorXd estimated = run(in, "rescaled_asgd", true);
  std::printf(
      "seed %llu: |ASGD - new rate point| %.2e, |Rescaled(known) - stale point| %.2e, "
      "|Rescaled(estimated) - mean a| %.2e, stale gap %.2e (relative)\n",
      (unsigned long long)GetParam(), relative(asgd, by_new_rate), relative(known, stale),
      relative(estimated, mean), relative(stale, mean));
  EXPECT_LT(relative(asgd, by_new_rate), 0.01);
  EXPECT_LT(relative(known, stale), 0.01);
  EXPECT_LT(relative(estimated, mean), 0.02);
}

INSTANTIATE_TEST_SUITE_P(Seeds, FixedPoints, ::testing::Values(1, 2, 3, 4, 5));

}  // namespace
}  // namespace herd::algo
