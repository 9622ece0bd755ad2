// The MPI communicator against the in-process one: every collective gives exactly the bits
// the threads runtime gives on the same inputs (each MPI process runs the whole threads job
// itself and compares its own rank's results), messages and their headers keep MPI's
// matching rules, traffic counts agree, and a world of the wrong size is refused. Run under mpiexec
// with 2-4 ranks.
#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

#include "herd/comm/mpi.hpp"
#include "herd/comm/threads.hpp"
#include "herd/comm/traffic.hpp"
#include "herd/core/error.hpp"
#include "support/comm_programs.hpp"

namespace herd::comm {
namespace {

using Program = std::function<void(Communicator&)>;

int world_size() {
  return mpi_world_size();
}
int world_rank() {
  return mpi_world_rank();
}

// The bit patterns of every value a program saw, in order: comparing them compares bits,
// not values (0.0 == -0.0 and NaN != NaN would hide differences).
struct Bits {
  std::vector<std::uint64_t> seen;
  void add(std::span<const float> x) {
    for (float v : x) seen.push_back(std::bit_cast<std::uint32_t>(v));
  }
  void add(std::span<const double> x) {
    for (double v : x) seen.push_back(std::bit_cast<std::uint64_t>(v));
  }
  void add(std::uint64_t v) { seen.push_back(v); }
  void add(std::span<const unsigned char> x) {
    for (unsigned char v : x) seen.push_back(v);
  }
  // A message: its source, tag, header and payload, each length first.
  void add(const Message& m) {
    add(std::uint64_t(m.source));
    add(std::uint64_t(m.tag));
    add(std::uint64_t(m.header.size()));
    add(std::span<const unsigned char>(m.header));
    add(std::uint64_t(m.data.size()));
    add(std::span<const float>(m.data));
  }
};

// Equal bits, or how many values differ and where the first is (not two huge dumps).
void expect_same_bits(const Bits& mpi, const Bits& threads) {
  ASSERT_EQ(mpi.seen.size(), threads.seen.size());
  std::size_t differ = 0, first = 0;
  for (std::size_t i = mpi.seen.size(); i-- > 0;)
    if (mpi.seen[i] != threads.seen[i]) ++differ, first = i;
  EXPECT_EQ(differ, 0u) << "values differ between mpi and threads, the first at index " << first;
}

// Runs `program` on MPI (this process is one rank) and on the threads runtime (all ranks in
// this process), and returns what this rank recorded on each.
std::pair<Bits, Bits> on_mpi_and_threads(const std::function<void(Communicator&, Bits&)>& program,
                                         MpiReduction reduction = MpiReduction::ordered) {
  const int P = world_size(), me = world_rank();
  Bits on_mpi;
  run_mpi_with({"", reduction, {}}, P, [&](Communicator& c) { program(c, on_mpi); });
  std::vector<Bits> on_threads(static_cast<std::size_t>(P));
  run_threads(P, [&](Communicator& c) { program(c, on_threads[std::size_t(c.rank())]); });
  return {on_mpi, on_threads[std::size_t(me)]};
}

// Values whose sum depends on the order of addition from three ranks on (two addends
// commute): huge ones of both signs on ranks 1 and 2 absorb the small ones of the others
// differently in each order, e.g. (1 + 1e8) - 1e8 = 0 but (-1e8 + 1e8) + 1 = 1 in floats.
template <class T>
std::vector<T> contribution(int rank, std::size_t n) {
  const double huge = sizeof(T) == 4 ? 1e8 : 1e17;
  const double scale[] = {1.0, huge, -huge, 3.0};
  std::vector<T> v(n);
  for (std::size_t j = 0; j < n; ++j) v[j] = T(scale[rank % 4]) / T(double(j + 1 + rank));
  return v;
}

TEST(MpiCollectives, AllreduceGivesTheThreadsRuntimesBits) {
  // Lengths below, at and far above the world size: empty and uneven slices included.
  const std::size_t lengths[] = {0, 1, 3, 1001, 100003};
  const auto [mpi, threads] = on_mpi_and_threads([&](Communicator& c, Bits& bits) {
    for (std::size_t n : lengths) {
      for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean}) {
        auto f = contribution<float>(c.rank(), n);
        c.allreduce(f, op);
        bits.add(f);
        auto d = contribution<double>(c.rank(), n);
        c.allreduce(std::span<double>(d), op);
        bits.add(d);
      }
    }
  });
  EXPECT_EQ(mpi.seen.size(), 2 * 2 * (0 + 1 + 3 + 1001 + 100003u));
  expect_same_bits(mpi, threads);
}

