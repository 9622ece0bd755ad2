#include "herd/algo/ps.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "herd/algo/ps_policies.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

class GradientTask final : public WorkerTask {
 public:
  std::optional<CSpan> run(Worker& w, std::int64_t job, int interrupt_tag) override {
    if (!w.compute_gradient_unless(job, interrupt_tag)) return std::nullopt;
    return CSpan(w.g);
  }
};

// A resumed worker's idle and wasted seconds as the server last heard them; zero otherwise.
// Out of line, as is run_worker: these temporaries stay out of a waiting worker's frames.
[[gnu::noinline]] void start_worker(WorkerEnd& link, WorkerTask& task, Worker& w, double& idle,
                                    double& wasted) {
  const std::optional<Envelope> resumed = link.start();
  idle = resumed ? resumed->idle : 0.0;
  wasted = resumed ? resumed->wasted : 0.0;
  if (resumed) task.resume(w);
}

// A result with the worker's idle and wasted seconds so far. Out of line, as is the
// worker's start-up: the header's temporaries stay out of the frames of a waiting worker.
[[gnu::noinline]] void send_result(WorkerEnd& link, std::uint64_t version, double idle,
                                   double wasted, CSpan result) {
  link.send(
      {.kind = MessageKind::result, .count = version, .idle = float(idle), .wasted = float(wasted)},
      result);
}

// One piece of work at the model of `version` and its result sent to the server; false when
// a restart interrupted it (nothing is sent). Out of line: its result stays out of the frame
// of a worker waiting for its next model.
[[gnu::noinline]] bool work_and_send(WorkerEnd& link, WorkerTask& task, Worker& w, std::int64_t job,
                                     std::uint64_t version, double idle, double wasted) {
  const std::optional<CSpan> result = task.run(w, job, WorkerEnd::interrupt_tag);
  if (!result) return false;
  send_result(link, version, idle, wasted, *result);
  return true;
}

// The worker loop of the protocol in ps.hpp. After a resume (server_channel.hpp) it carries
// on with its idle and wasted seconds as the server last heard them. Kept lean, its work and
// its waits out of line: on the simulator, the frames of a waiting worker are the largest part
// of what it costs (576 bytes of the 1,888 each of a 100,000-worker run).
[[gnu::noinline]] void run_worker(Worker& w,
                                  const ParameterServerAlgorithm::TaskFactory& make_task) {
  const std::unique_ptr<WorkerTask> task = make_task(w);
  comm::Communicator& c = w.comm;
  WorkerEnd link(w);
  double idle = 0, wasted = 0;
  start_worker(link, *task, w, idle, wasted);
  double asked = c.now();  // when the worker began to wait for the server
  WorkerEnd::Notice m = link.receive_model(w.x);
  idle += c.now() - asked;
  for (std::int64_t job = 0; !m.stop; ++job) {
    const double started = c.now();
    if (!work_and_send(link, *task, w, job, m.count, idle, wasted)) {
      // Restarted: the message that interrupted the work is the next model.
      wasted += c.now() - started;
      m = link.receive_model(w.x);
      continue;
    }
    asked = c.now();
    m = link.receive_model(w.x);
    idle += c.now() - asked;
  }
  link.acknowledge_stop();
}

std::string join_counts(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(v[i]);
  }
  return s;
}

}  // namespace

std::unique_ptr<WorkerTask> make_gradient_task(const Worker&) {
  return std::make_unique<GradientTask>();
}

ParameterServer::ParameterServer(Worker& server)
    : w_(server),
      channel_(server),
      workers_(server.comm.size() - 1),
      start_time_(server.comm.now()),
      sent_version_(std::size_t(workers_), 0),
      scratch_(server.x.size()),
      used_(std::size_t(workers_), 0),
      seen_(std::size_t(workers_), 0.0) {}

void ParameterServer::descend(CSpan direction, double lr) {
  copy(direction, scratch_);  // the optimizer may modify it (weight decay)
  w_.optimizer.step(w_.x, scratch_, float(lr));
  commit();
}

void ParameterServer::commit() {
  ++step_;
  evaluation_due_ = evaluation_due_ || w_.monitor.due(step_);
}

