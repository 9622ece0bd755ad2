// Asynchronous Leader SGD over server_channel.hpp (the server's side: step_server.hpp): rank 0
// is the server, worker k runs on rank k + 1.
//
// Protocol. After every local step a worker looks, without waiting, for a server message:
//   - none: it sends a report [steps] and goes on with its next step;
//   - a call: it sends an exchange [steps, score, x] and waits for the reply
//     [leader, x_leader], then pulls x <- x - lambda (x - x_leader) unless it is the leader
//     (with pull_every_step it keeps x_leader as the copy it is pulled toward at each step);
//   - the stop (also possible instead of a reply): it acknowledges and ends.
// A worker's score is the mean of its last m = leader_window minibatch losses, sent as a
// float. The server keeps each worker's step count from its messages, the global counter
// (their sum) and the leader: the worker index, its score and its x as sent (some worker's
// actual iterate). Each time the global counter crosses a multiple of K tau, every worker
// owes one communication, and the next message of each such worker (K requests in all)
// draws a call, unless a call to it is still outstanding. So every worker communicates
// about once per K tau global steps, and faster workers take more local steps in between.
// An exchange makes its sender the leader when it beats the leader's score, or updates the
// copy (and score) when the sender is the leader already.
//
// Flow control: a worker that has sent K tau reports since its last exchange (or its start)
// waits for the server. Its own reports have moved the global counter across a multiple of
// K tau since then, so the server calls it once it has read them: the wait ends with that
// call (or the stop) and cannot deadlock. It never triggers while the server keeps up; it
// keeps a worker whose server lags (threads with free compute) from running ahead unpulled.
//
// The server starts with worker 0's starting point as the leader (worker 0 until the first
// exchange), evaluates it (the model "leader") on the mean local steps per worker, and adds
// leader, leader_switches and bytes_per_round to each row.
//
// Checkpoints are the server's (server_channel.hpp): after a resume every worker restarts
// from the leader's x at the step the server last heard of, with an empty loss window, and
// no call is outstanding.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "herd/algo/knobs.hpp"
#include "herd/algo/leader.hpp"
#include "herd/algo/lsgd.hpp"
#include "herd/algo/registry.hpp"
#include "herd/algo/step_server.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

void serve(Worker& w, const AsyncLeaderSettings& s) {
  StepServer server(w);
  ServerEnd& channel = server.channel();
  const int workers = channel.workers();
  const std::size_t d = w.x.size();

  // The leader; w.x is its copy.
  std::int64_t leader = 0;
  bool chosen = false;  // by an exchange (worker 0's start is a placeholder)
  double leader_score = std::numeric_limits<double>::infinity();
  std::int64_t switches = 0;
  const std::int64_t round_steps = std::int64_t(workers) * s.period;
  std::int64_t next_round_at = round_steps;
  std::vector<std::int64_t> owed(std::size_t(workers), 0);
  std::vector<char> called(std::size_t(workers), 0);  // none outstanding after a resume
  w.algo_state.add("leader", leader)
      .add("chosen", chosen)
      .add("leader_score", leader_score)
      .add("switches", switches)
      .add("next_round_at", next_round_at)
      .add("owed", owed);
  auto record = [&] {
    MetricsRow extra;
    extra.set("leader", leader);
    extra.set("leader_switches", switches);
    server.record(w.x, "leader", extra);
  };
  if (!server.start()) {
    w.x = channel.receive_starts().front();
    record();
  }

  std::vector<float> reply(1 + d);
  const auto payload_size = [d](MessageKind kind) {
    if (kind == MessageKind::report) return std::size_t(0);
    if (kind == MessageKind::exchange) return 1 + d;
    return std::size_t(-1);  // no message of another kind fits
  };
  while (server.keep_going()) {
    const Letter& r = channel.receive(payload_size);
    const std::size_t k = std::size_t(r.worker);
    if (r.head.kind == MessageKind::exchange) {
      const double score = r.payload[0];
      if (r.worker == leader || score < leader_score) {
        if (chosen && r.worker != leader) ++switches;
        leader = r.worker, chosen = true, leader_score = score;
        copy(CSpan(r.payload).subspan(1), w.x);
      }
      reply[0] = float(leader);
      copy(w.x, Span(reply).subspan(1));
      channel.send(r.worker, {.kind = MessageKind::reply}, reply);
      called[k] = 0;
      ++server.exchanges;
    }
    for (; channel.sum_of_counts() >= next_round_at; next_round_at += round_steps)
      std::fill(owed.begin(), owed.end(), 1);
    if (owed[k] && !called[k]) {
      channel.send(r.worker, {.kind = MessageKind::call});
      owed[k] = 0, called[k] = 1;
    }
    if (server.due()) record();
    server.checkpoint_if_due();
  }
  channel.stop_workers();
}