TEST(MpiCollectives, NativeReductionSumsExactlyWhereOrderCannotMatter) {
  // Small integers add exactly in any order; the mean then differs from the ordered one by
  // at most the rounding of the sum.
  const std::size_t n = 4099;
  auto integers = [](int rank) {
    std::vector<float> v(n);
    for (std::size_t j = 0; j < n; ++j) v[j] = float((j * 7 + std::size_t(rank) * 13) % 1000);
    return v;
  };
  const auto [mpi, threads] = on_mpi_and_threads(
      [&](Communicator& c, Bits& bits) {
        auto x = integers(c.rank());
        c.allreduce(x, ReduceOp::sum);
        bits.add(x);
        auto y = integers(c.rank());
        c.allreduce(y, ReduceOp::mean);
        bits.add(y);
      },
      MpiReduction::native);
  expect_same_bits(mpi, threads);

  // Any order's error is at most (P - 1) u sum_r |x_r| (u = 2^-24): compare within twice
  // that, for the mean.
  std::vector<float> native(n), ordered(n);
  run_mpi_with({"", MpiReduction::native, {}}, world_size(), [&](Communicator& c) {
    native = contribution<float>(c.rank(), n);
    c.allreduce(native, ReduceOp::mean);
  });
  run_mpi(world_size(), [&](Communicator& c) {
    ordered = contribution<float>(c.rank(), n);
    c.allreduce(ordered, ReduceOp::mean);
  });
  std::vector<double> magnitude(n, 0.0);
  for (int r = 0; r < world_size(); ++r) {
    const auto x = contribution<float>(r, n);
    for (std::size_t j = 0; j < n; ++j) magnitude[j] += std::abs(double(x[j])) / world_size();
  }
  for (std::size_t j = 0; j < n; ++j)
    ASSERT_NEAR(native[j], ordered[j], 2 * world_size() * 0x1p-24 * magnitude[j])
        << "element " << j;
}

TEST(MpiCollectives, BroadcastFromEveryRootAndAllgatherMoveBitsUnchanged) {
  const auto [mpi, threads] = on_mpi_and_threads([&](Communicator& c, Bits& bits) {
    for (int root = 0; root < c.size(); ++root) {
      auto f = contribution<float>(c.rank() + 10, 777);
      c.broadcast(f, root);
      bits.add(f);
      auto d = contribution<double>(c.rank() + 20, 5);
      c.broadcast(std::span<double>(d), root);
      bits.add(d);
    }
    const auto mine = contribution<float>(c.rank(), 301);
    std::vector<float> all(mine.size() * std::size_t(c.size()));
    c.allgather(mine, all);
    bits.add(all);
    const auto mine_d = contribution<double>(c.rank(), 3);
    std::vector<double> all_d(mine_d.size() * std::size_t(c.size()));
    c.allgather(std::span<const double>(mine_d), std::span<double>(all_d));
    bits.add(all_d);
  });
  EXPECT_EQ(mpi.seen.size(),
            std::size_t(world_size()) * (777 + 5) + 301u * world_size() + 3u * world_size());
  expect_same_bits(mpi, threads);
}

