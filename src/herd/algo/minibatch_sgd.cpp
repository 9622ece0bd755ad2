#include "herd/algo/minibatch_sgd.hpp"

#include "herd/algo/registry.hpp"
#include "herd/algo/sync_loop.hpp"

namespace herd::algo {

void minibatch_step(Worker& w, comm::Communicator& c, std::int64_t step) {
  w.compute_gradient(step);
  c.allreduce(w.g, comm::ReduceOp::mean);
  ++w.rounds;
  w.local_step(step);
}

void MinibatchSgd::run(Worker& w) const {
  const ReportedModel model{"average", w.x};
  run_steps(
      w, [&](std::int64_t t) { minibatch_step(w, w.comm, t); },
      [&](std::int64_t done) {
        w.monitor.evaluate(w, done, {&model, 1});
      });
}

HERD_REGISTER_ALGORITHM(
    minibatch_sgd,
    AlgorithmDef<NoSettings>{
        .name = "minibatch_sgd",
        .summary = "Minibatch SGD: the workers' gradients are averaged at every step.",
        .order = 10,
        .make = [](const NoSettings&) { return std::make_unique<MinibatchSgd>(); }});

}  // namespace herd::algo
