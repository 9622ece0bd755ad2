#include "herd/comm/sim.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "herd/comm/fiber_stacks.hpp"
#include "herd/comm/fiber_switch.hpp"
#include "herd/comm/posts.hpp"
#include "herd/comm/runtimes.hpp"
#include "herd/comm/traffic.hpp"
#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"

namespace herd::comm {

namespace {
int ceil_log2(int p) {
  int steps = 0;
  while ((1 << steps) < p) ++steps;
  return steps;
}
}  // namespace

Links NetworkModel::between(int a, int b) const {
  if (!hierarchical()) return {};
  const bool same = node.at(std::size_t(a)) == node.at(std::size_t(b));
  return {.intra = same, .inter = !same};
}

Links NetworkModel::among(const std::vector<int>& world_ranks) const {
  if (!hierarchical()) return {};
  Links out{.intra = false, .inter = false};
  std::map<int, int> members_on;  // node -> members of the collective on it
  for (int r : world_ranks)
    if (++members_on[node.at(std::size_t(r))] > 1) out.intra = true;
  out.inter = members_on.size() > 1;
  return out;
}

double NetworkModel::step(double bytes, Links links) const {
  double t = links.inter ? message(bytes) : 0;
  if (links.intra) t = std::max(t, intra.message(bytes));
  return t;
}

bool NetworkModel::is_free(Links links) const {
  return (!links.inter || inter().is_free()) && (!links.intra || intra.is_free());
}

double NetworkModel::allreduce(double bytes, int p, Links links) const {
  return p <= 1 ? 0 : 2.0 * (p - 1) * step(bytes / p, links);
}
// The cheaper of the two broadcasts MPI libraries choose between: a binomial tree for small
// messages, scatter + ring allgather (van de Geijn) for large ones, whose bandwidth term 2 n
// does not grow with log P.
double NetworkModel::broadcast(double bytes, int p, Links links) const {
  if (p <= 1) return 0;
  const double tree = ceil_log2(p) * step(bytes, links);
  // Binomial scatter of the P pieces: log P latencies, (P-1)/P n bytes through the root.
  const double scatter =
      ceil_log2(p) * step(0, links) + step((p - 1) * bytes / p, links) - step(0, links);
  const double scatter_allgather = scatter + allgather(bytes / p, p, links);
  return std::min(tree, scatter_allgather);
}
double NetworkModel::allgather(double bytes_each, int p, Links links) const {
  return p <= 1 ? 0 : (p - 1) * step(bytes_each, links);
}
double NetworkModel::barrier(int p, Links links) const {
  return p <= 1 ? 0 : ceil_log2(p) * step(0, links);
}

namespace {

namespace fctx = fiber::fctx;
using detail::CollKind;
using detail::Post;
constexpr double never = std::numeric_limits<double>::infinity();

using fiber::arrived_on_stack;
using fiber::leaving_stack;
using fiber::StackExtent;

// One communicator's ranks and its collective in progress.
struct SimGroup {
  SimGroup(std::vector<int> members, const NetworkModel& network)
      : world_rank(std::move(members)), links(network.among(world_rank)) {}
  int size() const { return int(world_rank.size()); }
  // The tables of a collective, made at the first: a parameter server's million ranks never
  // meet in one (65 bytes per rank).
  void prepare_collectives() {
    if (!posts.empty()) return;
    const std::size_t n = world_rank.size();
    posts.resize(n), outs.resize(n), arrival.resize(n), metered.resize(n);
  }
  std::vector<int> world_rank;  // group rank -> world rank
  Links links;                  // the links its collectives cross
  std::vector<Post> posts;
  std::vector<void*> outs;      // where each member wants its result
  std::vector<double> arrival;  // each member's clock when it arrived
  std::vector<char> metered;
  int arrived = 0;
  std::map<int, std::shared_ptr<SimGroup>> split_groups;
};

enum class Wait { none, recv, compute, collective, done };

// A process's messages, arrived or in flight, in (arrival time, send sequence) order, the
// order it receives them in: a sorted singly-linked list. Messages almost always arrive in the
// order they are sent (on a free network, always), so an insertion is an append and a receive
// takes the head; a balanced tree (std::map) cost about 10 % of a simulated ASGD update in
// its rebalancing. Its nodes belong to the world's pool (MessagePool).
class Mailbox {
 public:
  struct Node {
    Node* next = nullptr;
    double arrival = 0;
    Message message;
  };
  // A node and the one before it (null at the head): what unlinking it needs.
  struct Position {
    Node* before = nullptr;
    Node* node = nullptr;
  };

  const Node* head() const { return head_; }

