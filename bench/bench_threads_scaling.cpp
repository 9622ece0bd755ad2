// Total worker-steps per second of a9a Local SGD (logistic regression, lambda = 1/n, b = 32)
// on the threads runtime for K = 1, 2, 4, 8, 16, 64 workers, at H = 8 and H = 1 (minibatch
// SGD), each against K = 1 in the same run: the speed-up of running K workers on this
// machine's cores. The rows are split iid (herd's default partition) and every worker runs
// the same number of steps. The configurations are interleaved, round after round, so that they see
// the same load; the table gives min / median / max over the rounds and the median ratio to K = 1.
//
//   build/bench/bench_threads_scaling [ROUNDS] [STEPS_PER_WORKER] [OS_THREADS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "herd/algo/job.hpp"
#include "herd/comm/fiber_pool.hpp"
#include "herd/comm/threads.hpp"
#include "herd/core/rng.hpp"
#include "herd/data/libsvm.hpp"
#include "herd/data/partition.hpp"
#include "herd/model/factory.hpp"

namespace {

using namespace herd;

constexpr std::size_t batch = 32;
constexpr double lr = 0.5;

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::int64_t steps = argc > 2 ? std::atoll(argv[2]) : 20000;
  const int os_threads = argc > 3 ? std::atoi(argv[3]) : 0;
  const std::string path = std::string(HERD_DATA_DIR) + "/libsvm/a9a";
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "bench_threads_scaling: %s not found\n", path.c_str());
    return 2;
  }
  auto train = std::make_shared<data::Dataset>(data::read_libsvm(path));

  const std::vector<int> workers = {1, 2, 4, 8, 16, 64};
  const std::vector<int> periods = {8, 1};
  std::map<std::pair<int, int>, std::vector<double>> rate;  // (H, K) -> worker-steps/s
  std::printf(
      "a9a Local SGD, b = %zu, %lld steps per worker, %d rounds, OS threads %d, load "
      "before: %s\n",
      batch, static_cast<long long>(steps), rounds,
      os_threads > 0 ? os_threads : comm::FiberPool::default_threads(), load_average().c_str());
  for (int round = 0; round < rounds; ++round) {
    for (int H : periods) {
      for (int K : workers) {
        model::DataProblemSpec spec;
        spec.train = train;
        Rng split(1, 0);
        spec.shards = data::partition(*train, K, {}, split);
        spec.lambda = 1.0 / double(train->rows);
        spec.batch = batch;
        const auto problem = model::make_data_problem(std::move(spec));
        algo::JobSpec job;
        job.problem = problem.get();
        job.algorithm = "local_sgd";
        job.workers = K;
        job.set("algo.period", H);
        job.schedule.lr = lr;
        job.monitor.problem = problem.get();
        job.monitor.stop.max_steps = steps;
        job.monitor.eval_every = steps;
        const auto begin = std::chrono::steady_clock::now();
        const auto r = algo::run_job(
            job, [&](int ranks, const std::function<void(comm::Communicator&)>& program) {
              comm::run_threads_with({.compute = {}, .os_threads = os_threads}, ranks, program);
            });
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        if (r.final_x.empty()) return 1;
        rate[{H, K}].push_back(double(K) * double(steps) / seconds);
      }
    }
  }
  std::printf("load after: %s\n\n", load_average().c_str());
  std::printf("| H | K | worker-steps/s min / median / max | median / K = 1 median |\n");
  std::printf("|---|---|---|---|\n");
  for (int H : periods) {
    auto median = [&](int K) {
      std::vector<double> v = rate[{H, K}];
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    for (int K : workers) {
      std::vector<double> v = rate[{H, K}];
      std::sort(v.begin(), v.end());
      std::printf("| %d | %d | %.0fk / %.0fk / %.0fk | %.2fx |\n", H, K, v.front() / 1e3,
                  median(K) / 1e3, v.back() / 1e3, median(K) / median(1));
    }
  }
  return 0;
}
