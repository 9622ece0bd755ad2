#pragma once
// What Elastic Averaging SGD and Leader SGD (ALGORITHMS.md 1.3, 1.4) share: argument checks,
// the leader's score, the bytes-per-round metric, and the message layer of their
// asynchronous forms (a server on rank 0, worker k on rank k + 1).
//
// Asynchronous message layer. Every worker first sends the server its starting point (the
// "hello", unmetered: it is set-up, like the common x_0 every rank already holds). Then
// worker -> server messages are [kind, steps (2 floats), samples (2 floats), payload], where
// steps and samples are the worker's own counts so far, and server -> worker messages are
// [kind, payload]. A stop ends a worker, which acknowledges it with an empty done message,
// its last word; the server consumes everything until every worker has acknowledged, so no
// message is left in flight when the job ends (the simulator and MPI need that).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "herd/algo/algorithm.hpp"
#include "herd/algo/worker.hpp"

namespace herd::algo::elastic {

// InvalidInput unless the leader's window m = algo.leader_window holds at least one loss.
void check_leader_window(int m);
// Leader SGD's pull toward the leader copy at every local step: g += lambda (x - copy).
void add_pull(Span g, CSpan x, CSpan copy, float lambda);

// The running mean of a worker's last m minibatch losses, its score for the leadership
// (lower is better); +infinity before the first loss.
class LossWindow {
 public:
  explicit LossWindow(int m);  // check_leader_window(m)
  void push(double loss);
  double mean() const;
  // Registers the window with a checkpoint's algorithm state.
  void keep_in(AlgoState& state) {
    state.add("loss_window", losses_).add("loss_next", next_).add("loss_count", count_);
  }

 private:
  std::vector<double> losses_;
  std::size_t next_ = 0, count_ = 0;
};

// The best score's index; ties go to the lowest index.
int best_of(std::span<const double> scores);

// Bytes per communication round: the job's bytes so far over its rounds (0 before the first).
double per_round(double bytes, std::int64_t rounds);
// Collective and unmetered: the bytes every rank of `c` has sent so far, summed.
double bytes_sent_by_all(comm::Communicator& c);

// ---- Asynchronous message layer --------------------------------------------------------

namespace kind {
// worker -> server
inline constexpr float report = 0, exchange = 1;
// server -> worker
inline constexpr float call = 2, reply = 3, stop = 4;
}  // namespace kind
inline constexpr std::size_t request_header = 5;  // kind, steps (2), samples (2)

// A worker's side: sends its hello on construction.
class ServerLink {
 public:
  explicit ServerLink(Worker& w);
  // Sends [kind, steps, samples, payload] to the server without waiting.
  void send(float what, std::int64_t steps, CSpan payload = {});
  // A server message that has arrived by now, if any.
  std::optional<comm::Message> poll();
  // Waits for the server's next message.
  comm::Message wait();
  // The last word: acknowledges the stop.
  void acknowledge_stop();

 private:
  Worker& w_;
  std::vector<float> out_;
};

// The server's side. Its evaluation schedule runs on the mean local steps per worker, so
// that a step means the same as in the synchronous forms (stop.steps, eval.every); each row
// carries bytes_per_round, the bytes that went through the server (sent and received) over
// the exchanges.
class WorkerHub {
 public:
  explicit WorkerHub(Worker& server);
  int workers() const { return workers_; }
  // Receives every worker's starting point, in worker order.
  void receive_starts(const std::function<void(int worker, CSpan x)>& take);

  struct Request {
    int worker = 0;
    float what = 0;
    CSpan payload;  // valid until the next receive()
  };
  // The next worker message (its step count taken into account); CommError unless its
  // payload has `payload_size(kind)` floats.
  Request receive(const std::function<std::size_t(float kind)>& payload_size);
  void send(int worker, float what, CSpan payload = {});

  std::int64_t total_steps() const { return total_steps_; }
  std::int64_t steps() const { return total_steps_ / workers_; }  // per worker, on average
  bool keep_going() const { return server_.monitor.keep_going(steps()); }
  // Whether the mean steps passed a value at which the monitor wants an evaluation.
  bool due();
  // Evaluates `model` as `name` (Monitor::record) with `extra` fields and bytes_per_round.
  void record(CSpan model, const std::string& name, MetricsRow extra);
  std::int64_t exchanges = 0;  // the communication rounds

  // Stops every worker and consumes what they still send until each has acknowledged.
  void stop_workers();

 private:
  Worker& server_;
  int workers_;
  std::vector<std::int64_t> steps_;
  std::vector<std::uint64_t> samples_;
  std::int64_t total_steps_ = 0;
  std::int64_t checked_ = 0;  // mean steps already looked at by due()
  std::uint64_t bytes_received_ = 0;
  comm::Message last_;
  std::vector<float> out_;
};

}  // namespace herd::algo::elastic