  // Places n, the latest message sent, behind every message that arrives no later than it:
  // messages that arrive at one time are received in the order they were sent.
  void insert(Node* n) {
    if (tail_ == nullptr || tail_->arrival <= n->arrival) {  // in order: an append
      n->next = nullptr;
      (tail_ != nullptr ? tail_->next : head_) = n;
      tail_ = n;
      return;
    }
    Node** link = &head_;
    while ((*link)->arrival <= n->arrival) link = &(*link)->next;
    n->next = *link;
    *link = n;
  }
  // The first node that `match` accepts; node null when none.
  template <class Match>
  Position find(Match&& match) const {
    Position at;
    for (Node* n = head_; n != nullptr; at.before = n, n = n->next)
      if (match(n->message)) {
        at.node = n;
        break;
      }
    return at;
  }
  void unlink(Position at) {
    (at.before != nullptr ? at.before->next : head_) = at.node->next;
    if (tail_ == at.node) tail_ = at.before;
  }

 private:
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
};

// Every mailbox node of a simulation, in chunks, with a free list: a message costs no
// allocation of its own once the simulation has held as many at once before. A free node
// keeps its (moved-from, empty) message.
class MessagePool {
 public:
  MessagePool() = default;
  MessagePool(const MessagePool&) = delete;
  MessagePool& operator=(const MessagePool&) = delete;

  Mailbox::Node* get() {
    if (free_ == nullptr) grow();
    return std::exchange(free_, free_->next);
  }
  void put(Mailbox::Node* n) { n->next = std::exchange(free_, n); }

 private:
  // Chunks double up to 4,096 nodes: a small simulation allocates little, a large one few
  // times.
  void grow() {
    const std::size_t n = chunks_.size() < 8 ? std::size_t(16) << chunks_.size() : 4096;
    chunks_.push_back(std::make_unique<Mailbox::Node[]>(n));
    for (std::size_t i = 0; i < n; ++i) put(&chunks_.back()[i]);
  }
  std::vector<std::unique_ptr<Mailbox::Node[]>> chunks_;
  Mailbox::Node* free_ = nullptr;
};

// The used part of a suspended process's stack, while another process runs on its slot, in
// a buffer kept for its next saves. Its capacity is rounded up to one of eight classes per
// power of two (576 bytes holds a simulated ASGD worker's frames, 560 bytes wherever it
// waits): a process's frames differ in depth from one wait to the next by less than a class,
// so the buffer is allocated once. Buffers cut to each size left the smaller one a hole when
// deeper frames outgrew it (or, allocated at each save, holes between each other): 100,000
// simulated workers took 500 bytes each more.
struct SavedStack {
  std::unique_ptr<std::byte[]> bytes;
  std::uint32_t size = 0, capacity = 0;

  static std::uint32_t capacity_for(std::uint32_t bytes) {
    const std::uint32_t step = std::bit_ceil(std::max<std::uint32_t>(bytes, 256)) / 16;
    return (bytes + step - 1) / step * step;
  }
};

struct Proc {
  fctx::fcontext_t context = nullptr;  // where it is suspended (null: not started, or done)
  bool started = false;
  std::uint32_t slot = 0;  // its run stack in the arena
  SavedStack saved;
  double clock = 0;
  double wake = never;           // when the scheduler resumes it
  std::uint64_t wake_order = 0;  // the order of its current heap entry: older ones are stale
  Wait wait = Wait::none;
  int want_source = any_source, want_tag = any_tag;  // recv, or the compute interrupt tag
  // Arrived or in-flight messages by (arrival time, send sequence): received in that order.
  Mailbox mailbox;  // its nodes are the world's (MessagePool)
  // The latest arrival from each world rank that has sent here: a link delivers in order, so
  // a short message cannot overtake a long one sent before it from the same rank. Made at
  // the first message over a link that is not free (an idle process's bytes count).
  std::unique_ptr<std::unordered_map<int, double>> last_arrival_from;
  std::vector<Fault> faults;  // pending, by time
  std::uint64_t faults_fired = 0;
  // Its compute model's stream, made at its first draw (a model without noise or stragglers
  // draws none: a simulated worker's process state is 40 bytes smaller without it).
  std::unique_ptr<Rng> noise;
};

class SimWorld;

class SimComm final : public Communicator {
 public:
  SimComm(SimWorld& world, std::shared_ptr<SimGroup> group, int rank);
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  double now() const override;
  void abort(const std::string& reason) override;
  std::unique_ptr<Communicator> do_split(int color, int key) override;
  bool compute(double samples, int interrupt_tag) override;
  RuntimeState save_runtime_state() const override;
  void restore_runtime_state(const RuntimeState& s) override;

 protected:
  void do_allreduce(void* buf, std::size_t n, DType type, ReduceOp op) override;
  void do_broadcast(void* buf, std::size_t n, DType type, int root) override;
  void do_allgather(const void* mine, void* all, std::size_t n, DType type) override;
  void do_barrier() override;
  void do_send(int dest, int tag, CSpan data, std::span<const unsigned char> header) override;
  Message do_recv(int source, int tag) override;
  std::optional<Message> do_try_recv(int source, int tag) override;
  bool do_probe(int tag) override;
  void do_recycle(std::vector<float>&& payload) override;

