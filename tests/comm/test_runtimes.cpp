// The runtimes' registry, from a program that links herd_comm alone: the in-process runtimes
// are registered (mpi is herd_comm_mpi's), and each runs a program on the modelled cluster.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "herd/comm/runtimes.hpp"
#include "herd/core/error.hpp"

namespace herd::comm {
namespace {

TEST(RuntimeRegistry, TheInProcessRuntimesAreRegisteredInOrder) {
  EXPECT_EQ(runtime_names(), (std::vector<std::string>{"threads", "sim"}));
  for (const RuntimeInfo* r : runtimes()) {
    EXPECT_TRUE(r->in_process) << r->name;
    EXPECT_FALSE(r->summary.empty()) << r->name;
  }
  EXPECT_EQ(find_runtime("mpi"), nullptr);  // not linked into this program
  EXPECT_THROW(runtime_or_throw("mpi"), InvalidInput);
}

TEST(RuntimeRegistry, EachRuntimeRunsTheRanksOnTheModelledCluster) {
  ClusterModel cluster;
  cluster.spec.compute.tau = {1.0, 2.0, 4.0};
  for (const bool emulate : {false, true}) {
    cluster.emulate = emulate;
    cluster.spec.compute.wall_scale = 1e-4;  // emulated sleeps stay short
    for (const RuntimeInfo* r : runtimes()) {
      std::atomic<int> ran = 0;
      std::vector<double> sums(3);
      std::vector<double> clocks(3);
      r->make(cluster)(3, [&](Communicator& c) {
        std::vector<double> x{double(c.rank() + 1)};
        c.compute(1.0);
        c.allreduce(std::span<double>(x), ReduceOp::sum);
        sums[std::size_t(c.rank())] = x[0];
        clocks[std::size_t(c.rank())] = c.now();
        ++ran;
      });
      EXPECT_EQ(ran, 3) << r->name;
      EXPECT_EQ(sums, std::vector<double>(3, 6.0)) << r->name;
      if (r->name == "sim") {
        EXPECT_EQ(clocks[0], 4.0);  // every rank waits for the slowest
      }
    }
  }
}

}  // namespace
}  // namespace herd::comm
