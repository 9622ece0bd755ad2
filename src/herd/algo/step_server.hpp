#pragma once
// The server of asynchronous EASGD and Leader SGD (easgd_async.cpp, lsgd_async.cpp) over
// server_channel.hpp. Its step count is the workers' mean local steps, from their reports
// and exchanges, so that a step means the same as in the synchronous forms (stop.steps,
// eval.every); each row carries bytes_per_round, the bytes that went through the server
// (sent and received) over the exchanges, which are its communication rounds.
#include <cstdint>
#include <string>

#include "herd/algo/server_channel.hpp"

namespace herd::algo {

class StepServer {
 public:
  explicit StepServer(Worker& server) : server_(server), channel_(server) {}
  ServerEnd& channel() { return channel_; }

  // Collective with the workers' WorkerEnd::start(), after the algorithm registered its own
  // state: whether the job resumed from the server's checkpoint.
  bool start();
  std::int64_t steps() const { return channel_.sum_of_counts() / channel_.workers(); }
  bool keep_going() const { return server_.monitor.keep_going(steps()); }
  // Whether the mean steps passed a value at which the monitor wants an evaluation (they
  // may jump past several at once: an exchange reports tau steps).
  bool due();
  // Evaluates `model` as `name` (Monitor::record) with `extra` fields and bytes_per_round.
  void record(CSpan model, const std::string& name, MetricsRow extra);
  // After each message handled: the server's checkpoint, when due.
  void checkpoint_if_due() { channel_.checkpoint_if_due(steps(), exchanges); }

  std::int64_t exchanges = 0;  // the communication rounds

 private:
  Worker& server_;
  ServerEnd channel_;
  std::int64_t checked_ = 0;  // mean steps already looked at by due()
};

}  // namespace herd::algo
