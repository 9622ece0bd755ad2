// The conformance suite of the in-process runtimes: every Conformance test runs on each
// runtime (threads, sim) at world sizes 1, 2, 3, 5 and 8 (test names such as
// Runtimes/Conformance.ByteBroadcastFromEveryRootIsExact/threads_4), so that what holds on
// one holds on all. Then the threads runtime's handling of failures.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "herd/comm/sim.hpp"
#include "herd/comm/threads.hpp"
#include "herd/comm/traffic.hpp"
#include "herd/core/error.hpp"
#include "herd/core/kernels.hpp"
#include "support/comm_programs.hpp"
#include "support/runtime_kind.hpp"

namespace herd::comm {
namespace {

using Program = std::function<void(Communicator&)>;
using test::RuntimeKind;

class Conformance : public ::testing::TestWithParam<std::tuple<RuntimeKind, int>> {
 protected:
  // Runs `program` on `ranks` ranks of this test's runtime (the simulator with a free
  // network and no compute model).
  void run_on(int ranks, const Program& program) const {
    switch (std::get<0>(GetParam())) {
      case RuntimeKind::threads:
        run_threads(ranks, program);
        return;
      case RuntimeKind::sim:
        run_sim(SimSpec{}, ranks, program);
        return;
    }
  }
  int world() const { return std::get<1>(GetParam()); }
};

TEST_P(Conformance, AllreduceSumsInRankOrderOnEveryRank) {
  const int P = world();
  const std::size_t n = 1001;  // not a multiple of P: uneven slices
  // Values whose float sum depends on the order of addition.
  auto contribution = [&](int r) {
    std::vector<float> v(n);
    for (std::size_t j = 0; j < n; ++j) v[j] = (r % 2 ? 1e7f : 1.0f) / float(j + 1 + r);
    return v;
  };
  std::vector<std::vector<float>> results(static_cast<std::size_t>(P));
  run_on(P, [&](Communicator& c) {
    auto v = contribution(c.rank());
    c.allreduce(v, ReduceOp::mean);
    results[std::size_t(c.rank())] = v;
  });
  std::vector<std::vector<float>> all;
  for (int r = 0; r < P; ++r) all.push_back(contribution(r));
  std::vector<CSpan> spans(all.begin(), all.end());
  std::vector<float> expected(n);
  mean_of(spans, expected);
  for (int r = 0; r < P; ++r) EXPECT_EQ(results[std::size_t(r)], expected) << "rank " << r;
}

TEST_P(Conformance, BroadcastAllgatherAndDoubleSum) {
  const int P = world();
  run_on(P, [&](Communicator& c) {
    std::vector<float> b(5, float(c.rank()));
    c.broadcast(b, P - 1);
    for (float v : b) EXPECT_EQ(v, float(P - 1));
    std::vector<double> mine{double(c.rank()), 10.0 * c.rank()}, all(std::size_t(2 * P));
    c.allgather(std::span<const double>(mine), std::span<double>(all));
    for (int r = 0; r < P; ++r) {
      EXPECT_EQ(all[std::size_t(2 * r)], r);
      EXPECT_EQ(all[std::size_t(2 * r + 1)], 10.0 * r);
    }
    std::vector<double> s{1.0};
    c.allreduce(std::span<double>(s), ReduceOp::sum);
    EXPECT_EQ(s[0], P);
    c.barrier();
  });
}

TEST_P(Conformance, SplitMakesIndependentGroups) {
  const int P = world();
  run_on(P, [&](Communicator& c) {
    auto sub = c.split(c.rank() % 2, -c.rank());  // key reverses the order
    const int members = P / 2 + (c.rank() % 2 == 0 ? P % 2 : 0);
    EXPECT_EQ(sub->size(), members);
    std::vector<double> v{double(c.rank())};
    sub->allreduce(std::span<double>(v), ReduceOp::sum);
    double expected = 0;
    for (int r = c.rank() % 2; r < P; r += 2) expected += r;
    EXPECT_EQ(v[0], expected);
    // Highest world rank of the group has key rank 0.
    std::vector<double> root{double(c.rank())};
    sub->broadcast(std::span<double>(root), 0);
    int highest = c.rank() % 2;
    for (int r = c.rank() % 2; r < P; r += 2) highest = r;
    EXPECT_EQ(root[0], highest);
  });
}

TEST_P(Conformance, PointToPointFromAnySourceKeepsPerSourceOrder) {
  const int P = world();
  if (P == 1) GTEST_SKIP() << "needs a peer";
  run_on(P, [&](Communicator& c) {
    if (c.rank() == 0) {
      std::vector<int> next(std::size_t(P), 0);
      for (int i = 0; i < 3 * (P - 1); ++i) {
        Message m = c.recv(any_source, 7);
        ASSERT_EQ(m.data.size(), 1u);
        EXPECT_EQ(int(m.data[0]), next[std::size_t(m.source)]++);
      }
      c.send(1, 8, std::vector<float>{42.0f});
    } else {
      for (int i = 0; i < 3; ++i) c.send(0, 7, std::vector<float>{float(i)});
      if (c.rank() == 1) {
        EXPECT_EQ(c.recv(0, 8).data[0], 42.0f);
      }
    }
  });
}

TEST_P(Conformance, TrafficFollowsTheCostModelAndCanBePaused) {
  const int P = world();
  run_on(P, [&](Communicator& c) {
    std::vector<float> x(100);
    c.allreduce(x, ReduceOp::mean);
    {
      Unmetered quiet(c);
      c.allreduce(x, ReduceOp::mean);
    }
    EXPECT_EQ(c.traffic().bytes_sent, traffic::allreduce_bytes(400, P));
    EXPECT_EQ(c.traffic().collectives, 1u);
  });
  EXPECT_EQ(traffic::allreduce_bytes(400, 4), 600u);  // 2 (P-1)/P n
  EXPECT_EQ(traffic::allreduce_bytes(400, 1), 0u);
}

TEST_P(Conformance, HeadersTravelBesideTheirPayloads) {
  const int P = world();
  if (P == 1) GTEST_SKIP() << "needs a peer";
  std::vector<Message> received;
  run_on(P, [&](Communicator& c) {
    auto mine = test::exchange_headers(c);
    if (c.rank() == 0) received = std::move(mine);
  });
  // Three shapes, three ways of receiving, from each of the P - 1 other ranks.
  EXPECT_EQ(received.size(), 9u * std::size_t(P - 1));
}

TEST_P(Conformance, TrafficCountsHeaderAndPayloadBytes) {
  const int P = world();
  run_on(P, [&](Communicator& c) {
    // Around a ring (to itself for one rank): 3 + 4 x 5 bytes, 7 + 0, 0 + 4 x 2, and 0.
    const int next = (c.rank() + 1) % P, previous = (c.rank() + P - 1) % P;
    c.send(next, 1, std::vector<float>(5), std::vector<unsigned char>{1, 2, 3});
    c.send(next, 2, {}, std::vector<unsigned char>(7, 0xab));
    c.send(next, 3, std::vector<float>(2));
    c.send(next, 4, {});
    {
      Unmetered quiet(c);
      c.send(next, 5, std::vector<float>(10), std::vector<unsigned char>(100));
    }
    for (int tag = 1; tag <= 5; ++tag) c.recv(previous, tag);
    EXPECT_EQ(c.traffic().bytes_sent, 38u);
    EXPECT_EQ(c.traffic().messages, 4u);
    // A byte broadcast: the root sends its 13 bytes to each other rank.
    std::vector<unsigned char> b(13);
    c.broadcast(b, P - 1);
    EXPECT_EQ(c.traffic().bytes_sent, 38u + (c.rank() == P - 1 ? 13u * unsigned(P - 1) : 0u));
    EXPECT_EQ(c.traffic().collectives, 1u);
  });
  EXPECT_EQ(traffic::message_bytes(3, 5), 23u);
  EXPECT_EQ(traffic::message_bytes(0, 5), 20u);  // no header: the payload, as before headers
}

TEST_P(Conformance, ByteBroadcastFromEveryRootIsExact) {
  const int P = world();
  std::vector<std::vector<unsigned char>> seen(static_cast<std::size_t>(P));
  run_on(P, [&](Communicator& c) {
    seen[std::size_t(c.rank())] = test::broadcast_bytes_from_every_root(c);
  });
  std::vector<unsigned char> expected;
  for (int root = 0; root < P; ++root) {
    const auto b = test::broadcast_bytes_of(root, 1031);
    expected.insert(expected.end(), b.begin(), b.end());
  }
  for (int r = 0; r < P; ++r) EXPECT_EQ(seen[std::size_t(r)], expected) << "rank " << r;
}

TEST_P(Conformance, ACollectiveOfAnotherElementTypeIsAMismatch) {
  const int P = world();
  if (P == 1) GTEST_SKIP() << "needs a peer";
  try {
    run_on(P, [&](Communicator& c) {
      if (c.rank() == 0) {
        std::vector<float> x(8);
        c.broadcast(x, 0);
      } else {
        std::vector<unsigned char> x(8);
        c.broadcast(x, 0);
      }
    });
    FAIL() << "expected a collective mismatch";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("collective mismatch"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("broadcast(8 elements of 4 bytes)"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("broadcast(8 elements of 1 byte)"), std::string::npos)
        << e.what();
  }
}

// Small collectives meet once on the threads runtime (each rank reads the others' staged
// copies, in two tables that alternate), large ones twice: back to back, of every kind and
// of both sizes, with every buffer overwritten as soon as its call returns, each result is
// still exact (ThreadSanitizer runs this program: a rank that reused a table too early races).
TEST_P(Conformance, CollectivesBackToBackReuseTheirBuffersAtOnce) {
  const int P = world();
  constexpr float spoiled = -1.0f;
  for (const std::size_t n : {std::size_t(3), std::size_t(8192)}) {  // 16 KiB: staged or not
    run_on(P, [&](Communicator& c) {
      const int r = c.rank();
      std::vector<float> x(n), all(n * std::size_t(P));
      for (int i = 0; i < 60; ++i) {
        std::fill(x.begin(), x.end(), float(r + 1 + i));
        c.allreduce(x, ReduceOp::sum);
        const float sum = float(P * (P + 1) / 2 + P * i);
        ASSERT_EQ(x.front(), sum) << "allreduce " << i << " of " << n;
        ASSERT_EQ(x.back(), sum) << "allreduce " << i << " of " << n;
        std::fill(x.begin(), x.end(), spoiled);

        const int root = i % P;
        std::fill(x.begin(), x.end(), r == root ? float(i) : spoiled);
        c.broadcast(x, root);
        ASSERT_EQ(x.front(), float(i)) << "broadcast " << i << " of " << n;
        ASSERT_EQ(x.back(), float(i)) << "broadcast " << i << " of " << n;
        std::fill(x.begin(), x.end(), float(r * 1000 + i));

        c.allgather(x, all);
        for (int q = 0; q < P; ++q)
          ASSERT_EQ(all[std::size_t(q) * n + n - 1], float(q * 1000 + i)) << "allgather " << i;
        std::fill(x.begin(), x.end(), spoiled);
        std::fill(all.begin(), all.end(), spoiled);
        if (i % 7 == 0) c.barrier();
      }
    });
  }
}

INSTANTIATE_TEST_SUITE_P(Runtimes, Conformance,
                         ::testing::Combine(::testing::ValuesIn(test::every_runtime),
                                            ::testing::Values(1, 2, 3, 5, 8)),
                         [](const auto& param_info) {
                           return test::runtime_name(std::get<0>(param_info.param)) + "_" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

TEST(InProcFailure, OneRankThrowingStopsEveryRankWithItsError) {
  std::atomic<int> aborted{0};
  try {
    run_threads(4, [&](Communicator& c) {
      if (c.rank() == 2) throw Diverged("rank 2 saw nan");
      try {
        std::vector<float> x(10);
        for (int i = 0; i < 1000; ++i) c.allreduce(x, ReduceOp::sum);
      } catch (const CommError& e) {
        EXPECT_NE(std::string(e.what()).find("rank 2 failed: rank 2 saw nan"), std::string::npos);
        ++aborted;
        throw;
      }
    });
    FAIL() << "expected the root cause";
  } catch (const Diverged& e) {
    EXPECT_STREQ(e.what(), "rank 2 saw nan");
  }
  EXPECT_EQ(aborted, 3);
}

TEST(InProcFailure, MismatchedCollectivesAreDetected) {
  EXPECT_THROW(run_threads(2,
                           [&](Communicator& c) {
                             std::vector<float> x(c.rank() == 0 ? 3 : 4);
                             c.allreduce(x, ReduceOp::sum);
                           }),
               CommError);
}

// A small collective (one meeting) against a large one (two) or a barrier is a mismatch
// like any other, named, never a hang or a read of another rank's stale post.
TEST(InProcFailure, CollectivesOfOneMeetingAndOfTwoDoNotMatch) {
  const auto mismatch = [](const std::function<void(Communicator&)>& program,
                           const std::string& named) {
    try {
      run_threads(2, program);
      ADD_FAILURE() << "expected a collective mismatch naming " << named;
    } catch (const CommError& e) {
      EXPECT_NE(std::string(e.what()).find("collective mismatch"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
    }
  };
  mismatch(
      [](Communicator& c) {
        std::vector<float> x(c.rank() == 0 ? 4 : 8192);
        c.allreduce(x, ReduceOp::sum);
      },
      "allreduce(8192)");
  mismatch(
      [](Communicator& c) {
        std::vector<float> x(8192);
        if (c.rank() == 0)
          c.barrier();
        else
          c.allreduce(x, ReduceOp::sum);
      },
      "barrier(0");
}

TEST(InProcFailure, BlockedReceiveIsWokenByAbort) {
  EXPECT_THROW(run_threads(2,
                           [&](Communicator& c) {
                             if (c.rank() == 0)
                               c.recv(1, 0);  // never sent
                             else
                               throw InvalidInput("bad config on rank 1");
                           }),
               InvalidInput);
}

}  // namespace
}  // namespace herd::comm
