#pragma once
// The communicator: everything an algorithm may ask of the runtime. Each algorithm is a
// per-rank program over this interface and runs unchanged on every runtime (threads, sim and
// mpi). Collectives must be called by every rank of the communicator in the same order (they
// are matched by sequence, as in MPI).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "herd/core/bytes.hpp"
#include "herd/core/kernels.hpp"
#include "herd/core/rng.hpp"

namespace herd::comm {

enum class ReduceOp { sum, mean };
inline constexpr int any_source = -1;
inline constexpr int any_tag = -1;

// A message header's bytes: up to 28 in place (the typed headers herd's protocols send, so
// a message costs no allocation for its header, and a Message stays small to move), longer
// ones on the heap.
class HeaderBytes {
 public:
  HeaderBytes() = default;
  HeaderBytes(std::span<const unsigned char> bytes) { assign(bytes); }  // NOLINT: a copy
  HeaderBytes(const HeaderBytes& other) { assign(other); }
  HeaderBytes& operator=(const HeaderBytes& other) {
    if (this != &other) assign(other);
    return *this;
  }
  HeaderBytes(HeaderBytes&& other) noexcept { *this = std::move(other); }
  HeaderBytes& operator=(HeaderBytes&& other) noexcept {
    inline_ = other.inline_;
    size_ = std::exchange(other.size_, 0);  // a moved-from header is empty
    heap_ = std::move(other.heap_);
    return *this;
  }

