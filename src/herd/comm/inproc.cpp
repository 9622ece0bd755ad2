#include "herd/comm/inproc.hpp"

#include "herd/comm/posts.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <utility>

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
      : world(std::move(w)), world_rank(std::move(members)) {
    for (int parity = 0; parity < 2; ++parity) {
      posts[parity].resize(world_rank.size());
      staging[parity].resize(world_rank.size());
    }
  }

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
  // Each rank's post of a collective, in one of two tables that alternate from one
  // collective to the next (InProcComm::collectives_): a rank that has left a collective
  // after a single meeting may post its next while the others still read this one.
  std::array<std::vector<Post>, 2> posts;
  // A small collective's inputs, copied by each rank into a buffer of its own (one per
  // table), so that none reads another's buffers after the meeting (run_staged_collective).
  std::array<std::vector<std::vector<std::byte>>, 2> staging;
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
        [&](const std::vector<Post>& posts) {
          // Rank 0 alone builds every color's group (one writer, no lock needed); the others
          // pick theirs up after the second phase.
          if (rank_ != 0) return;
          Group& g = *group_;
          g.split_groups.clear();
          for (auto& [c, ranks] : detail::split_members(posts)) {
            std::vector<int> members;
            for (int r : ranks) members.push_back(g.world_rank[std::size_t(r)]);
            g.split_groups[c] = std::make_shared<Group>(g.world, std::move(members));
          }
        },
        [&] { mine = group_->split_groups.at(color); });
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
    const std::size_t bytes = n * size_of(type);
    if (staged(bytes * std::size_t(size()))) {
      // Every rank adds up the whole buffer from the staged copies, in rank order as the
      // sliced path does: the same bits.
      run_staged_collective(p, bytes, [&](const std::vector<Post>& posts) {
        if (type == DType::f32)
          detail::reduce_slice(posts, 0, n, static_cast<float*>(buf), op);
        else
          detail::reduce_slice(posts, 0, n, static_cast<double*>(buf), op);
      });
      return;
    }
    run_collective(p, [&](const std::vector<Post>& posts) {
      // Each rank reduces its own slice, in place in rank 0's buffer (there each element is
      // read as the first term before it is overwritten), and copies the result into the
      // other ranks' buffers: no other rank touches this slice, and the second meeting of
      // run_collective keeps every buffer alive until all slices are written. Cache-sized
      // blocks keep the copies in cache.
      const std::size_t P = posts.size(), r = std::size_t(rank_), width = size_of(type);
      const std::size_t begin = n * r / P, end = n * (r + 1) / P;
      auto* result = static_cast<std::byte*>(const_cast<void*>(posts[0].in));
      constexpr std::size_t block = 4096;  // elements
      for (std::size_t b = begin; b < end; b += block) {
        const std::size_t e = std::min(end, b + block);
        if (type == DType::f32)
          detail::reduce_slice(posts, b, e, reinterpret_cast<float*>(result), op);
        else
          detail::reduce_slice(posts, b, e, reinterpret_cast<double*>(result), op);
        for (std::size_t q = 1; q < P; ++q)
          std::memcpy(static_cast<std::byte*>(const_cast<void*>(posts[q].in)) + b * width,
                      result + b * width, (e - b) * width);
      }
    });
  }

  void do_broadcast(void* buf, std::size_t n, DType type, int root) override {
    if (size() == 1) return;
    Post p{CollKind::broadcast, n, size_of(type), root, buf, 0, 0};
    const std::size_t bytes = n * size_of(type);
    const auto receive = [&](const std::vector<Post>& posts) {
      if (rank_ != root && bytes > 0) std::memcpy(buf, posts[std::size_t(root)].in, bytes);
    };
    if (staged(bytes))
      run_staged_collective(p, rank_ == root ? bytes : 0, receive);  // the root's copy alone
    else
      run_collective(p, receive);
  }

  void do_allgather(const void* mine, void* all, std::size_t n, DType type) override {
    const std::size_t bytes = n * size_of(type);
    Post p{CollKind::allgather, n, size_of(type), 0, mine, 0, 0};
    const auto gather = [&](const std::vector<Post>& posts) {
      if (bytes == 0) return;  // the buffers may be null
      for (std::size_t r = 0; r < posts.size(); ++r)
        std::memcpy(static_cast<std::byte*>(all) + r * bytes, posts[r].in, bytes);
    };
    if (staged(bytes * std::size_t(size())))
      run_staged_collective(p, bytes, gather);
    else
      run_collective(p, gather);
  }

  void do_barrier() override {
    Post p{CollKind::barrier, 0, 0, 0, nullptr, 0, 0};
    run_staged_collective(p, 0, [](const std::vector<Post>&) {});
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

  // The table of posts (and staging buffers) of this rank's next collective on the group.
  std::size_t next_table() { return collectives_++ % 2; }

  // Under `lock`: posts this rank's part in `posts`, waits until every rank has posted, and
  // checks that all called the same collective.
  void post_and_meet(std::vector<Post>& posts, const Post& post,
                     std::unique_lock<std::mutex>& lock) {
    group_->world->throw_if_aborted();
    posts[std::size_t(rank_)] = post;
    group_->arrive_and_wait(lock, my_world_rank());
    detail::check_matched(posts, rank_);
  }

  // Post, wait for all; work(posts) on the posted buffers; wait for all; finish().
  template <class Work, class Finish = void (*)()>
  void run_collective(
      const Post& post, Work&& work, Finish&& finish = [] {}) {
    Group& g = *group_;
    std::vector<Post>& posts = g.posts[next_table()];
    std::unique_lock lock(g.world->mu);
    post_and_meet(posts, post, lock);
    lock.unlock();
    work(std::as_const(posts));
    lock.lock();
    g.arrive_and_wait(lock, my_world_rank());
    g.world->work_started[std::size_t(my_world_rank())] = Clock::now();
    lock.unlock();
    finish();
  }

  // Whether a collective whose ranks together copy `bytes` meets once (run_staged_collective):
  // small ones, where the copies and every rank's work on all inputs cost less than a second
  // meeting across OS threads (about 1.8 us on this project's 2-vCPU machine, where a
  // cache-line round trip between the cores takes 0.55 us).
  static bool staged(std::size_t bytes) { return bytes <= staged_limit; }
  static constexpr std::size_t staged_limit = 16 * 1024;

  // A collective with a single meeting. Each rank first copies `input_bytes` of its buffer
  // (post.in) into a staging buffer of its own; after the meeting, work(posts) reads the
  // others' copies (posts[r].in), never their buffers, so no rank waits for the others to be
  // done with its buffer (run_collective's second meeting). The posts and staging buffers
  // alternate between two tables: a rank writes a table again two collectives later, after
  // every rank has arrived at the collective in between, so has finished reading this one.
  template <class Work>
  void run_staged_collective(const Post& post, std::size_t input_bytes, Work&& work) {
    Group& g = *group_;
    const std::size_t table = next_table();
    std::vector<Post>& posts = g.posts[table];
    std::vector<std::byte>& copy = g.staging[table][std::size_t(rank_)];
    const auto* in = static_cast<const std::byte*>(post.in);
    copy.assign(in, in + input_bytes);
    Post staged_post = post;
    staged_post.in = copy.data();
    std::unique_lock lock(g.world->mu);
    post_and_meet(posts, staged_post, lock);
    g.world->work_started[std::size_t(my_world_rank())] = Clock::now();
    lock.unlock();
    work(std::as_const(posts));
  }

  std::shared_ptr<Group> group_;
  int rank_;
  std::uint64_t collectives_ = 0;  // this rank's collectives on the group: picks the table
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
