#pragma once
// What the algorithm tests share: a sink that keeps every evaluation, and a job with the
// usual test settings.
#include <algorithm>
#include <string>
#include <vector>

#include "herd/algo/job.hpp"

namespace herd::algo {

class RowSink final : public MetricsSink {
 public:
  void record(const MetricsRow& row) override { rows.push_back(row); }
  std::vector<MetricsRow> rows;
};

// `algo` on `workers` workers for `steps` steps (server updates for parameter-server
// algorithms) at a constant step `lr`, seed 11, algo.period 1, evaluated 20 times, rows into
// `sink`.
inline JobSpec job_for(const model::Problem& p, const std::string& algo, int workers,
                       std::int64_t steps, double lr, MetricsSink* sink = nullptr) {
  JobSpec j;
  j.problem = &p;
  j.algorithm = algo;
  j.workers = workers;
  j.seed = 11;
  j.set("algo.period", 1);  // communicate at every step unless a test says otherwise
  j.schedule.lr = lr;
  j.monitor.problem = &p;
  j.monitor.f_star = p.optimum_value();
  j.monitor.stop.max_steps = steps;
  j.monitor.eval_every = std::max<std::int64_t>(1, steps / 20);
  j.monitor.sink = sink;
  return j;
}

}  // namespace herd::algo
