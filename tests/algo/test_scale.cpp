// Asynchronous SGD with 100,000 workers on the simulator (fiber_stacks.hpp: processes share
// a fixed number of run stacks), on a 1-D quadratic whose result after one round has a
// closed form, and the memory it takes per worker.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <Eigen/Dense>
#include <fstream>

#include "herd/algo/job.hpp"
#include "herd/comm/sim.hpp"
#include "herd/model/quadratic.hpp"

namespace herd::algo {
namespace {

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096.0;
}

double peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) * 1024.0;
}

TEST(SimScale, AsgdWithAHundredThousandWorkers) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer is not told about the simulator's fibre switches (its shadow call stack
  // overflows with this many fibres); the simulator runs on one thread.
  GTEST_SKIP() << "100,000 fibres under ThreadSanitizer";
#endif
  // F_k(x) = 0.5 (x - 2)^2 for every worker, exact gradients, tau_k = 1 s. Every worker's
  // first gradient is taken at x0 and they all arrive at t = 1, before any second one
  // (t = 2): the first K server updates all apply x0 - 2, so x_K = x0 - K lr (x0 - 2).
  const int K = 100000;
  const double lr = 1e-6;
  std::vector<Eigen::VectorXd> diag(std::size_t(K), Eigen::VectorXd::Ones(1));
  std::vector<Eigen::VectorXd> centers(std::size_t(K), Eigen::VectorXd::Constant(1, 2.0));
  const auto problem = model::QuadraticProblem::diagonal(diag, centers, 0.0, 1);
  std::vector<float> x0(1);
  problem.initial_point(x0);
  JobSpec j;
  j.problem = &problem;
  j.algorithm = "asgd";
  j.workers = K;
  j.schedule.lr = lr;
  j.monitor.problem = &problem;
  j.monitor.stop.max_steps = K;
  j.monitor.eval_every = K;
  comm::SimSpec spec;
  spec.compute.tau.assign(std::size_t(K) + 1, 1.0);
  spec.compute.tau[0] = 0.0;  // the server
  const double before = resident_bytes();
  std::uint64_t events = 0;
  const JobResult r = run_job(j, [&](int ranks, const std::function<void(comm::Communicator&)>& f) {
    events = comm::run_sim(spec, ranks, f).events;
  });
  const double per_worker = (peak_resident_bytes() - before) / K;
  RecordProperty("peak_bytes_per_worker", int(per_worker));
  EXPECT_GE(events, 2u * std::uint64_t(K));
  const double expected = double(x0[0]) - K * lr * (double(x0[0]) - 2.0);
  EXPECT_NEAR(r.final_x[0][0], expected, 1e-3) << "x0 = " << x0[0];
  EXPECT_EQ(r.last.number("updates_min"), 1);
  EXPECT_EQ(r.last.number("updates_max"), 1);
#if !defined(__SANITIZE_ADDRESS__)  // AddressSanitizer adds its redzones and shadow
  // Issue 14's target: at most 2 KB per idle worker beyond its model copy (4 bytes here),
  // the problem's K terms, the server's per-worker tables, the messages in flight at the end
  // and the allocator's overhead included.
  EXPECT_LE(per_worker, 2048) << per_worker;
#endif
}

}  // namespace
}  // namespace herd::algo
