// The fixed points of asynchronous SGD under heterogeneous data and compute (the Rescaled
// ASGD paper, Mahran, Maranjyan, Richtarik 2026): K = 8 workers, F_i(x) = 0.5 ||x - a_i||^2 with
// a_i and distinct tau_i drawn from the seed, on the simulator (exact compute times). The gradients
// are exact, so instead of averaging the iterate over the tail of the run a small step keeps the
// periodic, delay-induced oscillation around the fixed point at O(lr).
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "herd/algo/job.hpp"
#include "herd/comm/sim.hpp"
#include "herd/core/rng.hpp"
#include "herd/model/quadratic.hpp"

namespace herd::algo {
namespace {

struct Instance {
  std::vector<Eigen::VectorXd> a;  // optima of the F_i
  std::vector<double> tau;         // seconds per gradient
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

Eigen::VectorXd weighted_mean(const Instance& in, bool by_rate) {
  Eigen::VectorXd num = Eigen::VectorXd::Zero(in.a[0].size());
  double den = 0;
  for (std::size_t i = 0; i < in.a.size(); ++i) {
    const double w = by_rate ? 1.0 / in.tau[i] : 1.0;
    num += w * in.a[i];
    den += w;
  }
  return num / den;
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

INSTANTIATE_TEST_SUITE_P(Seeds, FixedPoints, ::testing::Values(1, 2, 3, 4, 5));

}  // namespace
}  // namespace herd::algo
