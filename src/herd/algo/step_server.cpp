#include "herd/algo/step_server.hpp"

namespace herd::algo {

bool StepServer::start() {
  if (server_.checkpointer != nullptr)
    server_.algo_state.add("exchanges", exchanges).add("checked", checked_);
  return channel_.start();
}

bool StepServer::due() {
  while (checked_ < steps())
    if (server_.monitor.due(++checked_)) return true;
  return false;
}

void StepServer::record(CSpan model, const std::string& name, MetricsRow extra) {
  std::uint64_t samples = 0;
  for (int k = 0; k < channel_.workers(); ++k) samples += channel_.last_from(k).samples;
  const std::uint64_t bytes = channel_.bytes();
  extra.set("bytes_per_round", bytes_per_round(double(bytes), exchanges));
  const Monitor::Counters counters{0, steps(), samples, exchanges, bytes};
  server_.monitor.record(server_.comm, counters, model, name, extra);
  checked_ = steps();
}

}  // namespace herd::algo
