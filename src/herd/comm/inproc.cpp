#include "herd/comm/inproc.hpp"

#include "herd/comm/posts.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "herd/comm/fiber_pool.hpp"
#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"

namespace herd::comm {
namespace {

using Clock = std::chrono::steady_clock;

using detail::CollKind;
using detail::Post;

}  // namespace

// State shared by every rank and every sub-communicator of one job. One mutex guards it all:
// its critical sections are a few dozen instructions, and its users are at most run.threads
// OS threads (the ranks are fibres of a FiberPool). A rank that waits parks its fibre on the
// pool and is woken by whoever changes what it waits for.
class InProcWorld {
 public:
  InProcWorld(int size, ComputeModel model, FiberPool& ranks)
      : pool(ranks), mailboxes(std::size_t(size)), start(Clock::now()), compute(std::move(model)) {
    for (int r = 0; r < size; ++r)
      noise.emplace_back(compute.seed, streams::compute_noise_base + std::uint64_t(r));
    work_started.assign(std::size_t(size), start);
    clock_offset.assign(std::size_t(size), 0.0);
  }
  FiberPool& pool;
  std::mutex mu;
  bool aborted = false;
  std::string abort_reason;
  struct Mailbox {
    std::deque<Message> queue;
  };
  std::vector<Mailbox> mailboxes;  // by world rank
  Clock::time_point start;
  ComputeModel compute;    // empty: no emulated compute time
  std::vector<Rng> noise;  // by world rank: compute-time noise streams
  // By world rank: when the rank last came back from waiting (a receive, a collective, an
  // emulated computation). The emulated compute time runs from there, so the real work
  // done since (the gradient itself) is part of tau instead of coming on top of it.
  std::vector<Clock::time_point> work_started;
  // By world rank: seconds added to the wall clock so that a resumed job's now() continues
  // from its checkpoint. Each rank writes and reads only its own entry.
  std::vector<double> clock_offset;

  bool has_tag(int world_rank, int tag) const {
    for (const Message& m : mailboxes[std::size_t(world_rank)].queue)
      if (tag == any_tag || m.tag == tag) return true;
    return false;
  }

  void throw_if_aborted() const {
    if (aborted) throw CommError(abort_reason);
  }
};

namespace {

// The ranks of one communicator (the world, or a split of it).
class Group {
 public:
  Group(std::shared_ptr<InProcWorld> w, std::vector<int> members)
      : world(std::move(w)), world_rank(std::move(members)), posts(world_rank.size()) {}

  // The phases of one collective: every rank posts, waits for all posts (phase 1), works
  // on the posted buffers, waits for all to finish (phase 2), and only then may it reuse or
  // modify its buffers. Throws CommError when the job is aborted while waiting.
  void arrive_and_wait(std::unique_lock<std::mutex>& lock, int my_world_rank) {
    const std::uint64_t gen = generation;
    if (++arrived == size()) {
      arrived = 0;
      ++generation;
      world->pool.wake(world_rank);
    } else {
      while (generation == gen && !world->aborted) world->pool.park(my_world_rank, lock);
    }
    world->throw_if_aborted();
  }

  int size() const { return int(world_rank.size()); }

  std::shared_ptr<InProcWorld> world;
  std::vector<int> world_rank;  // group rank -> world rank
  std::vector<Post> posts;
  std::map<int, std::shared_ptr<Group>> split_groups;
  std::uint64_t generation = 0;
  int arrived = 0;
};

class InProcComm final : public Communicator {
 public:
  InProcComm(std::shared_ptr<Group> g, int rank) : group_(std::move(g)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }

  double now() const override {
    return wall_seconds() + group_->world->clock_offset[std::size_t(my_world_rank())];
  }

  RuntimeState save_runtime_state() const override {
    InProcWorld& w = *group_->world;
    std::lock_guard lock(w.mu);  // the noise streams are drawn from under the lock
    return {now(), w.noise[std::size_t(my_world_rank())].state(), 0};
  }
  void restore_runtime_state(const RuntimeState& s) override {
    InProcWorld& w = *group_->world;
    const std::size_t me = std::size_t(my_world_rank());
    std::lock_guard lock(w.mu);
    if (s.noise) w.noise[me] = Rng(*s.noise);
    w.clock_offset[me] = s.clock - wall_seconds();
  }

  void abort(const std::string& reason) override {
    InProcWorld& w = *group_->world;
    {
      std::lock_guard lock(w.mu);
      if (w.aborted) return;
      w.aborted = true;
      w.abort_reason = reason;
    }
    for (int r = 0; r < w.pool.ranks(); ++r) w.pool.wake(r);
  }

