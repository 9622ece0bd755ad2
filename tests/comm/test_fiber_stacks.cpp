// The simulator's run stacks (fiber_stacks.hpp): processes sharing a few stacks keep their
// frames, the number of memory mappings does not grow with the processes, an idle process
// costs about the bytes its frames use, and an overflow ends the run with a message.
#include <gtest/gtest.h>

#include <fstream>
#include <numeric>
#include <string>

#include "herd/comm/fiber_stacks.hpp"
#include "herd/comm/sim.hpp"

namespace herd::comm {
namespace {

std::size_t mappings_now() {
  std::ifstream maps("/proc/self/maps");
  std::size_t n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

// Resident bytes of this process now (/proc/self/statm, in pages).
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096.0;
}

// Every worker keeps values on its stack, in frames several calls deep, across many
// suspensions; with 3 stacks for 200 processes the frames move to the heap and back at
// nearly every switch. The results and the virtual times are those of one stack per process.
void deep(Communicator& c, int depth, long& checksum) {
  volatile long mine[16];
  for (int i = 0; i < 16; ++i) mine[i] = long(c.rank()) * 1000 + depth * 16 + i;
  if (depth > 0) {
    deep(c, depth - 1, checksum);
  } else {
    for (int round = 0; round < 5; ++round) {
      c.compute(1);
      c.send(0, 1, std::vector<float>{float(c.rank())});
      c.recv(0, 2);
    }
  }
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(mine[i], long(c.rank()) * 1000 + depth * 16 + i);
    checksum += mine[i];
  }
}

SimStats ping_pong(std::size_t slots, int ranks, std::vector<long>& checksums) {
  SimSpec spec;
  spec.stack_slots = slots;
  spec.compute.tau.push_back(0.0);
  for (int i = 1; i < ranks; ++i) spec.compute.tau.push_back(1.0 + double(i % 7) / 3.0);
  checksums.assign(std::size_t(ranks), 0);
  return run_sim(spec, ranks, [&](Communicator& c) {
    if (c.rank() == 0) {
      for (int i = 0; i < 5 * (c.size() - 1); ++i) {
        const Message m = c.recv(any_source, 1);
        EXPECT_EQ(m.data.at(0), float(m.source));
        c.send(m.source, 2, std::vector<float>{0.0f});
      }
    } else {
      deep(c, 3, checksums[std::size_t(c.rank())]);
    }
  });
}

TEST(SimStacks, ProcessesSharingStacksKeepTheirFrames) {
  std::vector<long> shared, own;
  const SimStats a = ping_pong(3, 200, shared);
  const SimStats b = ping_pong(1024, 200, own);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.end_time, b.end_time);
  EXPECT_EQ(shared, own);
  long expected = 0;
  for (int r = 1; r < 200; ++r)
    for (int depth = 0; depth <= 3; ++depth)
      for (int i = 0; i < 16; ++i) expected += long(r) * 1000 + depth * 16 + i;
  EXPECT_EQ(std::accumulate(shared.begin(), shared.end(), 0L), expected);
}

TEST(SimStacks, MappingsDoNotGrowWithProcesses) {
#if defined(__SANITIZE_THREAD__)
  // The simulator does not tell ThreadSanitizer about its fibre switches: its shadow call
  // stack then grows with every process started and overflows past 65,536 frames. (The
  // simulator runs on one thread; `make tsan` is for the threads runtime.)
  GTEST_SKIP() << "tens of thousands of fibres under ThreadSanitizer";
#endif
  // 40,000 processes: one guard-paged stack each would take 80,000 mappings, past the
  // kernel's default vm.max_map_count (65,530).
  const int ranks = 40000;
  const std::size_t before = mappings_now();
  std::size_t during = 0;
  run_sim(SimSpec{}, ranks, [&](Communicator& c) {
    c.barrier();
    if (c.rank() == 0) during = mappings_now();
  });
  EXPECT_LT(during, before + StackArena::mappings(SimSpec{}.stack_slots) + 100);
}

TEST(SimStacks, AnIdleProcessCostsAboutTheBytesItsFramesUse) {
#if defined(__SANITIZE_THREAD__)
  // The simulator does not tell ThreadSanitizer about its fibre switches: its shadow call
  // stack then grows with every process started and overflows past 65,536 frames. (The
  // simulator runs on one thread; `make tsan` is for the threads runtime.)
  GTEST_SKIP() << "tens of thousands of fibres under ThreadSanitizer";
#endif
  // 100,000 processes wait for a message that the last rank sends only after it has
  // measured the memory: the processes start in rank order, so each one has run and is
  // suspended in recv.
  const int ranks = 100000, last = ranks - 1;
  const double before = resident_bytes();
  double during = 0;
  run_sim(SimSpec{}, ranks, [&](Communicator& c) {
    if (c.rank() == last) {
      during = resident_bytes();
      for (int r = 0; r < last; ++r) c.send(r, 1, {});
    } else {
      c.recv(last, 1);
    }
  });
  const double per_process = (during - before) / ranks;
  RecordProperty("bytes_per_idle_process", int(per_process));
#if !defined(__SANITIZE_ADDRESS__)  // AddressSanitizer adds its redzones and shadow
  EXPECT_LT(per_process, 2048) << per_process;
#endif
}

// Frames of about 512 bytes; past `from` bytes below the first, every frame switches out.
void dive(Communicator& c, const char* top, std::size_t from, std::size_t to) {
  volatile char frame[512];
  frame[0] = 1;
  const auto depth = std::size_t(top - static_cast<const char*>(__builtin_frame_address(0)));
  if (depth > from) c.compute(1);
  if (depth < to) dive(c, top, from, to);
  frame[1] = frame[0];
}

TEST(SimStacksDeathTest, AnOverflowEndsTheRunWithAMessage) {
  // A process whose stack pointer comes within a page of the end of its 64 KiB stack is
  // caught at its next switch, before it reaches the guard page.
  SimSpec spec;
  spec.stack_bytes = 64 * 1024;
  EXPECT_DEATH(run_sim(spec, 1,
                       [](Communicator& c) {
                         dive(c, static_cast<const char*>(__builtin_frame_address(0)), 48 * 1024,
                              80 * 1024);
                       }),
               "overflowed its fibre stack");
}

}  // namespace
}  // namespace herd::comm
