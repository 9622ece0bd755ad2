#include "herd/algo/easgd_lsgd_common.hpp"

#include <limits>

#include "herd/core/error.hpp"

namespace herd::algo::elastic {
namespace {

constexpr int tag_hello = 7101;      // worker -> server: its starting point
constexpr int tag_to_server = 7102;  // worker -> server: a report or an exchange
constexpr int tag_to_worker = 7103;  // server -> worker: a call, a reply or the stop
constexpr int tag_done = 7104;       // worker -> server: the stop is acknowledged

// Counts travel in float messages as two exact 24-bit halves (up to 2^48).
void put_count(std::uint64_t v, float* out) {
  out[0] = float(v >> 24);
  out[1] = float(v & 0xFFFFFFu);
}
std::uint64_t get_count(const float* in) {
  return (std::uint64_t(in[0]) << 24) | std::uint64_t(in[1]);
}

}  // namespace

void add_pull(Span g, CSpan x, CSpan copy, float lambda) {
  for (std::size_t i = 0; i < g.size(); ++i) g[i] += lambda * (x[i] - copy[i]);
}

void check_leader_window(int m) {
  if (m < 1)
    throw InvalidInput("algo.leader_window = " + std::to_string(m) +
                       ": the leader's score needs at least one loss");
}

LossWindow::LossWindow(int m) {
  check_leader_window(m);
  losses_.resize(std::size_t(m));
}

void LossWindow::push(double loss) {
  losses_[next_] = loss;
  next_ = (next_ + 1) % losses_.size();
  if (count_ < losses_.size()) ++count_;
}

double LossWindow::mean() const {
  if (count_ == 0) return std::numeric_limits<double>::infinity();
  double sum = 0;  // summed afresh: no drift of a running sum over a long run
  for (std::size_t i = 0; i < count_; ++i) sum += losses_[i];
  return sum / double(count_);
}

int best_of(std::span<const double> scores) {
  int best = 0;
  for (std::size_t k = 1; k < scores.size(); ++k)
    if (scores[k] < scores[std::size_t(best)]) best = int(k);
  return best;
}

double per_round(double bytes, std::int64_t rounds) {
  return rounds > 0 ? bytes / double(rounds) : 0.0;
}

double bytes_sent_by_all(comm::Communicator& c) {
  comm::Unmetered quiet(c);
  std::vector<double> bytes{double(c.traffic().bytes_sent)};
  c.allreduce(std::span<double>(bytes), comm::ReduceOp::sum);
  return bytes[0];
}

// ---- Worker side -------------------------------------------------------------------------

ServerLink::ServerLink(Worker& w) : w_(w) {
  comm::Unmetered quiet(w.comm);
  w.comm.send(server_rank, tag_hello, w.x);
}

void ServerLink::send(float what, std::int64_t steps, CSpan payload) {
  out_.assign(request_header, 0.0f);
  out_[0] = what;
  put_count(std::uint64_t(steps), &out_[1]);
  put_count(w_.gradients, &out_[3]);
  out_.insert(out_.end(), payload.begin(), payload.end());
  w_.comm.send(server_rank, tag_to_server, out_);
}

std::optional<comm::Message> ServerLink::poll() {
  return w_.comm.try_recv(server_rank, tag_to_worker);
}

comm::Message ServerLink::wait() {
  return w_.comm.recv(server_rank, tag_to_worker);
}

void ServerLink::acknowledge_stop() {
  w_.comm.send(server_rank, tag_done, {});
}

// ---- Server side -------------------------------------------------------------------------

WorkerHub::WorkerHub(Worker& server)
    : server_(server),
      workers_(server.comm.size() - 1),
      steps_(std::size_t(workers_), 0),
      samples_(std::size_t(workers_), 0) {}

void WorkerHub::receive_starts(const std::function<void(int, CSpan)>& take) {
  for (int k = 0; k < workers_; ++k) {
    const comm::Message m = server_.comm.recv(k + 1, tag_hello);
    if (m.data.size() != server_.x.size())
      throw CommError("server: worker " + std::to_string(k) + " starts with " +
                      std::to_string(m.data.size()) + " parameters, expected " +
                      std::to_string(server_.x.size()));
    take(k, m.data);
  }
}

WorkerHub::Request WorkerHub::receive(const std::function<std::size_t(float)>& payload_size) {
  last_ = server_.comm.recv(comm::any_source, tag_to_server);
  const std::vector<float>& m = last_.data;
  const int k = last_.source - 1;
  if (m.size() < request_header || m.size() != request_header + payload_size(m[0]))
    throw CommError("server: a message of " + std::to_string(m.size()) + " floats from worker " +
                    std::to_string(k) + " does not fit its kind");
  bytes_received_ += m.size() * sizeof(float);
  const auto steps = std::int64_t(get_count(&m[1]));
  total_steps_ += steps - steps_[std::size_t(k)];
  steps_[std::size_t(k)] = steps;
  samples_[std::size_t(k)] = get_count(&m[3]);
  return {k, m[0], CSpan(m).subspan(request_header)};
}

void WorkerHub::send(int worker, float what, CSpan payload) {
  out_.assign(1, what);
  out_.insert(out_.end(), payload.begin(), payload.end());
  server_.comm.send(worker + 1, tag_to_worker, out_);
}

bool WorkerHub::due() {
  // The mean steps may jump past several values at once (an exchange reports tau steps).
  while (checked_ < steps())
    if (server_.monitor.due(++checked_)) return true;
  return false;
}

void WorkerHub::record(CSpan model, const std::string& name, MetricsRow extra) {
  std::uint64_t samples = 0;
  for (const std::uint64_t s : samples_) samples += s;
  const double bytes = double(server_.comm.traffic().bytes_sent + bytes_received_);
  extra.set("bytes_per_round", per_round(bytes, exchanges));
  const Monitor::Counters counters{0, steps(), samples, exchanges, std::uint64_t(bytes)};
  server_.monitor.record(server_.comm, counters, model, name, extra);
  checked_ = steps();
}

void WorkerHub::stop_workers() {
  for (int k = 0; k < workers_; ++k) send(k, kind::stop);
  // What workers sent before they saw the stop is dropped; each acknowledgement is a
  // worker's last word.
  for (int done = 0; done < workers_;)
    if (server_.comm.recv(comm::any_source, comm::any_tag).tag == tag_done) ++done;
}

}  // namespace herd::algo::elastic
