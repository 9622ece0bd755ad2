#pragma once
// One protocol between a server (rank 0, server_rank) and its workers (worker k on rank
// k + 1), shared by the parameter-server family (ps.hpp) and the asynchronous forms of
// EASGD and Leader SGD: the message kinds with their typed header, the tags, the byte
// counting, the stop and drain at the end of a job, and the server's checkpoints with the
// workers' restart.
//
// Messages carry an Envelope (the header) beside their float payload. The header is
// encoded with the fields its kind uses (kind as 32 bits, counts as 64, seconds as 32-bit
// floats) and counts in the bytes like the payload:
//   kind      direction          header fields                   payload
//   model     server -> worker   count = the model's version     x, or none when the worker
//                                                                holds that version already
//   stop      server -> worker   count = the server's version    none
//   call      server -> worker   -                               none
//   reply     server -> worker   -                               the algorithm's
//   start     worker -> server   -                               its starting point (unmetered)
//   result    worker -> server   count = version computed at,    a gradient, or the delta
//                                samples, idle, wasted           of local steps
//   report    worker -> server   count = local steps, samples    none
//   exchange  worker -> server   count = local steps, samples    the algorithm's
//   done      worker -> server   -                               none: the stop is acknowledged
// `samples` is the worker's count of samples whose gradients it completed, `idle` and
// `wasted` its seconds spent waiting for the server and on work a restart interrupted, all
// so far. Messages from the server share one tag, so any of them interrupts a worker's
// compute (WorkerEnd::interrupt_tag); messages to the server share another. A stop ends a
// worker, which answers done, its last word; the server consumes everything until every
// worker has answered, so no message is left in flight when the job ends (the simulator
// and MPI need that).
//
// Checkpoints (checkpoint.hpp) are the server's alone. ServerEnd::start() and
// WorkerEnd::start() are collective: when the job resumes, the server restores its state
// (what the algorithm registered in its algo_state, and the channel's: every worker's last
// header, the bytes received, the resume generation) and tells every worker where it
// stood; each worker restarts from the server's x, with its counters as the server last
// heard them, at the server's clock, on a fresh stretch of its sample stream (no minibatch
// of the interrupted run comes again). ServerEnd::checkpoint_if_due() after each message
// handled writes one when due.
#include <cstdint>
#include <optional>
#include <vector>

#include "herd/algo/algorithm.hpp"
#include "herd/algo/worker.hpp"
#include "herd/comm/communicator.hpp"

namespace herd::algo {

enum class MessageKind : std::uint32_t {
  model,
  stop,
  call,
  reply,
  start,
  result,
  report,
  exchange,
  done
};

struct Envelope {
  MessageKind kind = MessageKind::model;
  std::uint64_t count = 0;     // a model version, or a worker's local steps (table above)
  std::uint64_t samples = 0;   // worker -> server: samples whose gradients it completed
  float idle = 0, wasted = 0;  // result: the worker's seconds waiting / on interrupted work
};

// A message as the receiver sees it: the decoded header and the payload.
struct Letter {
  int worker = 0;  // the worker it comes from or goes to (0..K-1)
  Envelope head;
  std::vector<float> payload;
};

// The server's end: rank 0.
class ServerEnd {
 public:
  explicit ServerEnd(Worker& server);
  int workers() const { return workers_; }

  // Collective with every WorkerEnd::start() (see above); the algorithm has registered its
  // own state in server.algo_state. Returns whether the job resumed.
  bool start();
  // Every worker's starting point, in worker order (not after a resume: the server's state
  // holds what it made of them).
  std::vector<std::vector<float>> receive_starts();

  void send(int worker, const Envelope& head, CSpan payload = {});
  // The next message from any worker. CommError unless its payload has
  // payload_size(kind) floats (a function of the kind; SIZE_MAX: no message of that kind).
  template <class PayloadSize>
  const Letter& receive(PayloadSize&& payload_size) {
    receive_any();
    check_payload(payload_size(last_.head.kind));
    return last_;
  }
  // The counters of the last header worker k sent (zero before its first).
  Envelope last_from(int worker) const;
  // The sum of the workers' last counts: their local steps so far, where they report them.
  std::int64_t sum_of_counts() const { return sum_of_counts_; }
  // Everything that went through the server: bytes it sent plus bytes it received.
  std::uint64_t bytes() const;

  // Writes the server's checkpoint when due after `steps_done` steps and `rounds` rounds.
  void checkpoint_if_due(std::int64_t steps_done, std::int64_t rounds);
  // Stops every worker and consumes what they still send until each has answered done.
  void stop_workers();

 private:
  void receive_any();
  void check_payload(std::size_t expected) const;

  Worker& server_;
  int workers_;
  Letter last_;
  // Per worker, from its last header (one vector per field, as checkpoints keep them).
  std::vector<std::int64_t> last_count_, last_samples_;
  std::vector<double> last_idle_, last_wasted_;
  std::int64_t sum_of_counts_ = 0;
  std::int64_t bytes_received_ = 0;
  std::int64_t resumes_ = 0;  // of this job from checkpoints, so far
};

// A worker's end: rank k + 1.
class WorkerEnd {
 public:
  explicit WorkerEnd(Worker& w);
  // Messages from the server interrupt the worker's compute with this tag
  // (Worker::compute_gradient_unless).
  static const int interrupt_tag;

  // Collective with ServerEnd::start(). When the job resumes: restarts the worker where the
  // server last heard of it (above) and returns that header; otherwise nullopt.
  std::optional<Envelope> start();
  // Sends this worker's starting point (unmetered set-up, not after a resume).
  void send_start();
  // Sends a message; `samples` is filled in from the worker's count.
  void send(Envelope head, CSpan payload = {});
  // The server's next message, waiting for it / only if it has arrived by now. wait(into)
  // fills a letter in place (a waiting worker's frames hold no second one).
  Letter wait() {
    Letter l;
    wait(l);
    return l;
  }
  void wait(Letter& into);
  std::optional<Letter> poll();
  // The parameter-server worker's wait (ps.cpp): the server's next message, a model or the
  // stop; a model's payload (when it carries one) is copied into x and its buffer handed
  // back. The message itself stays in this call's frame: a worker waiting here holds no
  // letter (on the simulator, a waiting worker's frames are the largest part of what it costs).
  struct Notice {
    bool stop = false;
    std::uint64_t count = 0;  // the model's version (the server's, for a stop)
  };
  Notice receive_model(Span x);
  // The last word: acknowledges the stop.
  void acknowledge_stop();

 private:
  [[gnu::noinline]] Notice read_model(comm::Message&& m, Span x);
  [[noreturn, gnu::cold, gnu::noinline]] void not_a_model(MessageKind kind, std::size_t floats,
                                                          std::size_t dim) const;
  Worker& w_;
};

}  // namespace herd::algo
