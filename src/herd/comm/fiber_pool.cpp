#include "herd/comm/fiber_pool.hpp"

#include <fmt/format.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <queue>
#include <system_error>
#include <thread>

#include "herd/comm/fiber_stacks.hpp"
#include "herd/comm/fiber_switch.hpp"
#include "herd/core/error.hpp"

namespace herd::comm {

namespace {

namespace fctx = fiber::fctx;

// How long an OS thread with nothing to run polls its run queue before it sleeps: a
// collective's other ranks are usually microseconds away (an a9a Local SGD round is about
// 16 us of compute), and a futex sleep and wake-up costs about as much again; beyond this,
// the core is better given back.
constexpr auto spin_for = std::chrono::microseconds(50);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Why a fibre switched back to its OS thread's scheduler.
enum class Exit { parked, yielded, done };

}  // namespace

struct FiberPool::Fiber {
  int rank = 0;
  std::uint32_t slot = 0;  // its stack in its OS thread's arena
  bool started = false;
  fctx::fcontext_t context = nullptr;  // where it is suspended
  void* race_context = nullptr;        // ThreadSanitizer's
  // The number of the park in progress, 0 when not parked: wake() and the park's deadline
  // race for it (compare-and-swap to 0), so a park ends once and its rank is queued once.
  std::atomic<std::uint64_t> parked{0};
  std::uint64_t parks = 0;  // parks so far; only its own OS thread touches it
};

// One OS thread and the fibres it carries.
struct FiberPool::Carrier {
  FiberPool* pool = nullptr;
  std::vector<int> ranks;
  std::unique_ptr<StackArena> arena;

  // The run queue: ranks ready to resume, pushed by any thread.
  std::mutex mu;
  std::condition_variable woken;
  std::deque<int> ready;
  bool sleeping = false;
  bool idle = false;  // sleeping without a deadline: not counted in the pool's busy_
  std::atomic<bool> has_ready{false};  // polled without the lock while spinning

  // Touched only by this OS thread (its scheduler and its fibres).
  struct Timer {
    Clock::time_point at;
    int rank;
    std::uint64_t park;
    bool operator>(const Timer& o) const { return at > o.at; }
  };
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;  // park deadlines
  const std::function<void(int)>* body = nullptr;
  int live = 0;                            // its ranks that have not returned
  int running = -1;                        // the rank being resumed
  Exit exit = Exit::parked;                // why the running fibre came back
  fctx::fcontext_t scheduler = nullptr;    // where a fibre switches back to
  fiber::StackExtent scheduler_stack;      // learnt at the first switch into a fibre
  void* scheduler_race_context = nullptr;  // ThreadSanitizer's

  void push(int r) {
    std::lock_guard lock(mu);
    ready.push_back(r);
    pushed();
  }
  // After a push, under `mu`: wakes this OS thread if it sleeps.
  void pushed() {
    has_ready.store(true, std::memory_order_release);
    if (idle) {
      idle = false;
      pool->busy_.fetch_add(1);
    }
    if (sleeping) woken.notify_one();
  }

  // Queues the ranks whose park deadline has passed.
  void fire_timers(Clock::time_point now) {
    while (!timers.empty() && timers.top().at <= now) {
      const Timer t = timers.top();
      timers.pop();
      std::uint64_t park = t.park;
      if (pool->fibers_[std::size_t(t.rank)]->parked.compare_exchange_strong(park, 0)) push(t.rank);
    }
  }

  // The next rank to resume: spins briefly when there is none, then sleeps until one is
  // pushed or the earliest deadline passes.
  int next() {
    while (true) {
      if (!timers.empty()) fire_timers(Clock::now());
      if (has_ready.load(std::memory_order_acquire)) {
        std::lock_guard lock(mu);
        if (!ready.empty()) {
          const int r = ready.front();
          ready.pop_front();
          if (ready.empty()) has_ready.store(false, std::memory_order_relaxed);
          return r;
        }
      }
      if (spin()) continue;
      std::unique_lock lock(mu);
      const auto has_pushed = [&] { return !ready.empty(); };
      if (has_pushed()) continue;
      sleeping = true;
      if (!timers.empty()) {
        woken.wait_until(lock, timers.top().at, has_pushed);
      } else {
        // Nothing can wake this thread but another's rank. When no OS thread is left to run
        // one, no rank ever will: a deadlock.
        idle = true;
        if (pool->busy_.fetch_sub(1) == 1 && pool->unfinished_.load() > 0) {
          lock.unlock();
          (*pool->deadlock_)();  // wakes the ranks (an abort): pushes, counted back
          lock.lock();
        }
        woken.wait(lock, has_pushed);
      }
      sleeping = false;
    }
  }