 private:
  int me() const { return me_; }
  // Posts this rank's part; the last to arrive completes the collective with `complete`.
  template <class Complete>
  void collective(const Post& post, void* out, Complete&& complete);
  // The first message from `source` with `tag` (any_source, any_tag: any) in arrival order,
  // arrived or in flight; node null when none.
  static Mailbox::Position first_match(const Proc& p, int source, int tag);
  // Moves a message out of the mailbox.
  Message take(Proc& p, Mailbox::Position at);
  void check_rank(int r, const char* what) const {
    if (r < 0 || r >= size()) [[unlikely]]
      bad_rank(r, what);
  }
  [[noreturn, gnu::noinline, gnu::cold]] void bad_rank(int r, const char* what) const;

  SimWorld& world_;
  std::shared_ptr<SimGroup> group_;
  int rank_;
  int me_;      // its world rank
  Proc& self_;  // its process (the world's processes never move)
};

class SimWorld {
 public:
  SimWorld(const SimSpec& spec, int ranks)
      : spec_(spec),
        arena_(reused_arena(slots_for(spec, ranks), spec.stack_bytes)),
        slot_owner_(arena_->slots(), -1) {
    if (std::uint64_t(ranks) > Entry::max_ranks)
      throw InvalidInput("the simulator runs at most " + std::to_string(Entry::max_ranks) +
                         " processes; this job has " + std::to_string(ranks));
    procs_.resize(std::size_t(ranks));
    if (spec.network.hierarchical() && spec.network.node.size() != std::size_t(ranks))
      throw std::logic_error("run_sim: the network places " +
                             std::to_string(spec.network.node.size()) +
                             " ranks on nodes, but the simulation has " + std::to_string(ranks));
    for (int r = 0; r < ranks; ++r) {
      Proc& p = procs_[std::size_t(r)];
      p.slot = std::uint32_t(slot_of(r, arena_->slots()));
      for (const Fault& f : spec.faults)
        if (f.rank == r) p.faults.push_back(f);
      std::sort(p.faults.begin(), p.faults.end(),
                [](const Fault& a, const Fault& b) { return a.time < b.time; });
    }
  }

  SimStats run(const std::function<void(Communicator&)>& program) {
    const int n = int(procs_.size());
    std::vector<int> all(procs_.size());
    for (int r = 0; r < n; ++r) all[std::size_t(r)] = r;
    world_group_ = std::make_shared<SimGroup>(all, spec_.network);
    program_ = &program;
    // A process starts at its first resumption, on its slot of the arena.
    for (int r = 0; r < n; ++r) schedule(r, 0.0);
    SimStats stats;
    run_events(stats);
    if (root_cause_) std::rethrow_exception(root_cause_);
    std::string stuck;
    for (int r = 0; r < n; ++r) {
      const Proc& p = procs_[std::size_t(r)];
      if (p.wait == Wait::done) continue;
      stuck += "\n  rank " + std::to_string(r) + " at t = " + std::to_string(p.clock) + ": " +
               describe_wait(p);
    }
    if (!stuck.empty()) {
      // The stuck processes unwind as on a failure: each is resumed, finds the abort and
      // throws from its wait, through the annotated switches. (Destroying a suspended fiber
      // would unwind it too, but through Boost.Context's own switch onto its stack, which
      // AddressSanitizer is not told about: it then takes the fiber's frames for the
      // scheduler's and reports the unwinding as a stack-buffer-overflow.)
      const std::string reason = "simulation deadlock: no process can make progress" + stuck;
      root_cause_ = std::make_exception_ptr(CommError(reason));
      abort(reason);
      for (int r = 0; r < n; ++r)  // also where an earlier abort left them waiting
        if (procs_[std::size_t(r)].wait != Wait::done) schedule(r, procs_[std::size_t(r)].clock);
      run_events(stats);
      std::rethrow_exception(root_cause_);
    }
    return stats;
  }

  ~SimWorld() { spare_arena() = std::move(arena_); }
  SimWorld(const SimWorld&) = delete;
  SimWorld& operator=(const SimWorld&) = delete;

  // The arena of this thread's last simulation, when it has the same stacks: a run of many
  // short simulations (a sweep, a benchmark) maps and faults in its stacks once.
  static std::unique_ptr<StackArena>& spare_arena() {
    thread_local std::unique_ptr<StackArena> spare;
    return spare;
  }
  static std::unique_ptr<StackArena> reused_arena(std::size_t slots, std::size_t bytes) {
    std::unique_ptr<StackArena>& spare = spare_arena();
    if (spare && spare->slots() == slots && spare->stack_bytes() >= bytes &&
        spare->stack_bytes() < bytes + 4096)
      return std::move(spare);
    spare.reset();  // unmapped before the new one is mapped
    return std::make_unique<StackArena>(slots, bytes);
  }

  // One run stack per process up to spec.stack_slots; beyond, processes share them.
  static std::size_t slots_for(const SimSpec& spec, int ranks) {
    return std::max<std::size_t>(1, std::min(std::size_t(ranks), spec.stack_slots));
  }
  // Rank 0 (a parameter server's) has a slot of its own; the others take turns on the rest.
  static std::size_t slot_of(int r, std::size_t slots) {
    if (r == 0 || slots == 1) return 0;
    return 1 + std::size_t(r - 1) % (slots - 1);
  }