TEST(MpiCollectives, ByteBroadcastFromEveryRootIsExactAsOnThreads) {
  const auto [mpi, threads] = on_mpi_and_threads([&](Communicator& c, Bits& bits) {
    bits.add(std::span<const unsigned char>(test::broadcast_bytes_from_every_root(c)));
  });
  EXPECT_EQ(mpi.seen.size(), 1031u * std::size_t(world_size()));
  expect_same_bits(mpi, threads);
}

TEST(MpiCollectives, SplitGroupsRunTheirOwnCollectives) {
  const auto [mpi, threads] = on_mpi_and_threads([&](Communicator& c, Bits& bits) {
    // Negative colors (MPI's must be >= 0) and a key that reverses the order.
    auto sub = c.split(-1 - c.rank() % 2, -c.rank());
    bits.add(std::uint64_t(sub->rank()));
    bits.add(std::uint64_t(sub->size()));
    auto f = contribution<float>(c.rank(), 1001);
    sub->allreduce(f, ReduceOp::mean);
    bits.add(f);
    std::vector<double> root{double(c.rank())};
    sub->broadcast(std::span<double>(root), 0);
    bits.add(root);
    const std::vector<float> mine{float(c.rank())};
    std::vector<float> all(std::size_t(sub->size()));
    sub->allgather(mine, all);
    bits.add(all);
    sub->barrier();
    // A split of a split, and the world still works afterwards.
    auto alone = sub->split(sub->rank(), 0);
    bits.add(std::uint64_t(alone->size()));
    auto g = contribution<double>(c.rank(), 9);
    alone->allreduce(std::span<double>(g), ReduceOp::sum);
    bits.add(g);
    auto h = contribution<float>(c.rank(), 99);
    c.allreduce(h, ReduceOp::sum);
    bits.add(h);
  });
  expect_same_bits(mpi, threads);
  // The highest world rank of each parity is its group's rank 0 (key = -rank).
  const int P = world_size(), me = world_rank();
  int highest = me % 2;
  for (int r = me % 2; r < P; r += 2) highest = r;
  ASSERT_GT(mpi.seen.size(), 3u + 1001u);
  EXPECT_EQ(std::bit_cast<double>(mpi.seen[2 + 1001]), double(highest));
}

TEST(MpiCollectives, BarrierWaitsForTheLastRank) {
  // Rank r arrives r x 60 ms after the synchronised start; nobody leaves before the last.
  const int P = world_size();
  run_mpi(P, [&](Communicator& c) {
    std::this_thread::sleep_for(std::chrono::milliseconds(60 * c.rank()));
    c.barrier();
    // 30 ms of slack for the skew of the start (a late wake-up on an oversubscribed machine).
    EXPECT_GE(c.now(), 0.060 * (P - 1) - 0.030) << "rank " << c.rank();
  });
}

TEST(MpiPointToPoint, TagsSourcesAndOrderFollowTheThreadsRuntimesRules) {
  const int P = world_size();
  run_mpi(P, [&](Communicator& c) {
    if (c.rank() != 0) {
      for (int i = 0; i < 3; ++i) {
        c.send(0, 7, std::vector<float>{float(i), float(c.rank())});
        c.send(0, 9, std::vector<float>{float(10 + i)});
      }
      return;
    }
    // Tag 9 first although tag 7 was sent first; per-source order is kept for each tag.
    std::vector<int> next(std::size_t(P), 10);
    for (int i = 0; i < 3 * (P - 1); ++i) {
      Message m = c.recv(any_source, 9);
      EXPECT_EQ(m.tag, 9);
      ASSERT_EQ(m.data.size(), 1u);
      EXPECT_EQ(int(m.data[0]), next[std::size_t(m.source)]++);
    }
    std::fill(next.begin(), next.end(), 0);
    for (int i = 0; i < 3 * (P - 1); ++i) {
      Message m = c.recv(any_source, any_tag);
      EXPECT_EQ(m.tag, 7);
      ASSERT_EQ(m.data.size(), 2u);
      EXPECT_EQ(int(m.data[1]), m.source);
      EXPECT_EQ(int(m.data[0]), next[std::size_t(m.source)]++);
    }
    EXPECT_FALSE(c.try_recv(any_source, any_tag).has_value());
  });
}

