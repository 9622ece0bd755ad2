// Asynchronous EASGD over server_channel.hpp (the server's side: step_server.hpp). Worker k,
// every tau of its own steps, sends an exchange [x_k] and waits; the server computes
// e = alpha (x_k - xt), sets xt <- xt + e and replies [e]; the worker sets x_k <- x_k - e. A
// worker checks for the stop after every step without waiting. After a resume from the
// server's checkpoint every worker restarts from the center.
#include <string>
#include <vector>

#include "herd/algo/easgd.hpp"
#include "herd/algo/registry.hpp"
#include "herd/algo/step_server.hpp"

namespace herd::algo {
namespace {

void serve(Worker& w, float alpha) {
  StepServer server(w);
  ServerEnd& channel = server.channel();
  const std::size_t d = w.x.size();
  if (!server.start()) {  // the center starts at the mean of the workers' starting points
    const std::vector<std::vector<float>> starts = channel.receive_starts();
    mean_of(std::vector<CSpan>(starts.begin(), starts.end()), w.x);
    server.record(w.x, "center", {});
  }
  const auto payload_size = [d](MessageKind kind) {
    return kind == MessageKind::exchange ? d : std::size_t(-1);
  };
  std::vector<float> elastic_step(d);
  while (server.keep_going()) {
    const Letter& r = channel.receive(payload_size);
    for (std::size_t i = 0; i < d; ++i) {
      elastic_step[i] = alpha * (r.payload[i] - w.x[i]);
      w.x[i] += elastic_step[i];
    }
    channel.send(r.worker, {.kind = MessageKind::reply}, elastic_step);
    ++server.exchanges;
    if (server.due()) server.record(w.x, "center", {});
    server.checkpoint_if_due();
  }
  channel.stop_workers();
}

void work(Worker& w, const ElasticSettings& s) {
  WorkerEnd link(w);
  std::int64_t first = 0;
  if (const std::optional<Envelope> resumed = link.start())
    first = std::int64_t(resumed->count);
  else
    link.send_start();
  const std::int64_t period = s.period;
  for (std::int64_t t = first;; ++t) {
    w.compute_gradient(t);
    w.local_step(t);
    if (link.poll()) break;  // only the stop comes unasked
    if ((t + 1) % period != 0) continue;
    link.send({.kind = MessageKind::exchange, .count = std::uint64_t(t + 1)}, w.x);
    const Letter m = link.wait();
    if (m.head.kind == MessageKind::stop) break;
    axpy(-1.0f, m.payload, w.x);
    ++w.rounds;
  }
  link.acknowledge_stop();
}

}  // namespace

void AsyncEasgd::run(Worker& w) const {
  const float alpha = float(*settings_.elastic_alpha);
  if (w.comm.rank() == server_rank)
    serve(w, alpha);
  else
    work(w, settings_);
}

HERD_REGISTER_ALGORITHM(
    async_easgd,
    AlgorithmDef<ElasticSettings>{
        .name = "async_easgd",
        .summary = "Asynchronous EASGD: a server holds the center; each worker exchanges with it "
                   "every algo.period of its own steps.",
        .order = 70,
        .needs_server = true,
        .make = [](const ElasticSettings& s) { return std::make_unique<AsyncEasgd>(s); }});

}  // namespace herd::algo
