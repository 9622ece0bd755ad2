#include "herd/algo/server_channel.hpp"

#include <bit>
#include <cstring>
#include <string>

#include "herd/algo/checkpoint.hpp"
#include "herd/core/bytes.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

constexpr int tag_to_worker = 7001;
constexpr int tag_to_server = 7002;

// The fields a kind carries (the table in server_channel.hpp), in place: one per message.
InlineBytes<28> encode(const Envelope& h) {
  BasicByteWriter<InlineBytes<28>> out;
  out.put(std::uint32_t(h.kind));
  switch (h.kind) {
    case MessageKind::model:
    case MessageKind::stop:
      out.put(h.count);
      break;
    case MessageKind::result:
      out.put(h.count), out.put(h.samples), out.put(h.idle), out.put(h.wasted);
      break;
    case MessageKind::report:
    case MessageKind::exchange:
      out.put(h.count), out.put(h.samples);
      break;
    default:
      break;
  }
  return out.bytes;
}

Envelope decode_checked(const comm::Message& m) {
  try {
    ByteReader in(m.header, "a message header");
    Envelope h;
    const auto kind = in.get<std::uint32_t>();
    if (kind > std::uint32_t(MessageKind::done)) in.corrupt("an unknown message kind");
    h.kind = MessageKind(kind);
    switch (h.kind) {
      case MessageKind::model:
      case MessageKind::stop:
        h.count = in.get<std::uint64_t>();
        break;
      case MessageKind::result:
        h.count = in.get<std::uint64_t>(), h.samples = in.get<std::uint64_t>();
        h.idle = in.get<float>(), h.wasted = in.get<float>();
        break;
      case MessageKind::report:
      case MessageKind::exchange:
        h.count = in.get<std::uint64_t>(), h.samples = in.get<std::uint64_t>();
        break;
      default:
        break;
    }
    in.expect_end("a message header");
    return h;
  } catch (const IoError& e) {
    throw CommError("from rank " + std::to_string(m.source) + ": " + e.what());
  }
}

// The two headers of every update (a model or the stop, a result) read in place; any other,
// and every header that does not fit its kind, through the checked reader, which names what
// is wrong. Both accept the same headers.
Envelope decode(const comm::Message& m) {
  if constexpr (std::endian::native == std::endian::little) {
    const std::span<const unsigned char> b = m.header;
    std::uint32_t kind = ~0u;
    if (b.size() >= 4) std::memcpy(&kind, b.data(), 4);
    Envelope h;
    h.kind = MessageKind(kind);
    if ((h.kind == MessageKind::model || h.kind == MessageKind::stop) && b.size() == 12) {
      std::memcpy(&h.count, b.data() + 4, 8);
      return h;
    }
    if (h.kind == MessageKind::result && b.size() == 28) {
      std::memcpy(&h.count, b.data() + 4, 8);
      std::memcpy(&h.samples, b.data() + 12, 8);
      std::memcpy(&h.idle, b.data() + 20, 4);
      std::memcpy(&h.wasted, b.data() + 24, 4);
      return h;
    }
  }
  return decode_checked(m);
}

void read_letter(comm::Message&& m, int worker, Letter& into) {
  into.worker = worker;
  into.head = decode(m);
  into.payload = std::move(m.data);
}

}  // namespace

// ---- Server ------------------------------------------------------------------------------

ServerEnd::ServerEnd(Worker& server)
    : server_(server),
      workers_(server.comm.size() - 1),
      last_count_(std::size_t(workers_), 0),
      last_samples_(std::size_t(workers_), 0),
      last_idle_(std::size_t(workers_), 0.0),
      last_wasted_(std::size_t(workers_), 0.0) {}

bool ServerEnd::start() {
  Checkpointer* checkpointer = server_.checkpointer;
  if (checkpointer == nullptr) return false;
  server_.algo_state.add("channel.count", last_count_)
      .add("channel.samples", last_samples_)
      .add("channel.idle", last_idle_)
      .add("channel.wasted", last_wasted_)
      .add("channel.sum_of_counts", sum_of_counts_)
      .add("channel.bytes_received", bytes_received_)
      .add("channel.resumes", resumes_);
  checkpointer->first_step(server_);
  if (!checkpointer->resuming()) return false;
  ++resumes_;
  std::vector<double> where{double(resumes_), server_.comm.now()};
  for (std::size_t k = 0; k < std::size_t(workers_); ++k)
    where.insert(where.end(), {double(last_count_[k]), double(last_samples_[k]), last_idle_[k],
                               last_wasted_[k]});
  comm::Unmetered quiet(server_.comm);
  server_.comm.broadcast(std::span<double>(where), server_rank);
  server_.comm.broadcast(Span(server_.x), server_rank);
  return true;
}

std::vector<std::vector<float>> ServerEnd::receive_starts() {
  auto starts = std::vector<std::vector<float>>(std::size_t(workers_));
  for (int k = 0; k < workers_; ++k) {
    comm::Message m = server_.comm.recv(k + 1, tag_to_server);
    if (decode(m).kind != MessageKind::start || m.data.size() != server_.x.size())
      throw CommError("server: worker " + std::to_string(k) + " should start with " +
                      std::to_string(server_.x.size()) + " parameters, sent " +
                      std::to_string(m.data.size()));
    starts[std::size_t(k)] = std::move(m.data);
  }
  return starts;
}

void ServerEnd::send(int worker, const Envelope& head, CSpan payload) {
  server_.comm.send(worker + 1, tag_to_worker, payload, encode(head));
}