  // Whether a rank was pushed (or a deadline passed) within spin_for.
  bool spin() const {
    const auto until = Clock::now() + spin_for;
    for (unsigned i = 1;; ++i) {
      if (has_ready.load(std::memory_order_acquire)) return true;
      if (i % 64 == 0) {
        const auto now = Clock::now();
        if (!timers.empty() && timers.top().at <= now) return true;
        if (now >= until) return false;
      }
      cpu_relax();
    }
  }

  // Runs rank r's fibre until it parks, yields or returns.
  void resume(Fiber& f) {
    running = f.rank;
    if (!f.started) {
      f.started = true;
      f.context = fctx::make_fcontext(arena->top(f.slot), arena->stack_bytes(), &fiber_main);
      f.race_context = fiber::new_race_context();
    }
    void* fake = nullptr;
    fiber::leaving_stack(&fake, {arena->bottom(f.slot), arena->stack_bytes()});
    fiber::switching_race_context(f.race_context);
    const fctx::transfer_t back = fctx::jump_fcontext(f.context, this);
    fiber::arrived_on_stack(fake, nullptr);
    if (exit == Exit::done) {
      f.context = nullptr;
      fiber::destroy_race_context(std::exchange(f.race_context, nullptr));
      --live;
      pool->unfinished_.fetch_sub(1);
      return;
    }
    f.context = back.fctx;
    if (!arena->intact(f.slot, f.context)) overflowed(f.rank);
    if (exit == Exit::yielded) push(f.rank);
  }

  // From the running fibre back to the scheduler, until the scheduler resumes it.
  void suspend(Exit why) {
    exit = why;
    void* fake = nullptr;
    fiber::leaving_stack(&fake, scheduler_stack);
    fiber::switching_race_context(scheduler_race_context);
    scheduler = fctx::jump_fcontext(scheduler, nullptr).fctx;
    fiber::arrived_on_stack(fake, &scheduler_stack);
  }

  // The first frame of every fibre, on its own stack.
  static void fiber_main(fctx::transfer_t from) {
    auto& carrier = *static_cast<Carrier*>(from.data);
    carrier.scheduler = from.fctx;
    carrier.run_fiber(carrier.running);
  }

  [[noreturn]] void run_fiber(int r) {
    fiber::arrived_on_stack(nullptr, &scheduler_stack);
    (*body)(r);
    exit = Exit::done;
    fiber::leaving_stack(nullptr, scheduler_stack);  // for good
    fiber::switching_race_context(scheduler_race_context);
    fctx::jump_fcontext(scheduler, nullptr);
    std::abort();  // a finished fibre is never resumed
  }