  void assign(std::span<const unsigned char> bytes) {
    size_ = std::uint32_t(bytes.size());
    if (bytes.size() <= inline_.size()) {
      heap_.reset();
      std::copy(bytes.begin(), bytes.end(), inline_.begin());
    } else {
      heap_ = std::make_unique_for_overwrite<unsigned char[]>(bytes.size());
      std::copy(bytes.begin(), bytes.end(), heap_.get());
    }
  }
  const unsigned char* data() const { return heap_ ? heap_.get() : inline_.data(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const unsigned char* begin() const { return data(); }
  const unsigned char* end() const { return data() + size_; }
  operator std::span<const unsigned char>() const { return {data(), size_}; }  // NOLINT
  bool operator==(const HeaderBytes& other) const {
    return std::equal(begin(), end(), other.begin(), other.end());
  }
  bool operator==(const std::vector<unsigned char>& other) const {
    return std::equal(begin(), end(), other.begin(), other.end());
  }

 private:
  std::array<unsigned char, 28> inline_{};
  std::uint32_t size_ = 0;
  std::unique_ptr<unsigned char[]> heap_;
};

// A point-to-point message: a float payload and, beside it, a byte header.
struct Message {
  int source = 0;
  int tag = 0;
  std::vector<float> data;
  // The encoding of a typed header that the sender and receiver agree on (a message kind,
  // counters, times); the comm layer moves its bytes unchanged and does not interpret them.
  // Empty when the sender passed none.
  HeaderBytes header;
};

// Bytes and messages this rank put on the network, by the cost model of traffic.hpp.
struct Traffic {
  std::uint64_t bytes_sent = 0;
  std::uint64_t collectives = 0;
  std::uint64_t messages = 0;
};

// What a checkpoint keeps of a rank's runtime, so that a resumed job continues its clock and
// its modelled compute times where they stood.
struct RuntimeState {
  double clock = 0;                 // now() when saved
  std::optional<Rng::State> noise;  // the rank's compute-noise stream, where compute is modelled
  std::uint64_t faults_fired = 0;   // sim: injected faults already applied
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  void allreduce(Span buf, ReduceOp op);
  void allreduce(std::span<double> buf, ReduceOp op);
  void broadcast(Span buf, int root);
  void broadcast(std::span<double> buf, int root);
  // Bytes (e.g. a serialised checkpoint), moved unchanged; counted and costed as the other
  // broadcasts, with n bytes.
  void broadcast(std::span<unsigned char> buf, int root);
  // all.size() == size() * mine.size(); rank r's contribution lands at [r * n, (r + 1) * n).
  void allgather(CSpan mine, Span all);
  void allgather(std::span<const double> mine, std::span<double> all);
  void barrier();
  // Sends one message of `data` and `header` (see Message) without waiting for the receiver.
  // It counts header.size() + 4 data.size() bytes (traffic.hpp).
  void send(int dest, int tag, CSpan data, std::span<const unsigned char> header = {});
  // Blocks until a message from `source` (or any_source) with `tag` (or any_tag) arrives;
  // messages from one source are received in the order they were sent.
  Message recv(int source, int tag);
  // The first matching message that has arrived by now(), without waiting.
  std::optional<Message> try_recv(int source, int tag) { return do_try_recv(source, tag); }
  // Hands a received payload back once its content is used, so that a later send reuses its
  // memory: the simulator pools them (a message then costs no allocation); the other
  // runtimes drop it. Optional: a payload not handed back is simply freed.
  void recycle(std::vector<float>&& payload) { do_recycle(std::move(payload)); }

  // A sub-communicator of the ranks that pass the same color, ordered by (key, rank).
  // Collective over this communicator. Its traffic also counts in this communicator's, so
  // a job's bytes include those of its groups; it must not outlive this communicator.
  std::unique_ptr<Communicator> split(int color, int key);

  // Ends the job: every rank's pending and later calls throw CommError with `reason`.
  virtual void abort(const std::string& reason) = 0;

  // Declares work (one gradient on `samples` samples). The simulator charges virtual time
  // for it from its compute model; the threads runtime sleeps for that time when it
  // emulates heterogeneous workers, and otherwise returns at once (the work itself took the
  // time). With interrupt_tag != no_interrupt the work is abandoned when a message with that
  // tag arrives before it is done: compute returns false, the message stays queued, and
  // the clock stands at its arrival.
  static constexpr int no_interrupt = -2;
  virtual bool compute(double samples, int interrupt_tag = no_interrupt) {
    (void)samples;
    return interrupt_tag == no_interrupt || !do_probe(interrupt_tag);
  }
  // Seconds since the job started: wall clock, or the virtual clock of a simulator.
  virtual double now() const = 0;

  // Checkpoints. Called on the world communicator (sub-communicators share its runtime).
  // The defaults save the clock alone and restore nothing: now() then restarts, and the
  // monitor keeps the reported times continuous all the same.
  virtual RuntimeState save_runtime_state() const { return {now(), std::nullopt, 0}; }
  virtual void restore_runtime_state(const RuntimeState& s) { (void)s; }
  // Checkpoints: the traffic counters continue from a saved count.
  void restore_traffic(const Traffic& t) { traffic_ = t; }
  // Checkpoints as bytes: the traffic counters and the runtime's state (above).
  void save_state(ByteWriter& out) const;
  void load_state(ByteReader& in);

  const Traffic& traffic() const { return traffic_; }
  // Traffic counting on or off (evaluation and monitoring traffic is not the algorithm's).
  bool metered() const { return metered_; }
  void set_metered(bool on) { metered_ = on; }

 protected:
  // The element types of the collectives' buffers (u8: the byte broadcast).
  enum class DType { f32, f64, u8 };
  static std::size_t size_of(DType t) {
    switch (t) {
      case DType::f32:
        return 4;
      case DType::f64:
        return 8;
      case DType::u8:
        return 1;
    }
    return 0;
  }
  virtual std::unique_ptr<Communicator> do_split(int color, int key) = 0;
  virtual void do_allreduce(void* buf, std::size_t n, DType type, ReduceOp op) = 0;
  virtual void do_broadcast(void* buf, std::size_t n, DType type, int root) = 0;
  virtual void do_allgather(const void* mine, void* all, std::size_t n, DType type) = 0;
  virtual void do_barrier() = 0;
  virtual void do_send(int dest, int tag, CSpan data, std::span<const unsigned char> header) = 0;
  virtual Message do_recv(int source, int tag) = 0;
  virtual std::optional<Message> do_try_recv(int source, int tag) = 0;
  // Whether a message with `tag` from any source has arrived by now().
  virtual bool do_probe(int tag) = 0;
  virtual void do_recycle(std::vector<float>&& payload) { (void)payload; }

 private:
  void count(std::uint64_t bytes, bool collective);
  Traffic traffic_;
  Communicator* parent_ = nullptr;  // set by split(): where this traffic also counts
  bool metered_ = true;
};

// Scope in which the communicator does not count traffic.
class Unmetered {
 public:
  explicit Unmetered(Communicator& c) : comm_(c), before_(c.metered()) { c.set_metered(false); }
  ~Unmetered() { comm_.set_metered(before_); }
  Unmetered(const Unmetered&) = delete;
  Unmetered& operator=(const Unmetered&) = delete;

 private:
  Communicator& comm_;
  bool before_;
};

}  // namespace herd::comm