  std::unique_ptr<Communicator> do_split(int color, int key) override {
    Post p{CollKind::split, 0, 0, 0, nullptr, color, key};
    std::shared_ptr<Group> mine;
    run_collective(
        p,
        [&](Group& g) {
          // Rank 0 alone builds every color's group (one writer, no lock needed); the others
          // pick theirs up after the second phase.
          if (rank_ != 0) return;
          g.split_groups.clear();
          for (auto& [c, ranks] : detail::split_members(g.posts)) {
            std::vector<int> members;
            for (int r : ranks) members.push_back(g.world_rank[std::size_t(r)]);
            g.split_groups[c] = std::make_shared<Group>(g.world, std::move(members));
          }
        },
        [&](Group& g) { mine = g.split_groups.at(color); });
    const int world_me = group_->world_rank[std::size_t(rank_)];
    const auto& members = mine->world_rank;
    const int new_rank = int(std::find(members.begin(), members.end(), world_me) - members.begin());
    return std::make_unique<InProcComm>(mine, new_rank);
  }

 protected:
  void do_allreduce(void* buf, std::size_t n, DType type, ReduceOp op) override {
    assert(type != DType::u8);  // no byte reductions
    if (size() == 1) {          // one rank: the sum is the buffer, the mean divides by one
      return;
    }
    Post p{CollKind::allreduce, n, size_of(type), 0, buf, 0, 0};
    run_collective(p, [&](Group& g) {
      // Each rank reduces its own slice, in place in rank 0's buffer (there each element is
      // read as the first term before it is overwritten), and copies the result into the
      // other ranks' buffers: no other rank touches this slice, and the second meeting of
      // run_collective keeps every buffer alive until all slices are written. Cache-sized
      // blocks keep the copies in cache.
      const std::size_t P = std::size_t(g.size()), r = std::size_t(rank_), width = size_of(type);
      const std::size_t begin = n * r / P, end = n * (r + 1) / P;
      auto* result = static_cast<std::byte*>(const_cast<void*>(g.posts[0].in));
      constexpr std::size_t block = 4096;  // elements
      for (std::size_t b = begin; b < end; b += block) {
        const std::size_t e = std::min(end, b + block);
        if (type == DType::f32)
          detail::reduce_slice(g.posts, b, e, reinterpret_cast<float*>(result), op);
        else
          detail::reduce_slice(g.posts, b, e, reinterpret_cast<double*>(result), op);
        for (std::size_t q = 1; q < P; ++q)
          std::memcpy(static_cast<std::byte*>(const_cast<void*>(g.posts[q].in)) + b * width,
                      result + b * width, (e - b) * width);
      }
    });
  }

  void do_broadcast(void* buf, std::size_t n, DType type, int root) override {
    if (size() == 1) return;
    Post p{CollKind::broadcast, n, size_of(type), root, buf, 0, 0};
    run_collective(p, [&](Group& g) {
      if (rank_ != root && n > 0)
        std::memcpy(buf, g.posts[std::size_t(root)].in, n * size_of(type));
    });
  }

  void do_allgather(const void* mine, void* all, std::size_t n, DType type) override {
    const std::size_t bytes = n * size_of(type);
    Post p{CollKind::allgather, n, size_of(type), 0, mine, 0, 0};
    run_collective(p, [&](Group& g) {
      if (bytes == 0) return;  // the buffers may be null
      for (int r = 0; r < g.size(); ++r)
        std::memcpy(static_cast<std::byte*>(all) + std::size_t(r) * bytes,
                    g.posts[std::size_t(r)].in, bytes);
    });
  }

  void do_barrier() override {
    Post p{CollKind::barrier, 0, 0, 0, nullptr, 0, 0};
    run_collective(p, [](Group&) {});
  }

  void do_send(int dest, int tag, CSpan data, std::span<const unsigned char> header) override {
    InProcWorld& w = *group_->world;
    check_rank(dest, "send to");
    Message m{rank_, tag, std::vector<float>(data.begin(), data.end()), HeaderBytes(header)};
    const int world_dest = group_->world_rank[std::size_t(dest)];
    {
      std::lock_guard lock(w.mu);
      w.throw_if_aborted();
      w.mailboxes[std::size_t(world_dest)].queue.push_back(std::move(m));
    }
    w.pool.wake(world_dest);
    // Fairness among the ranks of one OS thread, which switch only when one waits: a rank
    // that always finds its messages waiting (a busy parameter server) would otherwise keep
    // the others of its thread from ever running.
    w.pool.yield(my_world_rank());
  }

  Message do_recv(int source, int tag) override {
    if (source != any_source) check_rank(source, "receive from");
    InProcWorld& w = *group_->world;
    std::unique_lock lock(w.mu);
    for (bool waited = false;; waited = true) {
      w.throw_if_aborted();
      if (auto m = take(source, tag)) {
        w.work_started[std::size_t(my_world_rank())] = Clock::now();
        lock.unlock();
        if (!waited) w.pool.yield(my_world_rank());  // fairness, as in do_send
        return std::move(*m);
      }
      w.pool.park(my_world_rank(), lock);
    }
  }

