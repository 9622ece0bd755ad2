#pragma once
// The threads runtime's ranks as user-space fibres on a few OS threads.
//
// One OS thread per rank made every collective a kernel handover: each waiting rank slept
// on a futex and was woken by the last to arrive, and ranks beyond the core count were
// swapped in and out by the kernel at every meeting (a9a Local SGD on 2 cores ran at
// 0.54-0.98x one worker's speed for K = 2..64). Here rank r is a fibre (Boost.Context, as in
// the simulator) of OS thread r % T, T = min(ranks, threads). A rank that must wait parks:
// its OS thread switches, in user space, to the next runnable rank of its own; a rank made
// runnable from another OS thread is pushed onto that thread's run queue. An OS thread with
// nothing to run spins briefly (the other thread's ranks are usually microseconds from
// arriving) and then sleeps until woken or until its earliest deadline (emulated compute
// times).
//
// A fibre never moves to another OS thread, so thread-local state (the C++ runtime's
// exception state, OpenMP's per-thread setting) stays with it; a rank must not park inside a
// catch handler (another rank of its thread may throw meanwhile), which herd's programs never
// do. Stacks: one StackArena per OS thread (fiber_stacks.hpp), a slot per rank with a guard
// page, checked at every switch.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace herd::comm {

class FiberPool {
 public:
  using Clock = std::chrono::steady_clock;
  // A rank's stack: what glibc gives a new thread by default (RLIMIT_STACK); only the pages
  // a rank touches become resident (the mapping is MAP_NORESERVE).
  static constexpr std::size_t default_stack_bytes = std::size_t(8) << 20;
  // OS threads when none are asked for: one per core.
  static int default_threads();

  // Maps the stacks now (throws InvalidInput naming what could not be mapped). `threads` <=
  // 0: default_threads(); never more OS threads than ranks.
  FiberPool(int ranks, int threads = 0, std::size_t stack_bytes = default_stack_bytes);
  ~FiberPool();
  FiberPool(const FiberPool&) = delete;
  FiberPool& operator=(const FiberPool&) = delete;

  int ranks() const { return ranks_; }
  int threads() const { return int(carriers_.size()); }
  int thread_of(int rank) const { return rank % threads(); }

  // Runs body(r) for every rank, rank r on OS thread thread_of(r); the calling thread is
  // OS thread 0. Returns when every rank has returned. `body` must not throw. Throws
  // InvalidInput, before any rank has started, when the OS threads cannot be created.
  //
  // A deadlock, every rank that has not returned parked without a deadline and nothing left
  // to wake one, calls `deadlock` once (from an OS thread's scheduler, not a rank): it is
  // expected to wake the ranks with a reason to give up (the job's abort), instead of a hang.
  void run(const std::function<void(int rank)>& body, const std::function<void()>& deadlock);

  // Called by rank `rank` itself, holding `lock`: releases it and suspends the rank until
  // wake(rank) or `deadline`, then takes the lock again. Callers wait in a loop on their
  // condition (a return may be spurious); every change of a condition that a parked rank
  // waits on must be made under `lock` and followed by wake(). No wake-up is lost: the rank
  // is marked parked before the lock is released.
  void park(int rank, std::unique_lock<std::mutex>& lock,
            std::optional<Clock::time_point> deadline = std::nullopt);
  // Makes a parked rank runnable (a no-op for one that is not parked); any thread.
  void wake(int rank);
  // The same for several ranks, one run-queue lock per OS thread.
  void wake(std::span<const int> ranks);
  // Called by rank `rank`: lets the other runnable ranks of its OS thread run first (a poll
  // that found nothing must not starve the rank it waits for).
  void yield(int rank);

 private:
  struct Fiber;
  struct Carrier;
  void carry(int thread, const std::function<void(int)>& body);

  int ranks_ = 0;
  // OS threads running a rank, or with one to run, or waiting for a deadline: 0 while ranks
  // remain is a deadlock. An OS thread sleeping without a deadline is counted back by
  // whoever pushes it a rank, before it wakes.
  std::atomic<int> busy_{0};
  std::atomic<int> unfinished_{0};  // ranks that have not returned
  const std::function<void()>* deadlock_ = nullptr;
  std::vector<std::unique_ptr<Fiber>> fibers_;
  std::vector<std::unique_ptr<Carrier>> carriers_;
};

}  // namespace herd::comm
