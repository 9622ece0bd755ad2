#include "herd/algo/minibatch_sgd.hpp"

#include "herd/algo/registry.hpp"

namespace herd::algo {

void minibatch_step(Worker& w, comm::Communicator& c, std::int64_t step) {
  w.compute_gradient(step);
  c.allreduce(w.g, comm::ReduceOp::mean);
  ++w.rounds;
  w.local_step(step);
}

void MinibatchSgd::run(Worker& w) {
  const std::int64_t first = w.first_step();
  const ReportedModel model{"average", w.x};
  if (first == 0) w.monitor.evaluate(w, 0, {&model, 1});
  for (std::int64_t t = first; w.monitor.keep_going(t); ++t) {
    minibatch_step(w, w.comm, t);
    if (w.monitor.due(t + 1)) w.monitor.evaluate(w, t + 1, {&model, 1});
    w.checkpoint_if_due(t + 1);
  }
}

HERD_REGISTER_ALGORITHM(
    minibatch_sgd,
    AlgorithmDef<NoSettings>{
        .name = "minibatch_sgd",
        .summary = "Minibatch SGD: the workers' gradients are averaged at every step.",
        .order = 10,
        .make = [](const NoSettings&) { return std::make_unique<MinibatchSgd>(); }});

}  // namespace herd::algo