  // A poll that finds nothing lets the other ranks of this OS thread run first: a rank
  // polling in a loop would otherwise keep the one it waits for from ever running.
  std::optional<Message> do_try_recv(int source, int tag) override {
    if (source != any_source) check_rank(source, "receive from");
    std::optional<Message> m;
    {
      std::lock_guard lock(group_->world->mu);
      group_->world->throw_if_aborted();
      m = take(source, tag);
    }
    if (!m) group_->world->pool.yield(my_world_rank());
    return m;
  }

  bool do_probe(int tag) override {
    bool found = false;
    {
      std::lock_guard lock(group_->world->mu);
      found = group_->world->has_tag(my_world_rank(), tag);
    }
    if (!found) group_->world->pool.yield(my_world_rank());
    return found;
  }

 public:
  bool compute(double samples, int interrupt_tag) override {
    InProcWorld& w = *group_->world;
    if (w.compute.empty()) return Communicator::compute(samples, interrupt_tag);
    const int me = my_world_rank();
    std::unique_lock lock(w.mu);
    // The modelled time at which this piece of work began (a resumed job's clock included).
    const double modelled_now =
        (std::chrono::duration<double>(w.work_started[std::size_t(me)] - w.start).count() +
         w.clock_offset[std::size_t(me)]) /
        w.compute.wall_scale;
    const double seconds = w.compute.duration(me, samples, modelled_now, w.noise[std::size_t(me)]) *
                           w.compute.wall_scale;
    const auto deadline =
        w.work_started[std::size_t(me)] +
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    const auto interrupted = [&] {
      return interrupt_tag != no_interrupt && w.has_tag(me, interrupt_tag);
    };
    while (!w.aborted && !interrupted() && Clock::now() < deadline) w.pool.park(me, lock, deadline);
    w.throw_if_aborted();
    const bool was_interrupted = interrupted();
    w.work_started[std::size_t(me)] = Clock::now();
    return !was_interrupted;
  }

 private:
  int my_world_rank() const { return group_->world_rank[std::size_t(rank_)]; }
  double wall_seconds() const {
    return std::chrono::duration<double>(Clock::now() - group_->world->start).count();
  }

  // The first queued message matching (source, tag); the caller holds the world lock.
  std::optional<Message> take(int source, int tag) {
    auto& box = group_->world->mailboxes[std::size_t(my_world_rank())].queue;
    for (auto it = box.begin(); it != box.end(); ++it) {
      if ((source == any_source || it->source == source) && (tag == any_tag || it->tag == tag)) {
        Message m = std::move(*it);
        box.erase(it);
        return m;
      }
    }
    return std::nullopt;
  }

  void check_rank(int r, const char* what) const {
    if (r < 0 || r >= size())
      throw CommError(std::string("rank ") + std::to_string(rank_) + ": cannot " + what + " rank " +
                      std::to_string(r) + " of a communicator of " + std::to_string(size()));
  }

  // Post, wait for all; work(g) on the posted buffers; wait for all; finish(g).
  template <class Work, class Finish = void (*)(Group&)>
  void run_collective(
      const Post& post, Work&& work, Finish&& finish = [](Group&) {}) {
    Group& g = *group_;
    std::unique_lock lock(g.world->mu);
    g.world->throw_if_aborted();
    g.posts[std::size_t(rank_)] = post;
    g.arrive_and_wait(lock, my_world_rank());
    detail::check_matched(g.posts, rank_);
    lock.unlock();
    work(g);
    lock.lock();
    g.arrive_and_wait(lock, my_world_rank());
    g.world->work_started[std::size_t(my_world_rank())] = Clock::now();
    // No third meeting is needed: shared state (the posts) is only rewritten once
    // every rank has posted its next collective, so after it has finished this one.
    lock.unlock();
    finish(g);
  }

  std::shared_ptr<Group> group_;
  int rank_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_inproc(FiberPool& ranks,
                                                       const ComputeModel& model) {
  const int size = ranks.ranks();
  assert(size >= 1);
  assert(model.empty() || model.tau.size() == std::size_t(size));
  auto world = std::make_shared<InProcWorld>(size, model, ranks);
  std::vector<int> all(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r) all[std::size_t(r)] = r;
  auto group = std::make_shared<Group>(world, all);
  std::vector<std::unique_ptr<Communicator>> comms;
  for (int r = 0; r < size; ++r) comms.push_back(std::make_unique<InProcComm>(group, r));
  return comms;
}

}  // namespace herd::comm