void work(Worker& w, const AsyncLeaderSettings& s) {
  const float lambda = float(s.pull);
  WorkerEnd link(w);
  std::int64_t first = 0;
  if (const std::optional<Envelope> resumed = link.start())
    first = std::int64_t(resumed->count);
  else
    link.send_start();
  LossWindow window(s.leader_window);
  std::vector<float> exchange(1 + w.x.size()), leader_copy;
  bool leading = false;  // as of the last reply
  const std::int64_t patience = std::int64_t(w.comm.size() - 1) * s.period;
  std::int64_t reports = 0;  // since the last exchange
  for (std::int64_t t = first;; ++t) {
    window.push(w.compute_gradient(t));
    if (s.pull_every_step && !leader_copy.empty() && !leading)
      add_pull(w.g, w.x, leader_copy, lambda);
    w.local_step(t);

    std::optional<Letter> m = link.poll();
    if (!m) {
      link.send({.kind = MessageKind::report, .count = std::uint64_t(t + 1)});
      if (++reports < patience) continue;
      m = link.wait();  // the call is on its way (flow control, above)
    }
    if (m->head.kind == MessageKind::stop) break;
    reports = 0;
    exchange[0] = float(window.mean());
    copy(w.x, Span(exchange).subspan(1));
    link.send({.kind = MessageKind::exchange, .count = std::uint64_t(t + 1)}, exchange);
    const Letter r = link.wait();
    if (r.head.kind == MessageKind::stop) break;
    if (r.head.kind != MessageKind::reply || r.payload.size() != 1 + w.x.size())
      throw CommError("async_lsgd: worker " + std::to_string(w.worker_index()) +
                      " expected the leader's reply to its exchange, got kind " +
                      std::to_string(unsigned(r.head.kind)) + " with " +
                      std::to_string(r.payload.size()) + " floats");
    const CSpan leader_x = CSpan(r.payload).subspan(1);
    leading = int(r.payload[0]) == w.worker_index();
    if (!leading) {
      if (s.pull_every_step)
        leader_copy.assign(leader_x.begin(), leader_x.end());
      else
        pull_toward(w.x, leader_x, lambda);
    }
    ++w.rounds;
  }
  link.acknowledge_stop();
}

}  // namespace

const Knobs<AsyncLeaderSettings>& AsyncLeaderSettings::knobs() {
  using S = AsyncLeaderSettings;
  static const auto k = Knobs<S>()
                            .add(knobs::period(), &S::period)
                            .add(knobs::pull(), &S::pull)
                            .add(knobs::group_size(), &S::group_size)
                            .add(knobs::leader_window(), &S::leader_window)
                            .add(knobs::pull_every_step(), &S::pull_every_step);
  return k;
}

void AsyncLeaderSettings::resolve(const JobContext&) {
  if (group_size != 0)
    throw InvalidInput("algo.group_size = " + std::to_string(group_size) +
                       ": async_lsgd has no multi-leader form; set 0");
}

void AsyncLsgd::run(Worker& w) const {
  if (w.comm.rank() == server_rank)
    serve(w, settings_);
  else
    work(w, settings_);
}

HERD_REGISTER_ALGORITHM(
    async_lsgd,
    AlgorithmDef<AsyncLeaderSettings>{
        .name = "async_lsgd",
        .summary = "Asynchronous Leader SGD: a server keeps the leader and calls each worker to "
                   "an exchange about once per K algo.period global steps.",
        .order = 80,
        .needs_server = true,
        .make = [](const AsyncLeaderSettings& s) { return std::make_unique<AsyncLsgd>(s); }});

}  // namespace herd::algo