  // Resumes the process with the earliest event until none is left.
  void run_events(SimStats& stats) {
    while (true) {
      const bool from_queue =
          queue_head_ < queue_.size() && (heap_.empty() || heap_.top() < queue_[queue_head_]);
      if (!from_queue && heap_.empty()) break;
      const Entry e = from_queue ? queue_[queue_head_] : heap_.top();
      if (from_queue)
        pop_queue();
      else
        heap_.pop();
      Proc& p = procs_[std::size_t(e.rank())];
      if (e.order() != p.wake_order || p.wait == Wait::done) continue;
      now_bits_ = e.time_bits;
      p.clock = std::max(p.clock, e.time());
      p.wake = never;
      ++stats.events;
      // Only the measured time model reads it (clock_gettime at every event costs ~10%).
      if (spec_.measured_time) resumed_at_ = std::chrono::steady_clock::now();
      resume(e.rank());
      stats.end_time = std::max(stats.end_time, p.clock);
    }
  }

  // Runs process r until it next suspends or ends. Its slot first gets its frames back
  // (their place in the slot's stack is saved by whichever process ran there last).
  void resume(int r) {
    Proc& p = procs_[std::size_t(r)];
    int& owner = slot_owner_[p.slot];
    if (owner != r) {
      if (owner >= 0) save_stack(procs_[std::size_t(owner)]);
      if (p.started) restore_stack(p);
      owner = r;
    }
    if (!p.started) {
      // A finished process never returns from its frames, so their shadow (AddressSanitizer)
      // stays poisoned: a process that starts on the slot starts with a clean one.
      unpoison(arena_->bottom(p.slot), arena_->stack_bytes());
      p.started = true;
      p.context = fctx::make_fcontext(arena_->top(p.slot), arena_->stack_bytes(), &process_main);
    }
    running_ = r;
    void* fake = nullptr;
    leaving_stack(&fake, {arena_->bottom(p.slot), arena_->stack_bytes()});
    const fctx::transfer_t back = fctx::jump_fcontext(p.context, this);
    arrived_on_stack(fake, nullptr);
    if (p.wait == Wait::done) {  // its frames are gone: the slot is free
      p.context = nullptr;
      owner = -1;
      p.saved = {};
      return;
    }
    p.context = back.fctx;
    if (!arena_->intact(p.slot, p.context)) stack_overflow(r);
  }

  // The used part of a suspended process's stack, from its stack pointer to the top.
  void save_stack(Proc& q) {
    char* sp = static_cast<char*>(q.context);
    const auto used = std::uint32_t(arena_->top(q.slot) - sp);
    if (used > q.saved.capacity) {
      q.saved.capacity = SavedStack::capacity_for(used);
      q.saved.bytes = std::make_unique_for_overwrite<std::byte[]>(q.saved.capacity);
    }
    q.saved.size = used;
    unpoison(sp, used);
    std::memcpy(q.saved.bytes.get(), sp, used);
  }
  void restore_stack(Proc& p) {
    unpoison(p.context, p.saved.size);
    std::memcpy(p.context, p.saved.bytes.get(), p.saved.size);
  }
  // Stack bytes copied out or in carry the shadow of whichever frames lay there before
  // (AddressSanitizer); they are unpoisoned: the redzones of frames that were suspended when
  // their process left its slot go unchecked, and nothing is reported that is not wrong.
  static void unpoison(const void* p, std::size_t n) {
#if defined(__SANITIZE_ADDRESS__)
    __asan_unpoison_memory_region(p, n);
#else
    (void)p, (void)n;
#endif
  }

  [[noreturn]] void stack_overflow(int r) const {
    std::fprintf(stderr,
                 "herd: simulated process %d overflowed its fibre stack of %zu bytes (the "
                 "simulator's SimSpec::stack_bytes)\n",
                 r, arena_->stack_bytes());
    std::abort();
  }

  // The first frame of every process (on its own stack).
  static void process_main(fctx::transfer_t from) {
    auto& world = *static_cast<SimWorld*>(from.data);
    world.scheduler_ = from.fctx;
    world.run_process(world.running_);
  }

  [[noreturn]] void run_process(int r) {
    arrived_on_stack(nullptr, &scheduler_stack_);
    try {
      // On the heap: a process's frames are copied out and in whenever it leaves its shared
      // run stack, and all of them stay allocated while it waits (SavedStack).
      const auto comm = std::make_unique<SimComm>(*this, world_group_, r);
      (*program_)(*comm);
    } catch (...) {
      fail(r, std::current_exception());
    }
    procs_[std::size_t(r)].wait = Wait::done;
    leaving_stack(nullptr, scheduler_stack_);  // for good
    fctx::jump_fcontext(scheduler_, nullptr);
    std::abort();  // a finished process is never resumed
  }

  Proc& proc(int r) {
    return procs_[std::size_t(r)];
  }
  const SimSpec& spec() const {
    return spec_;
  }
  bool free_network() const {
    return free_network_;
  }
  // When the running process was last resumed (read by the measured time model only).
  std::chrono::steady_clock::time_point resumed_at() const {
    return resumed_at_;
  }