void ParameterServer::send_model(int worker) {
  const std::size_t k = std::size_t(worker);
  // The worker's copy is current when the last model it was sent has this version (x only
  // changes with the version; messages from one source arrive in order).
  const bool holds_x = sent_version_[k] == step_;
  channel_.send(worker, {.kind = MessageKind::model, .count = std::uint64_t(step_)},
                holds_x ? CSpan() : CSpan(w_.x));
  sent_version_[k] = step_;
  policy_->on_sent(worker, step_);
}

void ParameterServer::evaluate() {
  evaluation_due_ = false;
  MetricsRow extra;
  std::uint64_t gradients = 0;
  double idle = 0, wasted = 0, seen = 0;
  for (int k = 0; k < workers_; ++k) {
    const Envelope last = channel_.last_from(k);
    gradients += last.samples;
    idle += last.idle, wasted += last.wasted, seen += seen_[std::size_t(k)];
  }
  const std::int64_t used_total = received_ - discarded_;
  extra.set("updates", join_counts(used_));
  extra.set("updates_min", *std::min_element(used_.begin(), used_.end()));
  extra.set("updates_max", *std::max_element(used_.begin(), used_.end()));
  extra.set("discarded", discarded_);
  extra.set("delay_mean", used_total > 0 ? delay_sum_ / double(used_total) : 0.0);
  extra.set("delay_max", delay_max_);
  extra.set("idle_fraction", seen > 0 ? idle / seen : 0.0);
  extra.set("wasted_fraction", seen > 0 ? wasted / seen : 0.0);
  policy_->report(extra);
  const Monitor::Counters counters{0, step_, gradients, received_, channel_.bytes()};
  w_.monitor.record(w_.comm, counters, w_.x, "server", extra);
}

// Checkpoints: the server's and the policy's state, then the channel's start (which restores
// them when the job resumes and restarts the workers). Returns whether the job resumed.
bool ParameterServer::start_checkpoints(ServerPolicy& policy) {
  if (w_.checkpointer == nullptr) return false;
  w_.algo_state.add("step", step_)
      .add("start_time", start_time_)
      .add("received", received_)
      .add("discarded", discarded_)
      .add("delay_sum", delay_sum_)
      .add("delay_max", delay_max_)
      .add("used", used_)
      .add("seen", seen_);
  policy.keep_in(w_.algo_state);
  return channel_.start();
}

void ParameterServer::serve(ServerPolicy& policy) {
  policy_ = &policy;
  const std::size_t d = w_.x.size();
  // A resumed server recorded the evaluation at its step before the checkpoint.
  if (!start_checkpoints(policy)) evaluate();
  if (w_.monitor.keep_going(step_))
    for (int k = 0; k < workers_; ++k) send_model(k);
  const auto payload_size = [d](MessageKind kind) {
    return kind == MessageKind::result ? d : std::size_t(-1);
  };
  while (w_.monitor.keep_going(step_)) {
    const Letter& m = channel_.receive(payload_size);
    const int k = m.worker;
    const std::size_t i = std::size_t(k);
    ++received_;
    seen_[i] = now() - start_time_;

    Arrival a;
    a.worker = k;
    a.version = std::int64_t(m.head.count);
    a.delay = step_ - a.version;
    a.payload = m.payload;
    if (policy.on_arrival(*this, a)) {
      ++used_[i];
      delay_sum_ += double(a.delay);
      delay_max_ = std::max(delay_max_, a.delay);
    } else {
      ++discarded_;
    }
    // The worker waits for an answer unless it was already sent a newer model (a restart).
    if (sent_version_[i] == a.version) send_model(k);
    if (evaluation_due_) evaluate();
    channel_.checkpoint_if_due(step_, received_);
  }
  channel_.stop_workers();
}

namespace {

[[gnu::noinline]] void run_server(Worker& w,
                                  const ParameterServerAlgorithm::PolicyFactory& make_policy) {
  ParameterServer server(w);
  const std::unique_ptr<ServerPolicy> policy = make_policy(server);
  server.serve(*policy);
}

}  // namespace

// Both calls are the last: this frame is gone while a rank waits.
void ParameterServerAlgorithm::run(Worker& w) const {
  if (w.comm.rank() == server_rank)
    run_server(w, policy_);
  else
    run_worker(w, task_);
}

}  // namespace herd::algo
