#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <vector>

#include "herd/comm/sim.hpp"
#include "herd/comm/threads.hpp"
#include "herd/comm/traffic.hpp"
#include "herd/core/error.hpp"
#include "herd/core/kernels.hpp"

namespace herd::comm {
namespace {

// Every communicator test runs on both runtimes and on several world sizes.
using Program = std::function<void(Communicator&)>;
using RuntimeFn = std::function<void(int, const Program&)>;
const RuntimeFn threads_runtime = [](int p, const Program& f) { run_threads(p, f); };
const RuntimeFn sim_runtime = [](int p, const Program& f) { run_sim(SimSpec{}, p, f); };

class InProc : public ::testing::TestWithParam<std::tuple<const char*, int>> {
 protected:
  void run_threads(int p, const Program& f) {
    (std::string(std::get<0>(GetParam())) == "sim" ? sim_runtime : threads_runtime)(p, f);
  }
  int world() const { return std::get<1>(GetParam()); }
};

TEST_P(InProc, AllreduceSumsInRankOrderOnEveryRank) {
  const int P = world();
  const std::size_t n = 1001;  // not a multiple of P: uneven slices
  // Values whose float sum depends on the order of addition.
  auto contribution = [&](int r) {
    std::vector<float> v(n);
    for (std::size_t j = 0; j < n; ++j) v[j] = (r % 2 ? 1e7f : 1.0f) / float(j + 1 + r);
    return v;
  };
  std::vector<std::vector<float>> results(static_cast<std::size_t>(P));
  run_threads(P, [&](Communicator& c) {
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

TEST_P(InProc, BroadcastAllgatherAndDoubleSum) {
  const int P = world();
  run_threads(P, [&](Communicator& c) {
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

TEST_P(InProc, SplitMakesIndependentGroups) {
  const int P = world();
  run_threads(P, [&](Communicator& c) {
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

TEST_P(InProc, PointToPointFromAnySourceKeepsPerSourceOrder) {
  const int P = world();
  if (P == 1) GTEST_SKIP() << "needs a peer";
  run_threads(P, [&](Communicator& c) {
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

TEST_P(InProc, TrafficFollowsTheCostModelAndCanBePaused) {
  const int P = world();
  run_threads(P, [&](Communicator& c) {
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

INSTANTIATE_TEST_SUITE_P(RuntimesAndWorldSizes, InProc,
                         ::testing::Combine(::testing::Values("threads", "sim"),
                                            ::testing::Values(1, 2, 3, 5, 8)),
                         [](const auto& param_info) {
                           return std::string(std::get<0>(param_info.param)) + "_" +
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
