#include "herd/algo/easgd.hpp"

#include <string>
#include <vector>

#include "herd/algo/easgd_lsgd_common.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {

void Easgd::run(Worker& w) {
  const std::string name = momentum_ ? "eamsgd" : "easgd";
  const AlgoSettings& s = w.settings;
  elastic::check_period(s.period, name);
  const float alpha = elastic::elastic_alpha(s, w.comm.size(), name);
  const optim::OptimizerSpec& opt = w.optimizer.spec();
  // The same rule the run layer enforces: EAMSGD's local steps are Nesterov momentum steps.
  if (momentum_ && (opt.rule != optim::Rule::nesterov || opt.momentum <= 0))
    throw InvalidInput(
        "algo.name = \"eamsgd\" takes Nesterov momentum steps locally: set optim.name = "
        "\"nesterov\" with optim.momentum > 0 (or use algo.name = \"easgd\")");

  // Set-up, not the algorithm's traffic: with the usual common x_0 the mean is x_0 itself.
  std::vector<float> center(w.x);
  {
    comm::Unmetered quiet(w.comm);
    w.comm.allreduce(center, comm::ReduceOp::mean);
  }
  std::vector<float> difference(w.x.size());
  w.algo_state.add("center", center);

  auto report = [&](std::int64_t steps_done) {
    MetricsRow extra;
    extra.set("bytes_per_round", elastic::per_round(elastic::bytes_sent_by_all(w.comm), w.rounds));
    // The center is the same on every rank: rank 0's copy is everyone's.
    const ReportedModel models[] = {{"center", center, false, 0}, {"average", w.x}};
    w.monitor.evaluate(w, steps_done, models, extra);
  };

  const std::int64_t first = w.first_step();  // > 0 when resuming from a checkpoint
  if (first == 0) report(0);
  for (std::int64_t t = first; w.monitor.keep_going(t); ++t) {
    w.compute_gradient(t);
    w.local_step(t);
    const std::int64_t done = t + 1;
    if (done % s.period == 0) {
      sub(w.x, center, difference);
      w.comm.allreduce(difference, comm::ReduceOp::sum);  // sum_k (x_k - xt)
      pull_toward(w.x, center, alpha);
      axpy(alpha, difference, center);
      ++w.rounds;
    }
    if (w.monitor.due(done)) report(done);
    w.checkpoint_if_due(done);
  }
}

}  // namespace herd::algo