  MessagePool& messages() {
    return messages_;
  }
  // Process r's compute-noise stream, made at its first use.
  Rng& noise(int r) {
    std::unique_ptr<Rng>& rng = procs_[std::size_t(r)].noise;
    if (!rng) rng = std::make_unique<Rng>(fresh_noise(r));
    return *rng;
  }
  Rng fresh_noise(int r) const {
    return Rng(spec_.compute.seed, streams::compute_noise_base + std::uint64_t(r));
  }
  // The stream handed to a compute model that draws nothing (ComputeModel::draws).
  Rng& no_draws() {
    return no_draws_;
  }
  // A message's payload `v` (empty: a free node's) gets `data`, in a buffer handed back by a
  // receiver (SimComm::do_recycle) where one is kept, so that messages reuse memory instead of
  // allocating each.
  void fill_payload(std::vector<float>& v, CSpan data) {
    if (!data.empty() && !spare_payloads_.empty()) {
      v = std::move(spare_payloads_.back());
      spare_payloads_.pop_back();
    }
    v.assign(data.begin(), data.end());
  }
  // Keeps at most as many buffers as processes: one message in flight per process (the
  // parameter-server protocols) reuses memory, and a burst does not pin its memory for the
  // rest of the run.
  void keep_payload(std::vector<float>&& v) {
    if (v.capacity() > 0 && spare_payloads_.size() < procs_.size())
      spare_payloads_.push_back(std::move(v));
  }

  // Makes rank r runnable at virtual time t (replacing any earlier wake-up). Out of line:
  // inlined into a receive, the heap push's temporaries stayed in every waiting process's
  // saved frames (80 bytes more each).
  [[gnu::noinline]] void schedule(int r, double t) {
    assert(t >= 0);  // the heap orders times by their bits (Entry)
    Proc& p = procs_[std::size_t(r)];
    p.wake = t;
    p.wake_order = ++scheduled_;
    if (scheduled_ == Entry::max_orders) [[unlikely]]
      too_many_events();
    const Entry e{t, p.wake_order, r};
    if (queue_head_ == queue_.size() ? e.time_bits == now_bits_
                                     : e.time_bits == queue_.back().time_bits)
      queue_.push_back(e);
    else
      heap_.push(e);
  }
  void pop_queue() {
    if (++queue_head_ == queue_.size()) {
      queue_.clear();
      queue_head_ = 0;
    } else if (queue_head_ >= 4096 && 2 * queue_head_ >= queue_.size()) {
      queue_.erase(queue_.begin(), queue_.begin() + std::ptrdiff_t(queue_head_));
      queue_head_ = 0;
    }
  }

  // Suspends the running process `r` until the scheduler resumes it; then applies its
  // faults and the job's abort.
  void block(int r) {
    Proc& p = procs_[std::size_t(r)];
    throw_if_aborted();  // a process that starts or calls after the abort never waits
    to_scheduler(p);
    p.wait = Wait::none;
    if (aborted_ || (!p.faults.empty() && p.faults.front().time <= p.clock)) [[unlikely]]
      after_abort_or_fault(r);
  }

  // Out of line: the frames of a waiting process stay small (its stack is what an idle
  // simulated process costs).
  [[gnu::noinline, gnu::cold]] void after_abort_or_fault(int r) {
    Proc& p = procs_[std::size_t(r)];
    throw_if_aborted();
    while (!p.faults.empty() && p.faults.front().time <= p.clock) {
      const Fault f = p.faults.front();
      p.faults.erase(p.faults.begin());
      ++p.faults_fired;
      if (f.kind == FaultKind::die)
        throw CommError("rank " + std::to_string(r) + " died at virtual time " +
                        std::to_string(f.time) + " (injected fault)");
      schedule(r, p.clock + f.duration);  // stall, then carry on
      to_scheduler(p);
      throw_if_aborted();
    }
  }

  // From the running process back to the scheduler, until the scheduler resumes it.
  void to_scheduler(Proc& p) {
    (void)p;
    void* fake = nullptr;
    leaving_stack(&fake, scheduler_stack_);
    scheduler_ = fctx::jump_fcontext(scheduler_, nullptr).fctx;
    arrived_on_stack(fake, &scheduler_stack_);
  }

  void throw_if_aborted() const {
    if (aborted_) [[unlikely]]
      throw_aborted();
  }
  [[noreturn, gnu::noinline, gnu::cold]] void throw_aborted() const {
    throw CommError(abort_reason_);
  }
  [[noreturn, gnu::noinline, gnu::cold]] static void too_many_events() {
    throw CommError("the simulation reached its limit of " + std::to_string(Entry::max_orders) +
                    " scheduled events");
  }

  void abort(const std::string& reason) {
    if (aborted_) return;
    aborted_ = true;
    abort_reason_ = reason;
    // Every waiting process resumes, finds the abort and unwinds.
    for (int r = 0; r < int(procs_.size()); ++r)
      if (procs_[std::size_t(r)].wait != Wait::done) schedule(r, procs_[std::size_t(r)].clock);
  }

