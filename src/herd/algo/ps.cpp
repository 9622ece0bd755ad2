#include "herd/algo/ps.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "herd/algo/ps_policies.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

constexpr int tag_model = 7001;   // server -> worker: a model, "continue", or stop
constexpr int tag_result = 7002;  // worker -> server: a result
constexpr int tag_done = 7003;    // worker -> server: the stop is acknowledged

// The first float of a server -> worker message.
constexpr float kind_model = 0, kind_stop = 1;
// Server -> worker: kind, version (2 floats), then x unless the worker already holds it.
constexpr std::size_t model_header = 3;
// Worker -> server: version (2), samples completed (2), idle seconds, wasted seconds, then
// the result.
constexpr std::size_t result_header = 6;

// Counts travel in float messages as two exact 24-bit halves (up to 2^48).
void put_count(std::uint64_t v, float* out) {
  out[0] = float(v >> 24);
  out[1] = float(v & 0xFFFFFFu);
}
std::uint64_t get_count(const float* in) {
  return (std::uint64_t(in[0]) << 24) | std::uint64_t(in[1]);
}

class GradientTask final : public WorkerTask {
 public:
  std::optional<CSpan> run(Worker& w, std::int64_t job, int interrupt_tag) override {
    if (!w.compute_gradient_unless(job, interrupt_tag)) return std::nullopt;
    return CSpan(w.g);
  }
};

// A worker's side of ParameterServer::start_checkpoints. After a resume it continues with its
// counters as the server last heard them, at the server's clock, and draws from a fresh
// stretch of its sample stream (2^40 blocks per resume: none of the interrupted run's
// minibatches comes again). Returns its idle and wasted seconds so far.
std::pair<double, double> resume_worker(Worker& w, WorkerTask& task) {
  Checkpointer* checkpointer = w.checkpointer();
  if (checkpointer == nullptr) return {0.0, 0.0};
  w.first_step();
  if (!checkpointer->resuming()) return {0.0, 0.0};
  comm::Communicator& c = w.comm;
  std::vector<double> where(2 + 3 * std::size_t(c.size() - 1));
  {
    comm::Unmetered quiet(c);
    c.broadcast(std::span<double>(where), server_rank);
  }
  const std::size_t at = 2 + 3 * std::size_t(w.worker_index());
  w.gradients = std::uint64_t(where[at]);
  comm::RuntimeState runtime = c.save_runtime_state();
  runtime.clock = where[1];
  c.restore_runtime_state(runtime);
  model::OracleState oracle = w.objective->save_state();
  oracle.rng.counter = std::uint64_t(where[0]) << 40;
  oracle.rng.used = 4;                    // no block drawn yet
  oracle.position = oracle.order.size();  // shuffled epochs: a new permutation first
  oracle.drawn = w.gradients;
  w.objective->restore_state(oracle);
  task.resume(w);
  return {where[at + 1], where[at + 2]};
}

// The worker loop of the protocol in ps.hpp.
void run_worker(Worker& w, WorkerTask& task) {
  comm::Communicator& c = w.comm;
  std::vector<float> out(result_header + w.x.size());
  const std::pair<double, double> so_far = resume_worker(w, task);
  double idle = so_far.first, wasted = so_far.second;
  auto wait_for_server = [&] {
    const double from = c.now();
    comm::Message m = c.recv(server_rank, tag_model);
    idle += c.now() - from;
    return m;
  };
  comm::Message m = wait_for_server();
  for (std::int64_t job = 0;; ++job) {
    if (m.data.at(0) == kind_stop) break;
    const std::uint64_t version = get_count(&m.data[1]);
    if (m.data.size() > model_header) copy(CSpan(m.data).subspan(model_header), w.x);
    const double started = c.now();
    const std::optional<CSpan> result = task.run(w, job, tag_model);
    if (!result) {  // restarted: the message that interrupted the work is the next model
      wasted += c.now() - started;
      m = c.recv(server_rank, tag_model);
      continue;
    }
    put_count(version, &out[0]);
    put_count(w.gradients, &out[2]);
    out[4] = float(idle);
    out[5] = float(wasted);
    copy(*result, Span(out).subspan(result_header));
    c.send(server_rank, tag_result, out);
    m = wait_for_server();
  }
  c.send(server_rank, tag_done, {});
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
      workers_(server.comm.size() - 1),
      start_time_(server.comm.now()),
      sent_version_(std::size_t(workers_), 0),
      scratch_(server.x.size()),
      used_(std::size_t(workers_), 0),
      gradients_(std::size_t(workers_), 0),
      idle_(std::size_t(workers_), 0.0),
      wasted_(std::size_t(workers_), 0.0),
      seen_(std::size_t(workers_), 0.0) {
  message_.reserve(model_header + server.x.size());
}

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
  message_.assign(model_header, 0.0f);
  message_[0] = kind_model;
  put_count(std::uint64_t(step_), &message_[1]);
  // The worker's copy is current when the last model it was sent has this version (x only
  // changes with the version; messages from one source arrive in order).
  if (sent_version_[k] != step_) message_.insert(message_.end(), w_.x.begin(), w_.x.end());
  w_.comm.send(worker + 1, tag_model, message_);
  sent_version_[k] = step_;
  policy_->on_sent(worker, step_);
}

