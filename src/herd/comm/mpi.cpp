#include "herd/comm/mpi.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <thread>

#include "herd/comm/posts.hpp"
#include "herd/comm/runtimes.hpp"
#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"

namespace herd::comm {

// What a world communicator shares with its splits. Sends are MPI_Isend of a private copy,
// kept here until complete: a split may be destroyed while its sends are still on their way.
struct MpiJob {
  struct PendingSend {
    MPI_Request request = MPI_REQUEST_NULL;
    std::vector<float> data;                // the message as it goes on the wire (see wire_words)
    const MpiCommunicator* from = nullptr;  // null once that communicator is gone
  };
  double origin = 0;  // the MPI_Wtime at which now() is 0: the synchronised start, or a resume
  MpiReduction reduction = MpiReduction::ordered;
  ComputeModel compute;      // emulated compute times; empty: none
  std::optional<Rng> noise;  // this rank's compute-noise stream, when compute is emulated
  double awake_since = 0;    // MPI_Wtime of the rank's last wake-up
  std::vector<PendingSend> sends;

  // Forgets the sends that are complete.
  void reap() {
    if (sends.empty()) return;
    std::vector<MPI_Request> requests;
    for (const PendingSend& s : sends) requests.push_back(s.request);
    std::vector<int> done(sends.size());
    int count = 0;
    MPI_Testsome(int(requests.size()), requests.data(), &count, done.data(), MPI_STATUSES_IGNORE);
    if (count <= 0) return;  // none complete, or MPI_UNDEFINED: none active
    for (int i = 0; i < count; ++i)
      sends[std::size_t(done[std::size_t(i)])].request = MPI_REQUEST_NULL;
    std::erase_if(sends, [](const PendingSend& s) { return s.request == MPI_REQUEST_NULL; });
  }

  ~MpiJob() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    // Messages of a split that nobody received: MPI cannot cancel a send in progress
    // (Open MPI's MPI_Cancel of a send never completes), so the request is released and its
    // buffer deliberately kept for the life of the process (never destroyed, not even by
    // the static destructors that run before MPI_Finalize at exit), as MPI may still read it.
    static auto* orphans = new std::vector<std::vector<float>>;
    for (PendingSend& s : sends) {
      int done = 0;
      MPI_Test(&s.request, &done, MPI_STATUS_IGNORE);
      if (done) continue;
      MPI_Request_free(&s.request);
      orphans->push_back(std::move(s.data));
    }
  }
};