TEST(MpiPointToPoint, TryRecvAndComputeSeeWhatHasArrived) {
  run_mpi(world_size(), [&](Communicator& c) {
    if (c.rank() == 1) {
      c.send(0, 5, std::vector<float>{5.0f});
      c.send(0, 8, {});  // an empty message
      c.send(0, 6, std::vector<float>{6.0f});
    } else if (c.rank() == 0) {
      EXPECT_EQ(c.recv(1, 6).data, std::vector<float>{6.0f});
      // Messages from one source are matched in the order they were sent, so tags 5 and 8,
      // sent before 6, have arrived.
      EXPECT_FALSE(c.try_recv(1, 6).has_value());
      EXPECT_FALSE(c.compute(1, 8)) << "an arrived tag-8 message interrupts the work";
      EXPECT_TRUE(c.compute(1, 9));
      EXPECT_TRUE(c.compute(1));
      const auto five = c.try_recv(any_source, 5);
      ASSERT_TRUE(five.has_value());
      EXPECT_EQ(five->source, 1);
      EXPECT_EQ(five->data, std::vector<float>{5.0f});
      const auto eight = c.try_recv(1, any_tag);
      ASSERT_TRUE(eight.has_value());
      EXPECT_EQ(eight->tag, 8);
      EXPECT_TRUE(eight->data.empty());
      EXPECT_TRUE(c.compute(1, 8)) << "the tag-8 message was received";
    }
  });
}

TEST(MpiPointToPoint, HeadersTravelBesideTheirPayloadsAsOnThreads) {
  const int P = world_size(), me = world_rank();
  // Far above MPI's eager limit: the rendezvous protocol, with a header of 6 bytes.
  const std::size_t big = 300001;
  const std::vector<unsigned char> big_header{0xff, 0x00, 0x01, 0x80, 0x7f, 0xfe};
  const auto [mpi, threads] = on_mpi_and_threads([&](Communicator& c, Bits& bits) {
    for (const Message& m : test::exchange_headers(c)) bits.add(m);
    c.barrier();  // rank 0 has seen that nothing else came
    if (c.rank() == 1) c.send(0, 5, std::vector<float>(big, 0.5f), big_header);
    if (c.rank() == 0) {
      const Message m = c.recv(1, 5);
      EXPECT_EQ(m.header, big_header);
      ASSERT_EQ(m.data.size(), big);
      EXPECT_EQ(m.data.front(), 0.5f);
      EXPECT_EQ(m.data.back(), 0.5f);
      bits.add(m);
    }
  });
  // Rank 0 saw, from each other rank, three messages of each shape (4 values of source, tag
  // and lengths, plus 4 floats, 5 header bytes, or both), then the big one.
  const std::size_t each = (4 + 4) + (4 + 5) + (4 + 4 + 5);
  EXPECT_EQ(mpi.seen.size(), me == 0 ? 3 * each * std::size_t(P - 1) + 4 + 6 + big : 0u);
  expect_same_bits(mpi, threads);
}

TEST(MpiPointToPoint, SendsNeverWaitForTheReceiver) {
  // Both ranks send a message far above MPI's eager limit before receiving: blocking
  // MPI_Send would deadlock here.
  const std::size_t n = std::size_t(1) << 20;
  run_mpi(world_size(), [&](Communicator& c) {
    if (c.rank() > 1) return;
    const int peer = 1 - c.rank();
    std::vector<float> out(n, float(c.rank() + 1));
    c.send(peer, 3, out);
    out.assign(n, -1.0f);  // the message is a copy: changing the buffer changes nothing
    const Message m = c.recv(peer, 3);
    ASSERT_EQ(m.data.size(), n);
    EXPECT_EQ(m.data.front(), float(peer + 1));
    EXPECT_EQ(m.data.back(), float(peer + 1));
  });
}

