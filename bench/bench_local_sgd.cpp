// Local SGD steps per second on a9a logistic regression (lambda = 1/n, b = 32, one worker,
// H = 8) through herd's whole stack (job, monitor, worker, sampler, model, optimizer,
// communicator) against a plain hand-written loop doing the same arithmetic in the same
// process: the ratio HerdLocalSgd / HandWrittenLoop (items_per_second) is the overhead.
// herd's run includes its two evaluations (at step 0 and at the end, ~1% of the run).
#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "herd/algo/job.hpp"
#include "herd/comm/threads.hpp"
#include "herd/data/libsvm.hpp"
#include "herd/data/partition.hpp"
#include "herd/model/factory.hpp"

namespace {

using namespace herd;

constexpr std::size_t batch = 32;
constexpr std::int64_t steps = 100000;
constexpr double lr = 0.5;

const data::Dataset& a9a() {
  static const data::Dataset d = data::read_libsvm(std::string(HERD_DATA_DIR) + "/libsvm/a9a");
  return d;
}

std::vector<data::Index> all_rows() {
  std::vector<data::Index> rows(a9a().rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = data::Index(i);
  return rows;
}

void HerdLocalSgd(benchmark::State& state) {
  auto train = std::make_shared<data::Dataset>(a9a());
  model::DataProblemSpec spec;
  spec.train = train;
  spec.shards = {all_rows()};
  spec.lambda = 1.0 / double(train->rows);
  spec.batch = batch;
  const auto problem = model::make_data_problem(std::move(spec));
  algo::JobSpec job;
  job.problem = problem.get();
  job.algorithm = "local_sgd";
  job.set("algo.period", 8);
  job.schedule.lr = lr;
  job.monitor.problem = problem.get();
  job.monitor.stop.max_steps = steps;
  job.monitor.eval_every = steps;
  for (auto _ : state) {
    auto r = algo::run_job(job, comm::run_threads);
    benchmark::DoNotOptimize(r.final_x[0].data());
  }
  state.SetItemsProcessed(state.iterations() * steps);
}

// The same arithmetic, written out: uniform sampling with replacement from the same Philox
// stream, logistic loss and gradient in float with double accumulation of the margin and
// the loss, L2 term, plain SGD step.
void HandWrittenLoop(benchmark::State& state) {
  const data::Dataset& d = a9a();
  const double lambda = 1.0 / double(d.rows);
  std::vector<float> x(d.cols), g(d.cols);
  for (auto _ : state) {
    std::fill(x.begin(), x.end(), 0.0f);
    Rng rng(11, 0);
    double loss_sum = 0;
    for (std::int64_t t = 0; t < steps; ++t) {
      double reg = 0;
      for (std::size_t j = 0; j < x.size(); ++j) {
        reg += double(x[j]) * double(x[j]);
        g[j] = float(lambda * double(x[j]));
      }
      double loss = 0;
      for (std::size_t k = 0; k < batch; ++k) {
        const std::size_t i = rng.below(d.rows);
        double z = 0;
        for (auto p = d.row_ptr[i]; p < d.row_ptr[i + 1]; ++p) z += double(d.val[p]) * x[d.col[p]];
        const double s = d.y[i] > 0.5f ? 1.0 : -1.0, m = s * z;
        loss += (m > 0 ? std::log1p(std::exp(-m)) : -m + std::log1p(std::exp(m))) / double(batch);
        const float coef = float(-s / (1.0 + std::exp(m)) / double(batch));
        for (auto p = d.row_ptr[i]; p < d.row_ptr[i + 1]; ++p) g[d.col[p]] += coef * d.val[p];
      }
      loss_sum += loss + 0.5 * lambda * reg;
      for (std::size_t j = 0; j < x.size(); ++j) x[j] -= float(lr) * g[j];
    }
    benchmark::DoNotOptimize(loss_sum);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations() * steps);
}

}  // namespace

int main(int argc, char** argv) {
  if (!std::filesystem::exists(std::string(HERD_DATA_DIR) + "/libsvm/a9a")) {
    std::fprintf(stderr, "bench_local_sgd: %s/libsvm/a9a not found\n", HERD_DATA_DIR);
    return 2;
  }
  benchmark::RegisterBenchmark("HandWrittenLoop", HandWrittenLoop)
      ->Unit(benchmark::kMillisecond)
      ->Repetitions(5);
  benchmark::RegisterBenchmark("HerdLocalSgd", HerdLocalSgd)
      ->Unit(benchmark::kMillisecond)
      ->Repetitions(5);
  benchmark::RegisterBenchmark("HandWrittenLoop", HandWrittenLoop)
      ->Unit(benchmark::kMillisecond)
      ->Repetitions(5);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