void ParameterServer::evaluate() {
  evaluation_due_ = false;
  MetricsRow extra;
  std::uint64_t gradients = 0;
  double idle = 0, wasted = 0, seen = 0;
  for (std::size_t k = 0; k < used_.size(); ++k) {
    gradients += std::uint64_t(gradients_[k]);
    idle += idle_[k], wasted += wasted_[k], seen += seen_[k];
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
  const Monitor::Counters counters{0, step_, gradients, received_,
                                   w_.comm.traffic().bytes_sent + std::uint64_t(bytes_received_)};
  w_.monitor.record(w_.comm, counters, w_.x, "server", extra);
}

// Checkpoints (checkpoint.hpp): registers the server's and the policy's state, restores them
// when the job resumes and then tells each worker where it stood (the resume's generation,
// the clock, and its samples, idle and wasted seconds as last reported). Collective with
// resume_worker(); returns whether the job resumed.
bool ParameterServer::start_checkpoints(ServerPolicy& policy) {
  Checkpointer* checkpointer = w_.checkpointer();
  if (checkpointer == nullptr) return false;
  w_.algo_state.add("step", step_)
      .add("start_time", start_time_)
      .add("received", received_)
      .add("discarded", discarded_)
      .add("bytes_received", bytes_received_)
      .add("delay_sum", delay_sum_)
      .add("delay_max", delay_max_)
      .add("used", used_)
      .add("gradients", gradients_)
      .add("idle", idle_)
      .add("wasted", wasted_)
      .add("seen", seen_)
      .add("resumes", resumes_);
  policy.keep_in(w_.algo_state);
  w_.first_step();
  if (!checkpointer->resuming()) return false;
  ++resumes_;
  std::vector<double> where{double(resumes_), now()};
  for (std::size_t k = 0; k < used_.size(); ++k)
    where.insert(where.end(), {double(gradients_[k]), idle_[k], wasted_[k]});
  comm::Unmetered quiet(w_.comm);
  w_.comm.broadcast(std::span<double>(where), server_rank);
  return true;
}

void ParameterServer::serve(ServerPolicy& policy) {
  policy_ = &policy;
  comm::Communicator& c = w_.comm;
  const std::size_t d = w_.x.size();
  // A resumed server recorded the evaluation at its step before the checkpoint.
  if (!start_checkpoints(policy)) evaluate();
  if (w_.monitor.keep_going(step_))
    for (int k = 0; k < workers_; ++k) send_model(k);
  while (w_.monitor.keep_going(step_)) {
    const comm::Message m = c.recv(comm::any_source, tag_result);
    if (m.data.size() != result_header + d)
      throw CommError("parameter server: a result of " + std::to_string(m.data.size()) +
                      " floats from rank " + std::to_string(m.source) + ", expected " +
                      std::to_string(result_header + d));
    const int k = m.source - 1;
    const std::size_t i = std::size_t(k);
    ++received_;
    bytes_received_ += std::int64_t(m.data.size() * sizeof(float));
    gradients_[i] = std::int64_t(get_count(&m.data[2]));
    idle_[i] = m.data[4];
    wasted_[i] = m.data[5];
    seen_[i] = now() - start_time_;

    Arrival a;
    a.worker = k;
    a.version = std::int64_t(get_count(&m.data[0]));
    a.delay = step_ - a.version;
    a.payload = CSpan(m.data).subspan(result_header);
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
    if (Checkpointer* cp = w_.checkpointer()) cp->checkpoint_server_if_due(w_, step_, received_);
  }
  stop_workers();
}

void ParameterServer::stop_workers() {
  comm::Communicator& c = w_.comm;
  message_.assign(model_header, 0.0f);
  message_[0] = kind_stop;
  put_count(std::uint64_t(step_), &message_[1]);
  for (int k = 0; k < workers_; ++k) c.send(k + 1, tag_model, message_);
  // Results already on their way are dropped; each worker's acknowledgement is its last word.
  for (int done = 0; done < workers_;)
    if (c.recv(comm::any_source, comm::any_tag).tag == tag_done) ++done;
}

void ParameterServerAlgorithm::run(Worker& w) {
  if (w.comm.rank() == server_rank) {
    ParameterServer server(w);
    const std::unique_ptr<ServerPolicy> policy = policy_(server);
    server.serve(*policy);
  } else {
    const std::unique_ptr<WorkerTask> task = task_(w);
    run_worker(w, *task);
  }
}

}  // namespace herd::algo