  [[gnu::noinline]] void fail(int r, std::exception_ptr e) {
    if (!root_cause_) root_cause_ = e;
    std::string what = "unknown error";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    abort("rank " + std::to_string(r) + " failed: " + what);
  }

 private:
  // Events at the same virtual time run in the order they were scheduled. A process that
  // suspends for zero time (a gradient that costs nothing, an immediate reply) thus goes
  // behind every process already runnable at that time; ordering by rank let the server and
  // one worker ping-pong at t = 0 forever while the others starved (Malenia and Ringleader,
  // which wait for every worker, never stepped).
  struct Entry {
    // The order in the high 40 bits of a word, the rank in the low 24: 16 bytes an entry.
    static constexpr int rank_bits = 24;
    static constexpr std::uint64_t max_ranks = std::uint64_t(1) << rank_bits;
    static constexpr std::uint64_t max_orders = std::uint64_t(1) << (64 - rank_bits);
    Entry(double t, std::uint64_t order, int rank)
        : time_bits(std::bit_cast<std::uint64_t>(t + 0.0)),  // no -0
          order_rank(order << rank_bits | std::uint64_t(rank)) {}
    // A time >= 0 as its bits, which order as the times do: the heap compares integers,
    // without a branch per field (its sifts mispredicted on the doubles: 5-8 % of a run).
    std::uint64_t time_bits;
    std::uint64_t order_rank;
    double time() const { return std::bit_cast<double>(time_bits); }
    std::uint64_t order() const { return order_rank >> rank_bits; }
    int rank() const { return int(order_rank & (max_ranks - 1)); }
    // std::priority_queue is a max-heap: earliest first. Orders are unique, so (time, order,
    // rank) orders as (time, order).
    bool operator<(const Entry& o) const {
      __extension__ typedef unsigned __int128 Key;  // one comparison
      return (Key(time_bits) << 64 | order_rank) > (Key(o.time_bits) << 64 | o.order_rank);
    }
  };

  static std::string describe_wait(const Proc& p) {
    switch (p.wait) {
      case Wait::recv:
        return "recv(source " +
               (p.want_source == any_source ? std::string("any") : std::to_string(p.want_source)) +
               ", tag " +
               (p.want_tag == any_tag ? std::string("any") : std::to_string(p.want_tag)) + ")";
      case Wait::collective:
        return "a collective that not every rank entered";
      case Wait::compute:
        return "compute";
      default:
        return "?";
    }
  }