  [[noreturn]] void overflowed(int r) const {
    std::fprintf(stderr,
                 "herd: rank %d overflowed its stack of %zu bytes on the threads runtime "
                 "(FiberPool's stack_bytes)\n",
                 r, arena->stack_bytes());
    std::abort();
  }
};

int FiberPool::default_threads() {
  cpu_set_t cpus;
  if (::sched_getaffinity(0, sizeof cpus, &cpus) == 0) return std::max(1, CPU_COUNT(&cpus));
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

FiberPool::FiberPool(int ranks, int threads, std::size_t stack_bytes) : ranks_(ranks) {
  const int os_threads =
      std::clamp(threads > 0 ? threads : default_threads(), 1, std::max(1, ranks));
  for (int t = 0; t < os_threads; ++t) {
    carriers_.push_back(std::make_unique<Carrier>());
    carriers_.back()->pool = this;
  }
  for (int r = 0; r < ranks; ++r) {
    auto f = std::make_unique<Fiber>();
    Carrier& c = *carriers_[std::size_t(thread_of(r))];
    f->rank = r;
    f->slot = std::uint32_t(c.ranks.size());
    c.ranks.push_back(r);
    fibers_.push_back(std::move(f));
  }
  for (auto& c : carriers_) c->arena = std::make_unique<StackArena>(c->ranks.size(), stack_bytes);
}

FiberPool::~FiberPool() {
  for (auto& f : fibers_) fiber::destroy_race_context(f->race_context);
}

void FiberPool::run(const std::function<void(int)>& body, const std::function<void()>& deadlock) {
  busy_ = threads();
  unfinished_ = ranks_;
  deadlock_ = &deadlock;
  // Every OS thread is created before any rank starts: when one cannot be, no rank has
  // started, none waits for a missing peer, and the others are told to end.
  std::mutex mu;
  std::condition_variable decided;
  enum class Start { waiting, go, cancelled } start = Start::waiting;
  std::vector<std::jthread> others;
  try {
    for (int t = 1; t < threads(); ++t)
      others.emplace_back([&, t] {
        {
          std::unique_lock lock(mu);
          decided.wait(lock, [&] { return start != Start::waiting; });
          if (start == Start::cancelled) return;
        }
        carry(t, body);
      });
  } catch (const std::system_error& e) {
    const std::size_t started = others.size();
    {
      std::lock_guard lock(mu);
      start = Start::cancelled;
    }
    decided.notify_all();
    others.clear();
    throw InvalidInput(fmt::format(
        "the threads runtime could not start OS thread {} of {} ({}; a limit such as ulimit -u "
        "may stop it); ask for fewer with run.threads",
        started + 2, threads(), e.code().message()));
  }
  {
    std::lock_guard lock(mu);
    start = Start::go;
  }
  decided.notify_all();
  carry(0, body);
}  // the other OS threads are joined here

void FiberPool::carry(int thread, const std::function<void(int)>& body) {
  Carrier& c = *carriers_[std::size_t(thread)];
  c.body = &body;
  c.scheduler_race_context = fiber::race_context_of_thread();
  c.live = int(c.ranks.size());
  for (int r : c.ranks) c.push(r);
  while (c.live > 0) c.resume(*fibers_[std::size_t(c.next())]);
  // Done: no longer busy. The last OS thread to leave may find the others all idle: their
  // ranks wait for this thread's, which have returned.
  if (busy_.fetch_sub(1) == 1 && unfinished_.load() > 0) (*deadlock_)();
}

void FiberPool::park(int rank, std::unique_lock<std::mutex>& lock,
                     std::optional<Clock::time_point> deadline) {
  Fiber& f = *fibers_[std::size_t(rank)];
  Carrier& c = *carriers_[std::size_t(thread_of(rank))];
  const std::uint64_t number = ++f.parks;
  f.parked.store(number, std::memory_order_release);
  if (deadline) c.timers.push({*deadline, rank, number});
  // A wake() between here and the switch queues the rank at once; its OS thread resumes it
  // only after the switch, as nothing else runs on that thread meanwhile.
  lock.unlock();
  c.suspend(Exit::parked);
  lock.lock();
}

void FiberPool::wake(int rank) {
  std::uint64_t park = fibers_[std::size_t(rank)]->parked.load(std::memory_order_acquire);
  if (park != 0 && fibers_[std::size_t(rank)]->parked.compare_exchange_strong(park, 0))
    carriers_[std::size_t(thread_of(rank))]->push(rank);
}

void FiberPool::wake(std::span<const int> ranks) {
  for (int t = 0; t < threads(); ++t) {
    Carrier& c = *carriers_[std::size_t(t)];
    std::unique_lock lock(c.mu, std::defer_lock);
    for (int r : ranks) {
      if (thread_of(r) != t) continue;
      std::uint64_t park = fibers_[std::size_t(r)]->parked.load(std::memory_order_acquire);
      if (park == 0 || !fibers_[std::size_t(r)]->parked.compare_exchange_strong(park, 0)) continue;
      if (!lock.owns_lock()) lock.lock();
      c.ready.push_back(r);
    }
    if (lock.owns_lock()) c.pushed();
  }
}

void FiberPool::yield(int rank) {
  Carrier& c = *carriers_[std::size_t(thread_of(rank))];
  if (!c.timers.empty()) c.fire_timers(Clock::now());
  if (c.has_ready.load(std::memory_order_acquire)) c.suspend(Exit::yielded);
}

}  // namespace herd::comm
