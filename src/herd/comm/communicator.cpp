#include "herd/comm/communicator.hpp"

#include "herd/comm/traffic.hpp"

namespace herd::comm {

void Communicator::count(std::uint64_t bytes, bool collective) {
  if (!metered_) return;
  for (Communicator* c = this; c != nullptr; c = c->parent_) {
    c->traffic_.bytes_sent += bytes;
    (collective ? c->traffic_.collectives : c->traffic_.messages) += 1;
  }
}

std::unique_ptr<Communicator> Communicator::split(int color, int key) {
  auto child = do_split(color, key);
  child->parent_ = this;
  return child;
}

void Communicator::allreduce(Span buf, ReduceOp op) {
  count(traffic::allreduce_bytes(buf.size_bytes(), size()), true);
  do_allreduce(buf.data(), buf.size(), DType::f32, op);
}
void Communicator::allreduce(std::span<double> buf, ReduceOp op) {
  count(traffic::allreduce_bytes(buf.size_bytes(), size()), true);
  do_allreduce(buf.data(), buf.size(), DType::f64, op);
}
void Communicator::broadcast(Span buf, int root) {
  count(traffic::broadcast_bytes(buf.size_bytes(), size(), rank() == root), true);
  do_broadcast(buf.data(), buf.size(), DType::f32, root);
}
void Communicator::broadcast(std::span<double> buf, int root) {
  count(traffic::broadcast_bytes(buf.size_bytes(), size(), rank() == root), true);
  do_broadcast(buf.data(), buf.size(), DType::f64, root);
}
void Communicator::broadcast(std::span<unsigned char> buf, int root) {
  count(traffic::broadcast_bytes(buf.size_bytes(), size(), rank() == root), true);
  do_broadcast(buf.data(), buf.size(), DType::u8, root);
}
void Communicator::allgather(CSpan mine, Span all) {
  count(traffic::allgather_bytes(mine.size_bytes(), size()), true);
  do_allgather(mine.data(), all.data(), mine.size(), DType::f32);
}
void Communicator::allgather(std::span<const double> mine, std::span<double> all) {
  count(traffic::allgather_bytes(mine.size_bytes(), size()), true);
  do_allgather(mine.data(), all.data(), mine.size(), DType::f64);
}
void Communicator::barrier() {
  do_barrier();
}
void Communicator::send(int dest, int tag, CSpan data, std::span<const unsigned char> header) {
  count(traffic::message_bytes(header.size(), data.size()), false);
  do_send(dest, tag, data, header);
}
Message Communicator::recv(int source, int tag) {
  return do_recv(source, tag);
}

void Communicator::save_state(ByteWriter& out) const {
  out.put(traffic_.bytes_sent), out.put(traffic_.collectives), out.put(traffic_.messages);
  const RuntimeState rt = save_runtime_state();
  out.put(rt.clock);
  out.put(rt.noise.has_value());
  if (rt.noise) rt.noise->save(out);
  out.put(rt.faults_fired);
}

void Communicator::load_state(ByteReader& in) {
  Traffic t;
  t.bytes_sent = in.get<std::uint64_t>();
  t.collectives = in.get<std::uint64_t>();
  t.messages = in.get<std::uint64_t>();
  restore_traffic(t);
  RuntimeState rt;
  rt.clock = in.get<double>();
  if (in.get<bool>()) rt.noise = Rng::State::load(in);
  rt.faults_fired = in.get<std::uint64_t>();
  restore_runtime_state(rt);
}

}  // namespace herd::comm