void ServerEnd::receive_any() {
  comm::Message m = server_.comm.recv(comm::any_source, tag_to_server);
  bytes_received_ += std::int64_t(m.header.size() + m.data.size() * sizeof(float));
  last_.worker = m.source - 1;
  last_.head = decode(m);
  last_.payload.swap(m.data);
  server_.comm.recycle(std::move(m.data));  // the previous message's, now read
  const Envelope& h = last_.head;
  const std::size_t k = std::size_t(last_.worker);
  if (h.kind == MessageKind::result || h.kind == MessageKind::report ||
      h.kind == MessageKind::exchange) {
    sum_of_counts_ += std::int64_t(h.count) - last_count_[k];
    last_count_[k] = std::int64_t(h.count);
    last_samples_[k] = std::int64_t(h.samples);
    last_idle_[k] = h.idle;
    last_wasted_[k] = h.wasted;
  }
}

void ServerEnd::check_payload(std::size_t expected) const {
  if (last_.payload.size() != expected)
    throw CommError("server: a message of kind " + std::to_string(unsigned(last_.head.kind)) +
                    " with " + std::to_string(last_.payload.size()) + " floats from worker " +
                    std::to_string(last_.worker) + " does not fit its kind");
}

Envelope ServerEnd::last_from(int worker) const {
  const std::size_t k = std::size_t(worker);
  Envelope h;
  h.count = std::uint64_t(last_count_[k]);
  h.samples = std::uint64_t(last_samples_[k]);
  h.idle = float(last_idle_[k]);
  h.wasted = float(last_wasted_[k]);
  return h;
}

std::uint64_t ServerEnd::bytes() const {
  return server_.comm.traffic().bytes_sent + std::uint64_t(bytes_received_);
}

void ServerEnd::checkpoint_if_due(std::int64_t steps_done, std::int64_t rounds) {
  if (server_.checkpointer != nullptr)
    server_.checkpointer->checkpoint_server_if_due(server_, steps_done, rounds);
}

void ServerEnd::stop_workers() {
  for (int k = 0; k < workers_; ++k) send(k, {.kind = MessageKind::stop});
  // What workers sent before they saw the stop is dropped; each done is a worker's last word.
  for (int done = 0; done < workers_;)
    if (decode(server_.comm.recv(comm::any_source, tag_to_server)).kind == MessageKind::done)
      ++done;
}

// ---- Worker ------------------------------------------------------------------------------

const int WorkerEnd::interrupt_tag = tag_to_worker;

WorkerEnd::WorkerEnd(Worker& w) : w_(w) {}

std::optional<Envelope> WorkerEnd::start() {
  Checkpointer* checkpointer = w_.checkpointer;
  if (checkpointer == nullptr) return std::nullopt;
  checkpointer->first_step(w_);
  if (!checkpointer->resuming()) return std::nullopt;
  comm::Communicator& c = w_.comm;
  std::vector<double> where(2 + 4 * std::size_t(c.size() - 1));
  {
    comm::Unmetered quiet(c);
    c.broadcast(std::span<double>(where), server_rank);
    c.broadcast(Span(w_.x), server_rank);
  }
  const std::size_t at = 2 + 4 * std::size_t(w_.worker_index());
  Envelope last;
  last.count = std::uint64_t(where[at]);
  last.samples = std::uint64_t(where[at + 1]);
  last.idle = float(where[at + 2]);
  last.wasted = float(where[at + 3]);
  w_.gradients = last.samples;
  comm::RuntimeState runtime = c.save_runtime_state();
  runtime.clock = where[1];
  c.restore_runtime_state(runtime);
  w_.objective->restart_stream(std::uint64_t(where[0]), w_.gradients);
  return last;
}

void WorkerEnd::send_start() {
  comm::Unmetered quiet(w_.comm);
  w_.comm.send(server_rank, tag_to_server, w_.x, encode({.kind = MessageKind::start}));
}

void WorkerEnd::send(Envelope head, CSpan payload) {
  head.samples = w_.gradients;
  w_.comm.send(server_rank, tag_to_server, payload, encode(head));
}

void WorkerEnd::wait(Letter& into) {
  read_letter(w_.comm.recv(server_rank, tag_to_worker), w_.worker_index(), into);
}

WorkerEnd::Notice WorkerEnd::receive_model(Span x) {
  return read_model(w_.comm.recv(server_rank, tag_to_worker), x);
}

// Out of line: the header stays out of the frame that waits for the message.
WorkerEnd::Notice WorkerEnd::read_model(comm::Message&& m, Span x) {
  const Envelope head = decode(m);
  const bool stop = head.kind == MessageKind::stop;
  if ((!stop && head.kind != MessageKind::model) || (!m.data.empty() && m.data.size() != x.size()))
      [[unlikely]]
    not_a_model(head.kind, m.data.size(), x.size());
  if (!m.data.empty()) copy(m.data, x);
  w_.comm.recycle(std::move(m.data));
  return {.stop = stop, .count = head.count};
}

// Out of line: the message's temporaries stay out of receive_model's frame.
void WorkerEnd::not_a_model(MessageKind kind, std::size_t floats, std::size_t dim) const {
  throw CommError(
      "worker " + std::to_string(w_.worker_index()) + ": the server sent " +
      (kind == MessageKind::model
           ? "a model of " + std::to_string(floats) + " parameters for " + std::to_string(dim)
           : "a message of kind " + std::to_string(unsigned(kind)) +
                 " where a model or the stop was due"));
}

std::optional<Letter> WorkerEnd::poll() {
  std::optional<comm::Message> m = w_.comm.try_recv(server_rank, tag_to_worker);
  if (!m) return std::nullopt;
  Letter l;
  read_letter(std::move(*m), w_.worker_index(), l);
  return l;
}

void WorkerEnd::acknowledge_stop() {
  w_.comm.send(server_rank, tag_to_server, {}, encode({.kind = MessageKind::done}));
}

}  // namespace herd::algo