  const SimSpec& spec_;
  const bool free_network_ = !spec_.network.hierarchical() && spec_.network.inter().is_free();
  MessagePool messages_;                            // the mailboxes' nodes
  Rng no_draws_{0, 0};                              // see no_draws()
  std::vector<std::vector<float>> spare_payloads_;  // handed back by receivers
  std::vector<Proc> procs_;
  std::unique_ptr<StackArena> arena_;
  std::vector<int> slot_owner_;  // the process whose frames a slot holds; -1: none
  std::shared_ptr<SimGroup> world_group_;
  const std::function<void(Communicator&)>* program_ = nullptr;
  int running_ = -1;
  std::chrono::steady_clock::time_point resumed_at_;  // the running process's resumption
  fctx::fcontext_t scheduler_ = nullptr;              // where the running process returns to
  std::priority_queue<Entry> heap_;
  // Events at the time of the one being run (a message on a free network, an immediate
  // answer: two of the three events of a simulated ASGD update) skip the heap: they come in
  // order (one time, increasing orders), so a FIFO holds them, and the next event is the
  // earlier of its front and the heap's top (Entry::operator<: the later): events run in the
  // order the heap alone gave them.
  std::vector<Entry> queue_;
  std::size_t queue_head_ = 0;
  std::uint64_t now_bits_ = 0;   // the time of the event being run, as Entry keeps it
  std::uint64_t scheduled_ = 0;  // events scheduled so far: their order at equal times
  bool aborted_ = false;
  std::string abort_reason_;
  std::exception_ptr root_cause_;
  StackExtent scheduler_stack_;  // learnt at the first switch into a fiber
};

SimComm::SimComm(SimWorld& world, std::shared_ptr<SimGroup> group, int rank)
    : world_(world),
      group_(std::move(group)),
      rank_(rank),
      me_(group_->world_rank[std::size_t(rank)]),
      self_(world.proc(me_)) {}

double SimComm::now() const {
  return self_.clock;
}

void SimComm::abort(const std::string& reason) {
  world_.abort(reason);
}

void SimComm::bad_rank(int r, const char* what) const {
  throw CommError("rank " + std::to_string(rank_) + ": cannot " + what + " rank " +
                  std::to_string(r) + " of a communicator of " + std::to_string(size()));
}

bool SimComm::compute(double samples, int interrupt_tag) {
  const int r = me();
  Proc& p = self_;
  const SimSpec& spec = world_.spec();
  double seconds = 0;
  if (spec.measured_time)
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - world_.resumed_at())
                  .count();
  else if (!spec.compute.empty())
    seconds = spec.compute.duration(r, samples, p.clock,
                                    spec.compute.draws() ? world_.noise(r) : world_.no_draws());
  const double done = p.clock + seconds;
  double wake = done;
  if (interrupt_tag != no_interrupt) {
    const Mailbox::Position at = first_match(p, any_source, interrupt_tag);
    if (at.node != nullptr) wake = std::min(wake, at.node->arrival);
  }
  p.wait = Wait::compute;
  p.want_source = any_source;
  p.want_tag = interrupt_tag;
  world_.schedule(r, wake);
  world_.block(r);
  return interrupt_tag == no_interrupt || !do_probe(interrupt_tag);
}

RuntimeState SimComm::save_runtime_state() const {
  const Proc& p = self_;
  // A stream never drawn from is saved as it starts (made here, not kept).
  const Rng::State noise = p.noise ? p.noise->state() : world_.fresh_noise(me()).state();
  return {p.clock, noise, p.faults_fired};
}

// The clock jumps to the saved one (the process is running, so no scheduled event refers to
// its clock), and the faults applied before the checkpoint are not applied again.
void SimComm::restore_runtime_state(const RuntimeState& s) {
  Proc& p = self_;
  p.clock = s.clock;
  if (s.noise) p.noise = std::make_unique<Rng>(*s.noise);
  const std::size_t fired = std::size_t(std::min<std::uint64_t>(s.faults_fired, p.faults.size()));
  p.faults.erase(p.faults.begin(), p.faults.begin() + std::ptrdiff_t(fired));
  p.faults_fired = s.faults_fired;
}

Mailbox::Position SimComm::first_match(const Proc& p, int source, int tag) {
  return p.mailbox.find([source, tag](const Message& m) {
    return (source == any_source || m.source == source) && (tag == any_tag || m.tag == tag);
  });
}

Message SimComm::take(Proc& p, Mailbox::Position at) {
  p.mailbox.unlink(at);
  Message m = std::move(at.node->message);
  world_.messages().put(at.node);
  return m;
}

// The network charges the message's bytes as the traffic count has them: header + payload,
// over the link between the two ranks (intra- or inter-node).
void SimComm::do_send(int dest, int tag, CSpan data, std::span<const unsigned char> header) {
  world_.throw_if_aborted();
  check_rank(dest, "send to");
  const int from = me(), to = group_->world_rank[std::size_t(dest)];
  Proc& q = world_.proc(to);
  double arrival = self_.clock;
  if (!world_.free_network()) {  // on a free one a message takes no time: none overtakes
    const NetworkModel& network = world_.spec().network;
    const Links crossed = network.between(from, to);  // the link the message crosses
    const double bytes = double(traffic::message_bytes(header.size(), data.size()));
    if (metered()) arrival += network.step(bytes, crossed);
    if (!network.is_free(crossed)) {  // a free link cannot reorder
      if (!q.last_arrival_from)
        q.last_arrival_from = std::make_unique<std::unordered_map<int, double>>();
      double& link = (*q.last_arrival_from)[from];
      arrival = link = std::max(link, arrival);
    }
  }
  Mailbox::Node* n = world_.messages().get();
  n->arrival = arrival;
  n->message.source = rank_;
  n->message.tag = tag;
  world_.fill_payload(n->message.data, data);
  n->message.header.assign(header);
  q.mailbox.insert(n);
  // Wake the receiver earlier if this message is what it waits for.
  const bool wanted =
      (q.wait == Wait::recv && (q.want_source == any_source || q.want_source == rank_) &&
       (q.want_tag == any_tag || q.want_tag == tag)) ||
      (q.wait == Wait::compute && q.want_tag == tag);
  if (wanted && arrival < q.wake) world_.schedule(to, arrival);
}

Message SimComm::do_recv(int source, int tag) {
  if (source != any_source) check_rank(source, "receive from");
  const int r = me();
  Proc& p = self_;
  while (true) {
    const Mailbox::Position at = first_match(p, source, tag);
    if (at.node != nullptr && at.node->arrival <= p.clock) return take(p, at);
    p.wait = Wait::recv;
    p.want_source = source;
    p.want_tag = tag;
    if (at.node != nullptr) world_.schedule(r, at.node->arrival);  // when it arrives
    world_.block(r);
  }
}

std::optional<Message> SimComm::do_try_recv(int source, int tag) {
  world_.throw_if_aborted();
  if (source != any_source) check_rank(source, "receive from");
  Proc& p = self_;
  const Mailbox::Position at = first_match(p, source, tag);
  if (at.node == nullptr || at.node->arrival > p.clock) return std::nullopt;
  return take(p, at);
}

bool SimComm::do_probe(int tag) {
  const Proc& p = self_;
  for (const Mailbox::Node* n = p.mailbox.head(); n != nullptr; n = n->next) {
    if (n->arrival > p.clock) break;
    if (tag == any_tag || n->message.tag == tag) return true;
  }
  return false;
}

void SimComm::do_recycle(std::vector<float>&& payload) {
  world_.keep_payload(std::move(payload));
}

template <class Complete>
void SimComm::collective(const Post& post, void* out, Complete&& complete) {
  SimGroup& g = *group_;
  const int r = me();
  Proc& p = self_;
  g.prepare_collectives();
  g.posts[std::size_t(rank_)] = post;
  g.outs[std::size_t(rank_)] = out;
  g.arrival[std::size_t(rank_)] = p.clock;
  g.metered[std::size_t(rank_)] = metered();
  p.wait = Wait::collective;
  if (++g.arrived < g.size()) {
    world_.block(r);  // the last to arrive completes it and schedules everyone
    return;
  }
  g.arrived = 0;
  detail::check_matched(g.posts, rank_);
  const double cost = complete(g);
  double latest = 0;
  for (double t : g.arrival) latest = std::max(latest, t);
  for (int m = 0; m < g.size(); ++m) {
    // Metered collectives synchronise: everyone leaves at the latest arrival plus the cost.
    // Unmetered ones (evaluation) are instrumentation: nobody's clock moves.
    const double leave = g.metered[std::size_t(m)] ? latest + cost : g.arrival[std::size_t(m)];
    world_.schedule(g.world_rank[std::size_t(m)], leave);
  }
  world_.block(r);
}

void SimComm::do_allreduce(void* buf, std::size_t n, DType type, ReduceOp op) {
  assert(type != DType::u8);  // no byte reductions
  const std::size_t bytes = n * size_of(type);
  collective(Post{CollKind::allreduce, n, size_of(type), 0, buf, 0, 0}, buf, [&](SimGroup& g) {
    std::vector<std::byte> result(bytes);
    if (type == DType::f32)
      detail::reduce_slice(g.posts, 0, n, reinterpret_cast<float*>(result.data()), op);
    else
      detail::reduce_slice(g.posts, 0, n, reinterpret_cast<double*>(result.data()), op);
    if (bytes > 0)
      for (void* o : g.outs) std::memcpy(o, result.data(), bytes);
    return world_.spec().network.allreduce(double(bytes), g.size(), g.links);
  });
}

void SimComm::do_broadcast(void* buf, std::size_t n, DType type, int root) {
  const std::size_t bytes = n * size_of(type);
  collective(Post{CollKind::broadcast, n, size_of(type), root, buf, 0, 0}, buf, [&](SimGroup& g) {
    const void* src = g.posts[std::size_t(root)].in;
    for (int m = 0; m < g.size(); ++m)
      if (m != root && bytes > 0) std::memcpy(g.outs[std::size_t(m)], src, bytes);
    return world_.spec().network.broadcast(double(bytes), g.size(), g.links);
  });
}

void SimComm::do_allgather(const void* mine, void* all, std::size_t n, DType type) {
  const std::size_t bytes = n * size_of(type);
  collective(Post{CollKind::allgather, n, size_of(type), 0, mine, 0, 0}, all, [&](SimGroup& g) {
    for (int m = 0; m < g.size() && bytes > 0; ++m)  // no memcpy from null at n = 0 (UBSan)
      for (int r = 0; r < g.size(); ++r)
        std::memcpy(static_cast<std::byte*>(g.outs[std::size_t(m)]) + std::size_t(r) * bytes,
                    g.posts[std::size_t(r)].in, bytes);
    return world_.spec().network.allgather(double(bytes), g.size(), g.links);
  });
}

void SimComm::do_barrier() {
  collective(Post{CollKind::barrier, 0, 0, 0, nullptr, 0, 0}, nullptr,
             [&](SimGroup& g) { return world_.spec().network.barrier(g.size(), g.links); });
}

std::unique_ptr<Communicator> SimComm::do_split(int color, int key) {
  collective(Post{CollKind::split, 0, 0, 0, nullptr, color, key}, nullptr, [&](SimGroup& g) {
    g.split_groups.clear();
    for (auto& [c, ranks] : detail::split_members(g.posts)) {
      std::vector<int> members;
      for (int r : ranks) members.push_back(g.world_rank[std::size_t(r)]);
      g.split_groups[c] = std::make_shared<SimGroup>(std::move(members), world_.spec().network);
    }
    return 0.0;
  });
  auto mine = group_->split_groups.at(color);
  const auto& members = mine->world_rank;
  const int new_rank = int(std::find(members.begin(), members.end(), me()) - members.begin());
  return std::make_unique<SimComm>(world_, mine, new_rank);
}

}  // namespace

SimStats run_sim(const SimSpec& spec, int ranks,
                 const std::function<void(Communicator&)>& program) {
  SimWorld world(spec, ranks);
  return world.run(program);
}

HERD_REGISTER_RUNTIME(
    sim, RuntimeInfo{.name = "sim",
                     .summary = "A deterministic discrete-event simulation in this process with "
                                "a virtual clock that charges the modelled cluster.",
                     .order = 20,
                     .make = [](const ClusterModel& cluster) -> RankRunner {
                       return [spec = cluster.spec](int ranks, const Program& program) {
                         run_sim(spec, ranks, program);
                       };
                     }});

}  // namespace herd::comm