TEST(MpiPointToPoint, MessagesNobodyReceivedAreDroppedAtTheEnd) {
  const std::size_t big = std::size_t(1) << 18;
  run_mpi(world_size(), [&](Communicator& c) {
    if (c.rank() == 1) {
      c.send(0, 3, std::vector<float>(big, 1.0f));
      c.send(0, 3, std::vector<float>{2.0f});
    }
  });
  run_mpi(world_size(), [&](Communicator& c) {
    if (c.rank() == 1) c.send(0, 4, std::vector<float>{42.0f});
    if (c.rank() == 0) {
      const Message m = c.recv(any_source, any_tag);
      EXPECT_EQ(m.tag, 4);
      EXPECT_EQ(m.data, std::vector<float>{42.0f});
    }
  });
}

TEST(MpiPointToPoint, BadPeersAreCommErrorsNamingThem) {
  run_mpi(world_size(), [&](Communicator& c) {
    const int P = c.size();
    try {
      c.send(P, 0, std::vector<float>{1.0f});
      ADD_FAILURE() << "send to a rank outside the communicator";
    } catch (const CommError& e) {
      EXPECT_EQ(std::string(e.what()), "rank " + std::to_string(c.rank()) +
                                           ": cannot send to rank " + std::to_string(P) +
                                           " of a communicator of " + std::to_string(P));
    }
    EXPECT_THROW(c.recv(-5, 0), CommError);
    std::vector<float> x(1);
    EXPECT_THROW(c.broadcast(x, P), CommError);
  });
}

TEST(MpiTraffic, CountsEqualTheThreadsRuntimes) {
  const int P = world_size(), me = world_rank();
  auto program = [&](Communicator& c, std::vector<Traffic>& out) {
    std::vector<float> x(100);
    std::vector<double> d(7);
    c.allreduce(x, ReduceOp::mean);
    c.allreduce(std::span<double>(d), ReduceOp::sum);
    c.broadcast(x, P - 1);
    std::vector<float> all(x.size() * std::size_t(P));
    c.allgather(x, all);
    c.barrier();
    {
      Unmetered quiet(c);
      c.allreduce(x, ReduceOp::mean);
      if (c.rank() == 1) c.send(0, 2, x);
      if (c.rank() == 0) c.recv(1, 2);
    }
    if (c.rank() == 1) c.send(0, 1, std::vector<float>(33));
    if (c.rank() == 0) c.recv(1, 1);
    auto sub = c.split(c.rank() % 2, 0);
    sub->allreduce(x, ReduceOp::sum);
    out = {c.traffic(), sub->traffic()};
  };
  std::vector<Traffic> on_mpi;
  run_mpi(P, [&](Communicator& c) { program(c, on_mpi); });
  std::vector<std::vector<Traffic>> on_threads(static_cast<std::size_t>(P));
  run_threads(P, [&](Communicator& c) { program(c, on_threads[std::size_t(c.rank())]); });
  ASSERT_EQ(on_mpi.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(on_mpi[i].bytes_sent, on_threads[std::size_t(me)][i].bytes_sent);
    EXPECT_EQ(on_mpi[i].collectives, on_threads[std::size_t(me)][i].collectives);
    EXPECT_EQ(on_mpi[i].messages, on_threads[std::size_t(me)][i].messages);
  }
  // The world's count, from the cost model of traffic.hpp; a sub-communicator's traffic
  // counts in the world's too.
  const int sub_size = (P + (me % 2 == 0 ? 1 : 0)) / 2;
  const std::uint64_t expected =
      traffic::allreduce_bytes(400, sub_size) + traffic::allreduce_bytes(400, P) +
      traffic::allreduce_bytes(56, P) + traffic::broadcast_bytes(400, P, me == P - 1) +
      traffic::allgather_bytes(400, P) + (me == 1 ? 132u : 0u);
  EXPECT_EQ(on_mpi[0].bytes_sent, expected);
  EXPECT_EQ(on_mpi[0].collectives, 5u);
  EXPECT_EQ(on_mpi[0].messages, me == 1 ? 1u : 0u);
}

