// The simulator's messages cost no heap allocation each once their payloads are handed back
// (Communicator::recycle): its own program, since it counts every operator new of the process.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "herd/comm/sim.hpp"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t bytes) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
// GCC (-O1, inlined into gtest's factory) takes the free of memory from this operator new for
// a mismatch; it is the replacement's own pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace herd::comm {
namespace {

// A parameter server's exchange: every worker sends a gradient (64 floats and a header) after
// its compute time and waits for the model; the server answers each. After a warm-up that
// fills the pools, `rounds` more exchanges are counted: allocations per message.
double allocations_per_message(bool recycle) {
  const int workers = 8, warm_up = 200, rounds = 500;
  long counted = 0, messages = 0;
  SimSpec spec;
  spec.compute.tau = {0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5};
  run_sim(spec, workers + 1, [&](Communicator& c) {
    std::vector<float> x(64, 1.0f);
    const unsigned char header[12] = {1, 2, 3};
    if (c.rank() == 0) {
      long before = 0;
      for (int i = 0; i < workers * (warm_up + rounds); ++i) {
        if (i == workers * warm_up) before = allocations.load();
        Message m = c.recv(any_source, 1);
        x[0] += m.data[0];
        if (recycle) c.recycle(std::move(m.data));
        c.send(m.source, 2, x, header);
      }
      counted = allocations.load() - before;
      messages = 2L * workers * rounds;
    } else {
      for (int i = 0; i < warm_up + rounds; ++i) {
        c.compute(1);
        c.send(0, 1, x, header);
        Message m = c.recv(0, 2);
        x.assign(m.data.begin(), m.data.end());
        if (recycle) c.recycle(std::move(m.data));
      }
    }
  });
  return double(counted) / double(messages);
}

TEST(SimAllocations, AMessageWhosePayloadIsHandedBackAllocatesNothing) {
  EXPECT_EQ(allocations_per_message(true), 0.0);
  // The check can fail: without the hand-back, each message allocates its payload.
  EXPECT_GT(allocations_per_message(false), 0.99);
}

}  // namespace
}  // namespace herd::comm
