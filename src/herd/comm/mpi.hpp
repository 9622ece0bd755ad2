#pragma once
// The MPI runtime: one rank per process under mpirun/mpiexec (Open MPI is the engine).
//
// Threads: each process runs its rank's program on its main thread, the thread that
// initialised MPI, and no other thread calls MPI, so MPI_THREAD_FUNNELED suffices. A later
// feature whose helper threads need MPI must funnel their calls through the main thread
// (as PyTorch's c10d MPI backend does) rather than raise the thread level.
//
// Determinism: the default reduction (MpiReduction::ordered) adds the ranks' contributions
// in rank order 0..P-1 with the code the threads and sim runtimes use (posts.hpp), so
// synchronous algorithms compute the same bits on mpi as on threads. MpiReduction::native
// hands the sum to MPI_Allreduce, whose order depends on the MPI library's algorithm.
// Broadcast and allgather move bits unchanged either way.
#include <mpi.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "herd/comm/communicator.hpp"
#include "herd/comm/compute_model.hpp"

namespace herd::comm {

enum class MpiReduction {
  ordered,  // alltoallv of slices, rank-ordered sum, allgatherv: reproducible bit for bit
  native,   // MPI_Allreduce (then x 1/P for the mean): the MPI library's order
};

struct MpiOptions {
  // What the ranks are for, quoted when mpirun started the wrong number of them, e.g.
  // "3 workers + 1 parameter server".
  std::string ranks_reason;
  MpiReduction reduction = MpiReduction::ordered;
  // When not empty, compute() sleeps each rank's modelled compute time (scaled by
  // wall_scale), measured from the rank's last wake-up, as the threads runtime does with
  // cluster.emulate: heterogeneous workers emulated on real processes.
  ComputeModel compute;
};

// Whether this process was started by mpirun/mpiexec (or another PMI launcher), judged from
// the environment alone: MPI is not initialised.
bool under_mpirun();

// Initialises MPI for this process (MPI_THREAD_FUNNELED) unless it already is, and then
// finalises it when the process exits normally (an atexit handler). Call it from the main
// thread, ideally first thing in main() with main's arguments; run_mpi calls it lazily with
// none. If MPI was initialised by someone else, they finalise it. MPI can be initialised
// only once per process: calling this after MPI_Finalize throws CommError.
void mpi_initialize(int* argc = nullptr, char*** argv = nullptr);
// MPI_COMM_WORLD's rank and size (initialising MPI if needed).
int mpi_world_rank();
int mpi_world_size();

// The InvalidInput message for a job of `needed` ranks started with `started`.
std::string wrong_world_size_message(int needed, int started, const std::string& ranks_reason);

struct MpiJob;  // what a communicator and its splits share: clock origin, pending sends

// A communicator over a duplicate of an MPI communicator (herd's messages never mix with the
// caller's), with MPI_ERRORS_RETURN: a failed MPI call throws CommError naming the call and
// the peer. Collectives use MPI's collectives (the byte broadcast: MPI_BYTE). A message is
// one MPI message with the given source and tag (any_source/any_tag are
// MPI_ANY_SOURCE/MPI_ANY_TAG) whose bytes are, in 4-byte words: the floats, the header
// zero-padded to whole words, and the header's length in bytes (a std::uint32_t); all are
// moved unchanged (no conversion). Sends never wait for the receiver (MPI_Isend of a private
// copy), as on the threads runtime.
// The i-th collective of every rank must be the same call (MPI matches them by sequence and
// does not check lengths: a mismatch is undefined, not a CommError as on threads).
class MpiCommunicator final : public Communicator {
 public:
  // Collective over `comm`: duplicates it, then a barrier starts the clock of now().
  explicit MpiCommunicator(MPI_Comm comm, MpiReduction reduction = MpiReduction::ordered,
                           ComputeModel compute = {});
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::unique_ptr<Communicator> do_split(int color, int key) override;
  // Prints "herd: rank R: <reason>" (R: the world rank) and MPI_Aborts the whole job with
  // the exit code of a communication error.
  void abort(const std::string& reason) override;
  // Seconds since the synchronised start (MPI_Wtime).
  double now() const override;
  // Sleeps the modelled compute time when the job emulates one (MpiOptions::compute).
  bool compute(double samples, int interrupt_tag = no_interrupt) override;
  // Checkpoints: the clock, and the compute-noise stream when compute is emulated, continue
  // from the saved ones (on every split of this job).
  RuntimeState save_runtime_state() const override;
  void restore_runtime_state(const RuntimeState& s) override;

  // Ends this communicator's point-to-point traffic cleanly: each rank receives and drops
  // the messages sent to it that it never received, and waits until its own sends are
  // complete. Collective; run_mpi calls it on the world after the program returns.
  void finish();

  MPI_Comm handle() const { return comm_; }

 protected:
  void do_allreduce(void* buf, std::size_t n, DType type, ReduceOp op) override;
  void do_broadcast(void* buf, std::size_t n, DType type, int root) override;
  void do_allgather(const void* mine, void* all, std::size_t n, DType type) override;
  void do_barrier() override;
  void do_send(int dest, int tag, CSpan data, std::span<const unsigned char> header) override;
  Message do_recv(int source, int tag) override;
  std::optional<Message> do_try_recv(int source, int tag) override;
  bool do_probe(int tag) override;

 private:
  // Over `owned`, which it frees, in the job of the communicator it was split from.
  MpiCommunicator(MPI_Comm owned, std::shared_ptr<MpiJob> job);
  void ordered_allreduce(void* buf, std::size_t n, DType type, ReduceOp op);
  void native_allreduce(void* buf, std::size_t n, DType type, ReduceOp op);
  static MPI_Datatype datatype(DType type);
  Message receive_matched(MPI_Message& handle, const MPI_Status& status);
  void check_peer(int peer, const char* what) const;
  void check(int rc, const char* call, int peer = -1) const;
  void woke();  // the rank stops waiting: emulated compute counts from here

  MPI_Comm comm_ = MPI_COMM_NULL;
  std::shared_ptr<MpiJob> job_;
  int rank_ = 0, size_ = 1;
  std::vector<std::byte> scratch_;            // ordered allreduce: every rank's copy of my slice
  std::vector<int> sent_to_, received_from_;  // messages, by peer: what finish() drains
};

// Runs `program` on this process's rank of MPI_COMM_WORLD (initialising MPI if needed); an
// algo::Runtime. Throws InvalidInput, on every rank, when the world does not have `ranks`
// ranks. If the program throws, this rank prints "herd: rank R: <what()>" to stderr and
// MPI_Aborts the job with the exit code of the error's kind (herd/core/error.hpp; 1 for
// anything else), so every other rank stops at once and mpirun exits non-zero.
void run_mpi(int ranks, const std::function<void(Communicator&)>& program);
// The same with options: the reduction, and what the ranks are for in the size message.
void run_mpi_with(const MpiOptions& options, int ranks,
                  const std::function<void(Communicator&)>& program);

}  // namespace herd::comm
