// Asynchronous EASGD (ALGORITHMS.md 1.3) over the message layer of easgd_lsgd_common.hpp.
// Worker k, every tau of its own steps, sends an exchange [x_k] and waits; the server
// computes e = alpha (x_k - xt), sets xt <- xt + e and replies [e]; the worker sets
// x_k <- x_k - e. A worker checks for the stop after every step without waiting.
#include <string>
#include <vector>

#include "herd/algo/easgd.hpp"
#include "herd/algo/easgd_lsgd_common.hpp"
#include "herd/algo/registry.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

void serve(Worker& w, float alpha) {
  elastic::WorkerHub hub(w);
  const std::size_t d = w.x.size();
  std::vector<std::vector<float>> starts;
  hub.receive_starts([&](int, CSpan x) { starts.emplace_back(x.begin(), x.end()); });
  const std::vector<CSpan> start_spans(starts.begin(), starts.end());
  mean_of(start_spans, w.x);  // the center
  starts.clear();

  const auto payload_size = [d](float what) {
    return what == elastic::kind::exchange ? d : std::size_t(-1);
  };
  std::vector<float> elastic_step(d);
  hub.record(w.x, "center", {});
  while (hub.keep_going()) {
    const elastic::WorkerHub::Request r = hub.receive(payload_size);
    for (std::size_t i = 0; i < d; ++i) {
      elastic_step[i] = alpha * (r.payload[i] - w.x[i]);
      w.x[i] += elastic_step[i];
    }
    hub.send(r.worker, elastic::kind::reply, elastic_step);
    ++hub.exchanges;
    if (hub.due()) hub.record(w.x, "center", {});
  }
  hub.stop_workers();
}

void work(Worker& w, const ElasticSettings& s) {
  elastic::ServerLink link(w);
  const std::int64_t period = s.period;
  for (std::int64_t t = 0;; ++t) {
    w.compute_gradient(t);
    w.local_step(t);
    if (link.poll()) break;  // only the stop comes unasked
    if ((t + 1) % period != 0) continue;
    link.send(elastic::kind::exchange, t + 1, w.x);
    const comm::Message m = link.wait();
    if (m.data.at(0) == elastic::kind::stop) break;
    axpy(-1.0f, CSpan(m.data).subspan(1), w.x);
    ++w.rounds;
  }
  link.acknowledge_stop();
}

}  // namespace

void AsyncEasgd::run(Worker& w) {
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
        .checkpoints = false,  // no server-state scheme yet
        .make = [](const ElasticSettings& s) { return std::make_unique<AsyncEasgd>(s); }});

}  // namespace herd::algo
