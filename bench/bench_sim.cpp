// Simulated events per second: ASGD on a 1-D quadratic with K workers and heterogeneous
// compute times on the sim runtime (an event is one resumption of a simulated process), and
// the bare scheduler under the same message pattern without any algorithm (PingPong).
// Peak resident memory is reported for the largest K. Target: >= 1e6 events/s at K = 100.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <Eigen/Dense>

#include "herd/algo/job.hpp"
#include "herd/comm/sim.hpp"
#include "herd/model/quadratic.hpp"

namespace {

using namespace herd;

comm::SimSpec cluster(int ranks) {
  comm::SimSpec spec;
  spec.compute.tau.push_back(0.0);  // the server (rank 0) computes nothing
  for (int i = 1; i < ranks; ++i) spec.compute.tau.push_back(1.0 + double(i % 17) / 8.0);
  return spec;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

void SimAsgd(benchmark::State& state) {
  const int K = int(state.range(0));
  std::vector<Eigen::VectorXd> diag, centers;
  for (int k = 0; k < K; ++k) {
    diag.push_back(Eigen::VectorXd::Ones(1));
    centers.push_back(Eigen::VectorXd::Constant(1, double(k % 7)));
  }
  const auto problem = model::QuadraticProblem::diagonal(diag, centers, 0.1, 1);
  algo::JobSpec job;
  job.problem = &problem;
  job.algorithm = "asgd";
  job.workers = K;
  job.schedule.lr = 0.01;
  job.monitor.problem = &problem;
  job.monitor.stop.max_steps = 20 * K;  // server updates: 20 per worker on average
  job.monitor.eval_every = job.monitor.stop.max_steps;
  const comm::SimSpec spec = cluster(K + 1);
  std::uint64_t events = 0;
  for (auto _ : state) {
    algo::run_job(job, [&](int ranks, const std::function<void(comm::Communicator&)>& f) {
      events += comm::run_sim(spec, ranks, f).events;
    });
  }
  state.counters["events_per_second"] =
      benchmark::Counter(double(events), benchmark::Counter::kIsRate);
  state.counters["peak_rss_MB"] = peak_rss_mb();
}

// The same message pattern with no algorithm: every worker computes (one event), sends one
// float to rank 0 and waits for its reply; rank 0 answers every message.
void SimPingPong(benchmark::State& state) {
  const int K = int(state.range(0));
  const int rounds = 20;
  const comm::SimSpec spec = cluster(K + 1);
  std::uint64_t events = 0;
  for (auto _ : state) {
    events += comm::run_sim(spec, K + 1, [&](comm::Communicator& c) {
                const std::vector<float> one{1.0f};
                if (c.rank() == 0) {
                  for (int i = 0; i < rounds * K; ++i)
                    c.send(c.recv(comm::any_source, 1).source, 2, one);
                } else {
                  for (int i = 0; i < rounds; ++i) {
                    c.compute(1);
                    c.send(0, 1, one);
                    c.recv(0, 2);
                  }
                }
              }).events;
  }
  state.counters["events_per_second"] =
      benchmark::Counter(double(events), benchmark::Counter::kIsRate);
  state.counters["peak_rss_MB"] = peak_rss_mb();
}

BENCHMARK(SimPingPong)->Arg(100)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(SimAsgd)->Arg(100)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