TEST(MpiTraffic, HeaderBytesAndByteBroadcastsCountAsOnThreads) {
  const int P = world_size(), me = world_rank();
  auto program = [&](Communicator& c, Traffic& out) {
    const int next = (c.rank() + 1) % P, previous = (c.rank() + P - 1) % P;
    c.send(next, 1, std::vector<float>(5), std::vector<unsigned char>{1, 2, 3});
    c.send(next, 2, {}, std::vector<unsigned char>(7, 0xab));
    c.send(next, 3, std::vector<float>(2));
    {
      Unmetered quiet(c);
      c.send(next, 4, std::vector<float>(10), std::vector<unsigned char>(100));
    }
    for (int tag = 1; tag <= 4; ++tag) c.recv(previous, tag);
    std::vector<unsigned char> b(13);
    c.broadcast(b, P - 1);
    out = c.traffic();
  };
  Traffic on_mpi;
  run_mpi(P, [&](Communicator& c) { program(c, on_mpi); });
  std::vector<Traffic> on_threads(static_cast<std::size_t>(P));
  run_threads(P, [&](Communicator& c) { program(c, on_threads[std::size_t(c.rank())]); });
  // 3 + 4 x 5, 7 + 0 and 0 + 4 x 2 bytes; the broadcast's root sends 13 to each other rank.
  EXPECT_EQ(on_mpi.bytes_sent, 38u + (me == P - 1 ? 13u * unsigned(P - 1) : 0u));
  EXPECT_EQ(on_mpi.messages, 3u);
  EXPECT_EQ(on_mpi.collectives, 1u);
  EXPECT_EQ(on_mpi.bytes_sent, on_threads[std::size_t(me)].bytes_sent);
  EXPECT_EQ(on_mpi.messages, on_threads[std::size_t(me)].messages);
  EXPECT_EQ(on_mpi.collectives, on_threads[std::size_t(me)].collectives);
}

TEST(MpiRuntime, ClockStartsAtZeroRunsAndResumes) {
  run_mpi(world_size(), [&](Communicator& c) {
    const double t0 = c.now();
    EXPECT_GE(t0, 0.0);
    EXPECT_LT(t0, 5.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_GE(c.now() - t0, 0.019);
    // A resumed job's clock continues from its checkpoint, on the splits too.
    auto sub = c.split(0, 0);
    c.restore_runtime_state({100.0, std::nullopt, 0});
    EXPECT_GE(c.now(), 100.0);
    EXPECT_LT(c.now(), 101.0);
    EXPECT_GE(sub->now(), 100.0);
  });
}

TEST(MpiRuntime, AWorldOfTheWrongSizeIsRefusedOnEveryRank) {
  const int P = world_size();
  bool ran = false;
  try {
    run_mpi_with({"3 workers + 1 parameter server", MpiReduction::ordered, {}}, P + 1,
                 [&](Communicator&) { ran = true; });
    ADD_FAILURE() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_EQ(std::string(e.what()), "this job needs " + std::to_string(P + 1) +
                                         " ranks (3 workers + 1 parameter server) but mpirun "
                                         "started " +
                                         std::to_string(P) + "; run mpirun -np " +
                                         std::to_string(P + 1));
  }
  EXPECT_FALSE(ran);
  try {
    run_mpi(2 * P, [&](Communicator&) { ran = true; });
    ADD_FAILURE() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_EQ(std::string(e.what()), wrong_world_size_message(2 * P, P, ""));
    EXPECT_EQ(std::string(e.what()).find("("), std::string::npos);
  }
  EXPECT_FALSE(ran);
}

TEST(MpiRuntime, LaunchIsDetectedFromTheEnvironment) {
  EXPECT_TRUE(under_mpirun());
}

}  // namespace
}  // namespace herd::comm
