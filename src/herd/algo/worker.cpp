#include "herd/algo/worker.hpp"

#include <cassert>
#include <cmath>

#include "herd/core/error.hpp"

namespace herd::algo {

Worker::Worker(comm::Communicator& c, model::LocalObjective* obj, optim::LocalOptimizer& opt,
               const optim::Schedule& sched, Monitor& mon, CSpan x0)
    : comm(c),
      objective(obj),
      optimizer(opt),
      schedule(sched),
      monitor(mon),
      x(x0.begin(), x0.end()),
      g(x0.size()),
      averaged_dim(x0.size()) {}

double Worker::compute_gradient(std::int64_t step) {
  compute_gradient_unless(step, comm::Communicator::no_interrupt);
  return last_loss;
}

bool Worker::compute_gradient_unless(std::int64_t step, int interrupt_tag) {
  assert(objective != nullptr && "a server rank computes no gradients");
  last_loss = objective->grad(x, g);
  const std::size_t b = objective->batch();
  if (!comm.compute(double(b), interrupt_tag)) return false;
  gradients += b;
  // The loss is the cheap witness: a non-finite gradient or iterate makes the next loss
  // non-finite, so checking it alone stops at the first bad step without an O(d) scan.
  if (!std::isfinite(last_loss)) [[unlikely]]
    diverged(step);
  return true;
}

// Out of line: the message's temporaries (400 bytes) stayed in the frame of every worker that
// waits in compute (a simulated worker's saved frames are most of what it costs).
void Worker::diverged(std::int64_t step) const {
  throw Diverged("diverged: worker " + std::to_string(comm.rank()) +
                 " got a non-finite minibatch loss (" + std::to_string(last_loss) + ") at step " +
                 std::to_string(step) + " with step size " + std::to_string(schedule.at(step)) +
                 "; lower algo.lr");
}

void Worker::average(comm::Communicator& c) {
  c.allreduce(std::span(x).first(averaged_dim), comm::ReduceOp::mean);
  ++rounds;
}

void Worker::save(ByteWriter& out) const {
  out.put(x);
  optimizer.save(out);
  out.put(objective != nullptr);
  if (objective != nullptr) objective->save(out);
  out.put(rounds);
  out.put(gradients);
  out.put(last_loss);
  comm.save_state(out);
  monitor.save(out, comm);
  algo_state.save(out);
}

void Worker::load(ByteReader& in, const std::string& owner) {
  std::vector<float> saved_x = in.get_vector<float>();
  if (saved_x.size() != x.size())
    throw InvalidInput(owner + " saved " + std::to_string(saved_x.size()) +
                       " parameters, the problem has " + std::to_string(x.size()));
  copy(saved_x, x);  // in place: the algorithm may hold spans of x
  try {
    optimizer.load(in);
    const bool has_oracle = in.get<bool>();
    if (has_oracle != (objective != nullptr)) in.corrupt("an oracle state");
    if (has_oracle) objective->load(in);
  } catch (const InvalidInput& e) {
    throw InvalidInput(owner + ": " + e.what());
  }
  rounds = in.get<std::int64_t>();
  gradients = in.get<std::uint64_t>();
  last_loss = in.get<double>();
  comm.load_state(in);  // the clock first: the monitor's times continue from it
  monitor.load(in, comm);
  algo_state.load(in, owner);
}

}  // namespace herd::algo
