#pragma once
// Per-rank programs that every runtime must run with the same results: the conformance suite
// of the in-process runtimes (tests/comm) and the MPI tests (tests/mpi) run them, and check
// what they received against exact values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "herd/comm/communicator.hpp"

namespace herd::test {

// The three shapes of a message with a header beside its payload.
enum class Shape { payload_only, header_only, both };
inline constexpr Shape every_shape[] = {Shape::payload_only, Shape::header_only, Shape::both};

// What rank `source` sends in a message of `shape`: values of its own, every byte value
// 0x00..0xff at some source, and a 5-byte header (not a whole number of 4-byte words).
inline std::vector<float> payload_of(int source, Shape shape) {
  if (shape == Shape::header_only) return {};
  return {float(source), 1.5f, -2.75e-3f * float(source + 1), 3e38f};
}
inline std::vector<unsigned char> header_of(int source, Shape shape) {
  if (shape == Shape::payload_only) return {};
  return {static_cast<unsigned char>(source), 0x00, 0xff, 0x80,
          static_cast<unsigned char>(255 - source)};
}

// Every rank but 0 sends rank 0 one message of each shape for each way of receiving it
// (recv from the rank, recv from any_source, try_recv from the rank), then an empty message
// (tag done_tag). Rank 0 receives the empty messages first: each came after its source's
// other messages, so those have arrived when it tries them. Rank 0 checks every message and
// returns them by tag and source; the other ranks return none. Needs two ranks.
inline std::vector<comm::Message> exchange_headers(comm::Communicator& c) {
  constexpr int done_tag = 99;
  auto tag_of = [](int way, Shape shape) { return 10 * way + int(shape); };
  const int P = c.size();
  std::vector<comm::Message> received;
  if (c.rank() != 0) {
    for (int way = 0; way < 3; ++way)
      for (Shape shape : every_shape)
        c.send(0, tag_of(way, shape), payload_of(c.rank(), shape), header_of(c.rank(), shape));
    c.send(0, done_tag, {});
    return received;
  }
  auto expect_message = [&](const comm::Message& m, int tag, Shape shape) {
    EXPECT_EQ(m.tag, tag);
    EXPECT_EQ(m.data, payload_of(m.source, shape)) << "from rank " << m.source << ", tag " << tag;
    EXPECT_EQ(m.header, header_of(m.source, shape)) << "from rank " << m.source << ", tag " << tag;
    received.push_back(m);
  };
  for (int s = 1; s < P; ++s) {
    const comm::Message done = c.recv(s, done_tag);
    EXPECT_EQ(done.source, s);
    EXPECT_TRUE(done.data.empty());
    EXPECT_TRUE(done.header.empty());
  }
  for (Shape shape : every_shape) {
    for (int s = 1; s < P; ++s) {  // from the rank
      const comm::Message m = c.recv(s, tag_of(0, shape));
      EXPECT_EQ(m.source, s);
      expect_message(m, tag_of(0, shape), shape);
    }
    std::vector<int> from(static_cast<std::size_t>(P), 0);
    for (int i = 1; i < P; ++i) {  // from any source: each source once
      const comm::Message m = c.recv(comm::any_source, tag_of(1, shape));
      EXPECT_EQ(++from[std::size_t(m.source)], 1) << "rank " << m.source << " twice";
      expect_message(m, tag_of(1, shape), shape);
    }
    for (int s = 1; s < P; ++s) {  // what has arrived
      const auto m = c.try_recv(s, tag_of(2, shape));
      if (!m) {
        ADD_FAILURE() << "no message from rank " << s << " with tag " << tag_of(2, shape);
        continue;
      }
      EXPECT_EQ(m->source, s);
      expect_message(*m, tag_of(2, shape), shape);
    }
  }
  EXPECT_FALSE(c.try_recv(comm::any_source, comm::any_tag).has_value());
  // Which source an any_source receive meets first is up to the runtime's schedule: the
  // messages are returned by tag and source, an order every runtime agrees on.
  std::stable_sort(received.begin(), received.end(),
                   [](const comm::Message& a, const comm::Message& b) {
                     return std::pair{a.tag, a.source} < std::pair{b.tag, b.source};
                   });
  return received;
}

// The bytes root `root` broadcasts: every byte value, in an order of its own.
inline std::vector<unsigned char> broadcast_bytes_of(int root, std::size_t n) {
  std::vector<unsigned char> b(n);
  for (std::size_t i = 0; i < n; ++i)
    b[i] = static_cast<unsigned char>((7 * i + 13 * std::size_t(root)) % 256);
  return b;
}

// A byte broadcast from every root, of 1031 bytes and of none; returns what this rank
// received, checked against the root's bytes.
inline std::vector<unsigned char> broadcast_bytes_from_every_root(comm::Communicator& c) {
  std::vector<unsigned char> seen;
  for (int root = 0; root < c.size(); ++root) {
    const auto expected = broadcast_bytes_of(root, 1031);
    std::vector<unsigned char> b =
        c.rank() == root ? expected : std::vector<unsigned char>(expected.size(), 0xaa);
    c.broadcast(b, root);
    EXPECT_EQ(b, expected) << "from root " << root;
    seen.insert(seen.end(), b.begin(), b.end());
    std::vector<unsigned char> none;
    c.broadcast(none, root);
  }
  return seen;
}

}  // namespace herd::test