namespace {

// Point-to-point messages travel in words of 4 bytes moved unchanged (MPI_BYTE does no
// conversion): counts of words keep MPI's int counts good for messages of up to 8 GiB, as
// counts of MPI_FLOAT were. A message is the floats, the header zero-padded to whole words,
// and one word: the header's length in bytes. The length comes last so that the floats can
// be received where they stay, at the start of the message's buffer.
static_assert(sizeof(float) == 4 && sizeof(std::uint32_t) == 4);
constexpr std::size_t word_bytes = 4;

MPI_Datatype word_type() {
  static const MPI_Datatype word = [] {
    MPI_Datatype t = MPI_DATATYPE_NULL;
    if (MPI_Type_contiguous(int(word_bytes), MPI_BYTE, &t) != MPI_SUCCESS ||
        MPI_Type_commit(&t) != MPI_SUCCESS)
      throw CommError("MPI_Type_contiguous (the 4-byte word of herd's messages) failed");
    return t;
  }();
  return word;
}

std::size_t header_words(std::size_t header_bytes) {
  return (header_bytes + word_bytes - 1) / word_bytes;
}

// The words of a message of `data` and `header`.
std::vector<float> wire_words(CSpan data, std::span<const unsigned char> header) {
  const std::size_t total = data.size() + header_words(header.size()) + 1;
  std::vector<float> words;
  words.reserve(total);
  words.assign(data.begin(), data.end());
  words.resize(total);  // zeros: the header's padding
  if (!header.empty()) std::memcpy(words.data() + data.size(), header.data(), header.size());
  const auto length = std::uint32_t(header.size());
  std::memcpy(&words.back(), &length, word_bytes);
  return words;
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string mpi_error_string(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
  return std::string(text, std::size_t(length));
}

// MPI counts are ints (Open MPI 4.1 has no large-count calls).
int mpi_count(std::size_t n, const char* call) {
  if (n > std::size_t(INT_MAX))
    throw CommError(std::string(call) + ": " + std::to_string(n) +
                    " elements exceed MPI's int count; split the buffer");
  return int(n);
}

int world_rank_or_unknown() {
  int initialized = 0, rank = -1;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

// Prints "herd: rank R: <what>" and ends the whole job with `code`.
[[noreturn]] void abort_job(const std::string& what, int code) {
  std::fflush(stdout);
  std::fprintf(stderr, "herd: rank %d: %s\n", world_rank_or_unknown(), what.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; should it, the process still ends
}

// The message and exit code of the exception being handled.
[[noreturn]] void abort_with_current_exception() {
  try {
    throw;
  } catch (const Error& e) {
    abort_job(e.what(), exit_code(e.kind()));
  } catch (const std::exception& e) {
    abort_job(e.what(), exit_codes::internal);
  } catch (...) {
    abort_job("unknown error", exit_codes::internal);
  }
}

}  // namespace

bool under_mpirun() {
  // Open MPI, PMIx (Open MPI 4+, Slurm), PMI-1/2 (MPICH's Hydra, Intel MPI), MPICH.
  for (const char* name :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

void mpi_initialize(int* argc, char*** argv) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized)
    throw CommError("MPI was finalised in this process already; it cannot be initialised again");
  int provided = 0;
  if (initialized) {
    MPI_Query_thread(&provided);
  } else {
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw CommError("MPI_Init_thread failed");
    std::atexit(finalize_at_exit);
  }
  if (provided < MPI_THREAD_FUNNELED)
    throw CommError("the MPI library provides thread level " + std::to_string(provided) +
                    ", below MPI_THREAD_FUNNELED");
}

int mpi_world_rank() {
  mpi_initialize();
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int mpi_world_size() {
  mpi_initialize();
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

std::string wrong_world_size_message(int needed, int started, const std::string& ranks_reason) {
  std::string need = "this job needs " + std::to_string(needed) + " ranks";
  if (!ranks_reason.empty()) need += " (" + ranks_reason + ")";
  return need + " but mpirun started " + std::to_string(started) + "; run mpirun -np " +
         std::to_string(needed);
}

// ---- MpiCommunicator ---------------------------------------------------------------------

namespace {
MPI_Comm duplicate(MPI_Comm comm) {
  MPI_Comm copy = MPI_COMM_NULL;
  const int rc = MPI_Comm_dup(comm, &copy);
  if (rc != MPI_SUCCESS) throw CommError("MPI_Comm_dup failed: " + mpi_error_string(rc));
  return copy;
}
}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm, MpiReduction reduction, ComputeModel compute)
    : MpiCommunicator(duplicate(comm), std::make_shared<MpiJob>()) {
  job_->reduction = reduction;
  if (!compute.empty()) {
    if (compute.tau.size() != std::size_t(size_))
      throw InvalidInput("the emulated compute model has " + std::to_string(compute.tau.size()) +
                         " compute times for " + std::to_string(size_) + " ranks");
    job_->noise.emplace(compute.seed, streams::compute_noise_base + std::uint64_t(rank_));
    job_->compute = std::move(compute);
  }
  // Synchronised start: every rank leaves the barrier at nearly the same instant, and each
  // clock counts from there (MPI_Wtime is local; it need not be global).
  check(MPI_Barrier(comm_), "MPI_Barrier");
  job_->origin = MPI_Wtime();
  job_->awake_since = job_->origin;
}

MpiCommunicator::MpiCommunicator(MPI_Comm owned, std::shared_ptr<MpiJob> job)
    : comm_(owned), job_(std::move(job)) {
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  sent_to_.assign(std::size_t(size_), 0);
  received_from_.assign(std::size_t(size_), 0);
}

MpiCommunicator::~MpiCommunicator() {
  // Sends still in flight keep their buffers in the job (MPI_Comm_free lets pending
  // operations complete); only the pointer back to this object goes.
  for (MpiJob::PendingSend& s : job_->sends)
    if (s.from == this) s.from = nullptr;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::check(int rc, const char* call, int peer) const {
  if (rc == MPI_SUCCESS) return;
  std::string where = "rank " + std::to_string(rank_) + ": " + call;
  if (peer >= 0) where += " (peer rank " + std::to_string(peer) + ")";
  where += " on a communicator of " + std::to_string(size_) + " ranks failed: ";
  throw CommError(where + mpi_error_string(rc));
}

void MpiCommunicator::check_peer(int peer, const char* what) const {
  if (peer < 0 || peer >= size_)
    throw CommError("rank " + std::to_string(rank_) + ": cannot " + what + " rank " +
                    std::to_string(peer) + " of a communicator of " + std::to_string(size_));
}

double MpiCommunicator::now() const {
  return MPI_Wtime() - job_->origin;
}

void MpiCommunicator::woke() {
  job_->awake_since = MPI_Wtime();
}

bool MpiCommunicator::compute(double samples, int interrupt_tag) {
  if (job_->compute.empty()) return Communicator::compute(samples, interrupt_tag);
  MpiJob& job = *job_;
  // The world rank draws the noise, as rank r of the threads runtime does.
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  const double modelled_now = (job.awake_since - job.origin) / job.compute.wall_scale;
  const double seconds =
      job.compute.duration(world_rank, samples, modelled_now, *job.noise) * job.compute.wall_scale;
  const double deadline = job.awake_since + seconds;
  // Sleep in short slices so that an interrupting message ends the work soon after it came.
  for (double t = MPI_Wtime(); t < deadline; t = MPI_Wtime()) {
    if (interrupt_tag != no_interrupt && do_probe(interrupt_tag)) {
      woke();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(deadline - t, 5e-4)));
  }
  woke();
  return true;
}

RuntimeState MpiCommunicator::save_runtime_state() const {
  RuntimeState s{now(), std::nullopt, 0};
  if (job_->noise) s.noise = job_->noise->state();
  return s;
}

void MpiCommunicator::restore_runtime_state(const RuntimeState& s) {
  job_->origin = MPI_Wtime() - s.clock;
  if (job_->noise && s.noise) job_->noise = Rng(*s.noise);
  woke();
}

void MpiCommunicator::abort(const std::string& reason) {
  abort_job(reason, exit_codes::communication);
}

std::unique_ptr<Communicator> MpiCommunicator::do_split(int color, int key) {
  // herd's colors are any ints, MPI's must be non-negative: each color becomes its index
  // among the distinct colors (the groups and their (key, rank) order are unchanged).
  std::vector<int> colors(static_cast<std::size_t>(size_));
  check(MPI_Allgather(&color, 1, MPI_INT, colors.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  std::sort(colors.begin(), colors.end());
  colors.erase(std::unique(colors.begin(), colors.end()), colors.end());
  const int index = int(std::lower_bound(colors.begin(), colors.end(), color) - colors.begin());
  MPI_Comm sub = MPI_COMM_NULL;
  check(MPI_Comm_split(comm_, index, key, &sub), "MPI_Comm_split");
  return std::unique_ptr<Communicator>(new MpiCommunicator(sub, job_));
}

// ---- Collectives -------------------------------------------------------------------------

MPI_Datatype MpiCommunicator::datatype(DType type) {
  switch (type) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::f64:
      return MPI_DOUBLE;
    case DType::u8:
      return MPI_BYTE;
  }
  return MPI_DATATYPE_NULL;
}

void MpiCommunicator::do_allreduce(void* buf, std::size_t n, DType type, ReduceOp op) {
  if (size_ == 1) return;  // the sum is the buffer, the mean divides by one
  if (job_->reduction == MpiReduction::ordered)
    ordered_allreduce(buf, n, type, op);
  else
    native_allreduce(buf, n, type, op);
  woke();
}

namespace {

// Below this many bytes gathered in all, one allgather of whole buffers (latency: one
// collective) beats the two collectives of the sliced reduction.
constexpr std::size_t small_allreduce_bytes = 64 * 1024;

// out[0, n) <- the rank-ordered sum or mean of inputs[0..P) (n elements each), by the threads
// runtime's own code (posts.hpp), hence with its bits. reduce_slice makes one pass over its
// output per rank (and one for the mean), so it runs block by block into a buffer that stays
// in cache, and each finished block is copied out: `out` may be one of the inputs.
void reduce_blocks(const std::vector<const std::byte*>& inputs, std::size_t n, std::size_t width,
                   bool is_double, void* out, ReduceOp op) {
  constexpr std::size_t block = 4096;  // elements: 16-32 KiB
  alignas(64) static thread_local std::byte result[block * sizeof(double)];
  std::vector<detail::Post> posts(inputs.size());
  for (std::size_t begin = 0; begin < n; begin += block) {
    const std::size_t length = std::min(block, n - begin);
    for (std::size_t r = 0; r < inputs.size(); ++r) posts[r].in = inputs[r] + begin * width;
    if (is_double)
      detail::reduce_slice(posts, 0, length, reinterpret_cast<double*>(result), op);
    else
      detail::reduce_slice(posts, 0, length, reinterpret_cast<float*>(result), op);
    std::memcpy(static_cast<std::byte*>(out) + begin * width, result, length * width);
  }
}

}  // namespace

// Small buffers: every rank gathers every contribution and reduces the whole buffer. Large
// ones: rank r owns the slice [n r / P, n (r + 1) / P), as on the threads runtime; an
// alltoallv brings the other ranks' copies of my slice here, I reduce them with mine in
// place, and an allgatherv returns every slice to everyone: (P - 1) / P n elements sent per
// rank in each phase, the traffic of a ring allreduce. Either way each element is added in
// rank order 0..P-1.
void MpiCommunicator::ordered_allreduce(void* buf, std::size_t n, DType type, ReduceOp op) {
  const int count = mpi_count(n, "allreduce");
  const MPI_Datatype mpi_type = datatype(type);
  const std::size_t P = std::size_t(size_), me = std::size_t(rank_), width = size_of(type);
  std::vector<const std::byte*> inputs(P);
  if (P * n * width <= small_allreduce_bytes) {
    scratch_.resize(P * n * width);
    check(MPI_Allgather(buf, count, mpi_type, scratch_.data(), count, mpi_type, comm_),
          "MPI_Allgather");
    for (std::size_t r = 0; r < P; ++r) inputs[r] = scratch_.data() + r * n * width;
    reduce_blocks(inputs, n, width, type == DType::f64, buf, op);
    return;
  }
  std::vector<int> slice_begin(P), slice_size(P);
  for (std::size_t r = 0; r < P; ++r) {
    slice_begin[r] = int(std::size_t(count) * r / P);
    slice_size[r] = int(std::size_t(count) * (r + 1) / P) - slice_begin[r];
  }
  const std::size_t mine = std::size_t(slice_size[me]);
  // Nothing to myself: my own contribution is read where it is.
  std::vector<int> to_size = slice_size, from_size(P, int(mine)), from_begin(P);
  to_size[me] = from_size[me] = 0;
  for (std::size_t r = 0; r < P; ++r) from_begin[r] = int(r * mine);
  scratch_.resize(P * mine * width);
  check(MPI_Alltoallv(buf, to_size.data(), slice_begin.data(), mpi_type, scratch_.data(),
                      from_size.data(), from_begin.data(), mpi_type, comm_),
        "MPI_Alltoallv");
  std::byte* my_slice = static_cast<std::byte*>(buf) + std::size_t(slice_begin[me]) * width;
  for (std::size_t r = 0; r < P; ++r) inputs[r] = scratch_.data() + r * mine * width;
  inputs[me] = my_slice;
  reduce_blocks(inputs, mine, width, type == DType::f64, my_slice, op);
  check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, slice_size.data(),
                       slice_begin.data(), mpi_type, comm_),
        "MPI_Allgatherv");
}

namespace {
template <class T>
void scale_by_inverse(T* x, std::size_t n, int p) {
  const T inv = T(1) / T(p);  // the factor reduce_slice applies for the mean
  for (std::size_t j = 0; j < n; ++j) x[j] *= inv;
}
}  // namespace

void MpiCommunicator::native_allreduce(void* buf, std::size_t n, DType type, ReduceOp op) {
  check(MPI_Allreduce(MPI_IN_PLACE, buf, mpi_count(n, "allreduce"), datatype(type), MPI_SUM, comm_),
        "MPI_Allreduce");
  if (op != ReduceOp::mean) return;
  if (type == DType::f32)
    scale_by_inverse(static_cast<float*>(buf), n, size_);
  else
    scale_by_inverse(static_cast<double*>(buf), n, size_);
}

void MpiCommunicator::do_broadcast(void* buf, std::size_t n, DType type, int root) {
  check_peer(root, "broadcast from");
  if (size_ == 1) return;
  check(MPI_Bcast(buf, mpi_count(n, "broadcast"), datatype(type), root, comm_), "MPI_Bcast", root);
  woke();
}

void MpiCommunicator::do_allgather(const void* mine, void* all, std::size_t n, DType type) {
  const MPI_Datatype mpi_type = datatype(type);
  const int count = mpi_count(n, "allgather");
  check(MPI_Allgather(mine, count, mpi_type, all, count, mpi_type, comm_), "MPI_Allgather");
  woke();
}

void MpiCommunicator::do_barrier() {
  check(MPI_Barrier(comm_), "MPI_Barrier");
  woke();
}

// ---- Point to point ----------------------------------------------------------------------

void MpiCommunicator::do_send(int dest, int tag, CSpan data,
                              std::span<const unsigned char> header) {
  check_peer(dest, "send to");
  if (header.size() > std::numeric_limits<std::uint32_t>::max())
    throw CommError("send: a header of " + std::to_string(header.size()) +
                    " bytes exceeds the 4 GiB of a message header");
  const int count = mpi_count(data.size() + header_words(header.size()) + 1, "send");
  job_->reap();
  MpiJob::PendingSend& s = job_->sends.emplace_back();
  s.data = wire_words(data, header);
  s.from = this;
  const int rc = MPI_Isend(s.data.data(), count, word_type(), dest, tag, comm_, &s.request);
  if (rc != MPI_SUCCESS) job_->sends.pop_back();
  check(rc, "MPI_Isend", dest);
  ++sent_to_[std::size_t(dest)];
}

// Receives the message into the float vector of a Message, then moves the header out of
// its tail and shrinks the vector to the floats (see wire_words).
Message MpiCommunicator::receive_matched(MPI_Message& handle, const MPI_Status& status) {
  const int source = status.MPI_SOURCE;
  auto malformed = [&](const std::string& what) {
    return CommError("rank " + std::to_string(rank_) + ": a message from rank " +
                     std::to_string(source) + " (tag " + std::to_string(status.MPI_TAG) +
                     ") is not one of herd's: " + what);
  };
  int count = 0;
  check(MPI_Get_count(&status, word_type(), &count), "MPI_Get_count", source);
  if (count == MPI_UNDEFINED || count < 1) throw malformed("no length word");
  Message m{source, status.MPI_TAG, std::vector<float>(std::size_t(count)), {}};
  check(MPI_Mrecv(m.data.data(), count, word_type(), &handle, MPI_STATUS_IGNORE), "MPI_Mrecv",
        source);
  ++received_from_[std::size_t(source)];
  std::uint32_t length = 0;
  std::memcpy(&length, &m.data.back(), word_bytes);
  const std::size_t words = std::size_t(count), padded = header_words(length);
  if (padded + 1 > words)
    throw malformed("a header of " + std::to_string(length) + " bytes in a message of " +
                    std::to_string(words * word_bytes) + " bytes");
  const std::size_t floats = words - 1 - padded;
  const auto* header = reinterpret_cast<const unsigned char*>(m.data.data() + floats);
  m.header.assign({header, length});
  m.data.resize(floats);
  return m;
}

Message MpiCommunicator::do_recv(int source, int tag) {
  if (source != any_source) check_peer(source, "receive from");
  MPI_Message handle = MPI_MESSAGE_NULL;
  MPI_Status status;
  check(MPI_Mprobe(source == any_source ? MPI_ANY_SOURCE : source,
                   tag == any_tag ? MPI_ANY_TAG : tag, comm_, &handle, &status),
        "MPI_Mprobe", source);
  Message m = receive_matched(handle, status);
  woke();
  return m;
}

std::optional<Message> MpiCommunicator::do_try_recv(int source, int tag) {
  if (source != any_source) check_peer(source, "receive from");
  MPI_Message handle = MPI_MESSAGE_NULL;
  MPI_Status status;
  int found = 0;
  check(MPI_Improbe(source == any_source ? MPI_ANY_SOURCE : source,
                    tag == any_tag ? MPI_ANY_TAG : tag, comm_, &found, &handle, &status),
        "MPI_Improbe", source);
  if (!found) return std::nullopt;
  return receive_matched(handle, status);
}

bool MpiCommunicator::do_probe(int tag) {
  int found = 0;
  check(MPI_Iprobe(MPI_ANY_SOURCE, tag == any_tag ? MPI_ANY_TAG : tag, comm_, &found,
                   MPI_STATUS_IGNORE),
        "MPI_Iprobe");
  return found != 0;
}

void MpiCommunicator::finish() {
  std::vector<int> incoming(static_cast<std::size_t>(size_));
  check(MPI_Alltoall(sent_to_.data(), 1, MPI_INT, incoming.data(), 1, MPI_INT, comm_),
        "MPI_Alltoall");
  for (int r = 0; r < size_; ++r)
    while (received_from_[std::size_t(r)] < incoming[std::size_t(r)]) do_recv(r, any_tag);
  // Every message of mine has now been received: my sends complete.
  std::vector<MPI_Request> mine;
  for (const MpiJob::PendingSend& s : job_->sends)
    if (s.from == this) mine.push_back(s.request);
  check(MPI_Waitall(int(mine.size()), mine.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  std::erase_if(job_->sends, [this](const MpiJob::PendingSend& s) { return s.from == this; });
  job_->reap();
}

// ---- The runtime -------------------------------------------------------------------------

void run_mpi(int ranks, const std::function<void(Communicator&)>& program) {
  run_mpi_with({}, ranks, program);
}

void run_mpi_with(const MpiOptions& options, int ranks,
                  const std::function<void(Communicator&)>& program) {
  mpi_initialize();
  int is_main = 0;
  MPI_Is_thread_main(&is_main);
  if (!is_main)
    throw CommError(
        "run_mpi must be called on the thread that initialised MPI (MPI_THREAD_FUNNELED)");
  const int started = mpi_world_size();
  if (started != ranks)
    throw InvalidInput(wrong_world_size_message(ranks, started, options.ranks_reason));
  // The world outlives the handler: the job is aborted before its communicator is freed.
  std::unique_ptr<MpiCommunicator> world;
  try {
    world = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, options.reduction, options.compute);
    program(*world);
    world->finish();
  } catch (...) {
    abort_with_current_exception();
  }
}

HERD_REGISTER_RUNTIME(mpi,
                      RuntimeInfo{
                          .name = "mpi",
                          .summary = "One process per rank under mpirun (Open MPI); the default "
                                     "when herd is started by mpirun.",
                          .order = 30,
                          .in_process = false,
                          .make = [](const ClusterModel& cluster) -> RankRunner {
                            MpiOptions options;
                            if (cluster.emulate) options.compute = cluster.spec.compute;
                            return [options](int ranks, const Program& program) {
                              run_mpi_with(options, ranks, program);
                            };
                          }});

}  // namespace herd::comm
