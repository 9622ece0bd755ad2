#include "herd/algo/easgd.hpp"

#include <string>
#include <vector>

#include "herd/algo/knob_checks.hpp"
#include "herd/algo/sync_loop.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {

void Easgd::run(Worker& w) {
  const std::string name = momentum_ ? "eamsgd" : "easgd";
  const AlgoSettings& s = w.settings;
  check_period(s.period, name);
  const float alpha = elastic_alpha(s.elastic_alpha, w.comm.size(), name);
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
    extra.set("bytes_per_round", bytes_per_round(bytes_sent_by_all(w.comm), w.rounds));
    // The center is the same on every rank: rank 0's copy is everyone's.
    const ReportedModel models[] = {{"center", center, false, 0}, {"average", w.x}};
    w.monitor.evaluate(w, steps_done, models, extra);
  };

  auto step = [&](std::int64_t t) {
    w.compute_gradient(t);
    w.local_step(t);
    if ((t + 1) % s.period == 0) {
      sub(w.x, center, difference);
      w.comm.allreduce(difference, comm::ReduceOp::sum);  // sum_k (x_k - xt)
      pull_toward(w.x, center, alpha);
      axpy(alpha, difference, center);
      ++w.rounds;
    }
  };
  run_steps(w, step, report);
}

}  // namespace herd::algo
