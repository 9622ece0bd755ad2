// The threads runtime's fibre pool (fiber_pool.hpp): many ranks on few OS threads give the
// results of one OS thread per rank, ranks of one OS thread meet without the kernel, parked
// deadlines run concurrently, a polling rank does not starve the rank it waits for, and
// every job, whatever its OS threads, computes the same bits.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "herd/comm/fiber_pool.hpp"
#include "herd/comm/threads.hpp"
#include "herd/core/error.hpp"

namespace herd::comm {
namespace {

using Clock = std::chrono::steady_clock;

// Every rank's final value after rounds of allreduce (sum and mean), broadcast, allgather,
// point-to-point around a ring and a split into two groups: the same bits on any number of
// OS threads.
std::vector<double> mixed_program_results(int ranks, int os_threads) {
  std::vector<double> out(static_cast<std::size_t>(ranks));
  run_threads_with({.compute = {}, .os_threads = os_threads}, ranks, [&](Communicator& c) {
    const int r = c.rank(), P = c.size();
    std::vector<float> x(37);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(r + 1) / float(i + 3);
    auto halves = c.split(r % 2, r);
    for (int round = 0; round < 20; ++round) {
      c.allreduce(std::span(x), round % 2 ? ReduceOp::mean : ReduceOp::sum);
      for (float& v : x) v = v * 0.5f + float(r) * 1e-3f;
      halves->allreduce(std::span(x), ReduceOp::mean);
      c.send((r + 1) % P, 7, std::span<const float>(x).first(3));
      const Message m = c.recv((r + P - 1) % P, 7);
      x[0] += m.data[0];
      c.broadcast(std::span(x).first(5), round % P);
      std::vector<float> all(static_cast<std::size_t>(P));
      c.allgather(std::span<const float>(&x[1], 1), std::span(all));
      x[2] += all[std::size_t(P - 1)];
    }
    out[std::size_t(r)] = std::accumulate(x.begin(), x.end(), 0.0);
  });
  return out;
}

TEST(FiberPool, ManyRanksOnFewOsThreadsComputeTheBitsOfOneThreadEach) {
  const int ranks = 24;
  const std::vector<double> one_each = mixed_program_results(ranks, ranks);
  for (int os_threads : {1, 2, 3, 5}) {
    const std::vector<double> fewer = mixed_program_results(ranks, os_threads);
    for (int r = 0; r < ranks; ++r)
      EXPECT_EQ(fewer[std::size_t(r)], one_each[std::size_t(r)])
          << "rank " << r << " on " << os_threads << " OS threads";
  }
}

TEST(FiberPool, NeverMoreOsThreadsThanRanksAndRankROnThreadRModT) {
  EXPECT_EQ(FiberPool(3, 8).threads(), 3);
  EXPECT_EQ(FiberPool(10, 4).thread_of(9), 1);
  EXPECT_GE(FiberPool::default_threads(), 1);
  EXPECT_EQ(FiberPool(64).threads(), std::min(64, FiberPool::default_threads()));
}

// The point of the pool: 1,000 ranks on one OS thread run 100 barriers and allreduces
// without sleeping in the kernel (before: one thread per rank, and every rank slept on a
// futex and was woken at every meeting, 200,000 voluntary switches at least). Involuntary
// switches (the machine's other load preempting the thread) are not the pool's doing.
TEST(FiberPool, RanksOfOneOsThreadMeetWithoutTheKernel) {
  const int ranks = 1000, rounds = 100;
  rusage before{}, after{};
  ::getrusage(RUSAGE_THREAD, &before);  // the calling thread carries the ranks
  std::atomic<long> sum{0};
  run_threads_with({.compute = {}, .os_threads = 1}, ranks, [&](Communicator& c) {
    std::vector<float> x(4, 1.0f);
    for (int i = 0; i < rounds; ++i) {
      c.barrier();
      c.allreduce(std::span(x), ReduceOp::mean);
    }
    sum += long(x[0]);
  });
  ::getrusage(RUSAGE_THREAD, &after);
  EXPECT_EQ(sum.load(), long(ranks));  // the mean of ones
  EXPECT_LT(after.ru_nvcsw - before.ru_nvcsw, 20) << "times the carrying thread slept";
}

// Emulated compute times are deadlines of parked fibres: 200 ranks on one OS thread each
// sleeping 50 ms take about 50 ms together, not 10 s one after another.
TEST(FiberPool, ParkedDeadlinesRunConcurrently) {
  ComputeModel model;
  model.tau.assign(200, 0.05);
  const auto begin = Clock::now();
  run_threads_with({.compute = model, .os_threads = 1}, 200, [](Communicator& c) {
    c.compute(1);
    c.barrier();
  });
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  EXPECT_GE(seconds, 0.05);
  EXPECT_LT(seconds, 2.0);
}

// A rank that polls in a loop (try_recv; compute, which probes for its interrupt) lets the other
// ranks of its OS thread run: without, rank 0 would poll forever for a message that rank 1, on the
// same OS thread, never gets to send.
TEST(FiberPool, APollingRankDoesNotStarveTheRankItWaitsFor) {
  run_threads_with({.compute = {}, .os_threads = 1}, 3, [](Communicator& c) {
    if (c.rank() == 0) {
      int polls = 0;
      while (!c.try_recv(1, 5)) ++polls;
      while (c.compute(1, 6)) ++polls;  // probes for tag 6
      EXPECT_EQ(c.recv(2, 6).data.size(), 1u);
    } else {
      c.send(0, 4 + c.rank(), std::vector<float>{1.0f});
    }
  });
}

// A busy rank that always finds its next message waiting does not keep the other ranks of
// its OS thread from running: every worker of a server that answers whoever asks is served
// (one OS thread: the server, and workers that ask again at once).
TEST(FiberPool, ABusyServerDoesNotStarveTheRanksOfItsOsThread) {
  const int workers = 5, requests = 2000;
  std::vector<int> served(workers + 1, 0);
  run_threads_with({.compute = {}, .os_threads = 1}, workers + 1, [&](Communicator& c) {
    if (c.rank() == 0) {
      for (int i = 0; i < requests; ++i) {
        const Message m = c.recv(any_source, 1);
        ++served[std::size_t(m.source)];
        c.send(m.source, 2, std::vector<float>{1.0f});
      }
      for (int w = 1; w <= workers; ++w) c.send(w, 3, {});
      return;
    }
    c.send(0, 1, {});
    while (true) {
      const Message m = c.recv(0, any_tag);
      if (m.tag == 3) break;
      c.send(0, 1, {});
    }
  });
  for (int w = 1; w <= workers; ++w) EXPECT_GE(served[std::size_t(w)], requests / workers - 1) << w;
}

// A job whose ranks all wait for what none will do ends with an error naming the deadlock,
// on any number of OS threads, instead of hanging: rank 0 waits for a message rank 1 never
// sends, rank 2 in a barrier the others never enter, rank 1 has returned.
TEST(FiberPool, ADeadlockIsAnErrorNotAHang) {
  for (int os_threads : {1, 2, 3}) {
    try {
      run_threads_with({.compute = {}, .os_threads = os_threads}, 3, [](Communicator& c) {
        if (c.rank() == 0) c.recv(1, 9);
        if (c.rank() == 2) c.barrier();
      });
      ADD_FAILURE() << "no error on " << os_threads << " OS threads";
    } catch (const CommError& e) {
      EXPECT_NE(std::string(e.what()).find("deadlock on the threads runtime"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace herd::comm
