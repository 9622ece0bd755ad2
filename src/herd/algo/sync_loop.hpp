#pragma once
// The loop of every synchronous algorithm, with what the framework does around its steps,
// so that an algorithm file holds its update and little else:
//   - resuming: when the job resumes from a checkpoint, every rank's state is restored
//     (the Worker's and what the algorithm registered in w.algo_state before calling this)
//     and the loop continues at the checkpoint's step, without evaluating that step again;
//   - otherwise report(0), the evaluation of the starting point;
//   - for each step t while the monitor lets it: step(t), then report(t + 1) when an
//     evaluation is due, then a checkpoint when one is due (checkpoint.hpp).
// report(steps_done) evaluates the algorithm's models (Monitor::evaluate); both callables
// run on every rank, in step.
#include <cstdint>

#include "herd/algo/checkpoint.hpp"
#include "herd/algo/worker.hpp"

namespace herd::algo {

template <class Step, class Report>
void run_steps(Worker& w, Step&& step, Report&& report) {
  const std::int64_t first = w.checkpointer ? w.checkpointer->first_step(w) : 0;
  if (first == 0) report(std::int64_t{0});
  for (std::int64_t t = first; w.monitor.keep_going(t); ++t) {
    step(t);
    const std::int64_t done = t + 1;
    if (w.monitor.due(done)) report(done);
    if (w.checkpointer) w.checkpointer->checkpoint_if_due(w, done);
  }
}

}  // namespace herd::algo
