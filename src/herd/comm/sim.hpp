#pragma once
// The simulator runtime: the same per-rank programs under a deterministic discrete-event
// scheduler with a virtual clock, in the spirit of SimGrid/SMPI: a run's results and times
// follow from its inputs and seeds, not from the host's load or thread schedule (unless it
// charges the measured wall time of the work, SimSpec::measured_time).
//
// One simulated process runs at a time: the one whose next event has the smallest virtual
// time (ties: lowest rank). Processes are Boost.Context fibers, so a switch is a user-space
// context switch, not an OS-thread handoff. Work declared with compute() advances the
// process's clock by the compute model; a message arrives at send time + latency +
// bytes / bandwidth (bytes: its header and payload, as traffic.hpp counts them) and is
// received in arrival order; a collective completes for everyone at the latest arrival plus
// the network model's cost of that collective. Unmetered collectives (evaluation) cost
// nothing and do not move anyone's clock. Reductions use the same rank-ordered code as the
// threads runtime, so synchronous algorithms compute the same bits on both.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "herd/comm/communicator.hpp"
#include "herd/comm/compute_model.hpp"

namespace herd::comm {

// Latency-bandwidth (alpha-beta) model of the network and of the standard algorithms of
// the collectives.
struct NetworkModel {
  double latency = 0;    // alpha: seconds per message
  double bandwidth = 0;  // beta: bytes per second; 0 means infinite

  double message(double bytes) const { return latency + (bandwidth > 0 ? bytes / bandwidth : 0); }
  // Ring allreduce: 2 (P - 1) steps of n / P bytes.
  double allreduce(double bytes, int p) const;
  // The cheaper of a binomial tree and scatter + allgather (see sim.cpp).
  double broadcast(double bytes, int p) const;
  // Ring allgather: P - 1 steps of n_each bytes.
  double allgather(double bytes_each, int p) const;
  // Dissemination barrier: ceil(log2 P) empty messages.
  double barrier(int p) const;
};

enum class FaultKind { die, stall };

// Fault injection: at virtual time `time`, rank `rank` dies (the job ends with a CommError
// naming it, as a dead peer would end an MPI job) or stalls for `duration` seconds.
struct Fault {
  int rank = 0;
  double time = 0;
  FaultKind kind = FaultKind::die;
  double duration = 0;
};

struct SimSpec {
  ComputeModel compute;  // empty: compute() takes no virtual time
  NetworkModel network;
  std::vector<Fault> faults;
  bool measured_time = false;  // charge the measured wall time of the work instead
  std::size_t stack_bytes = 256 * 1024;
};

struct SimStats {
  std::uint64_t events = 0;  // process resumptions
  double end_time = 0;       // the latest clock when every process had finished
};

// Runs `program` on `ranks` simulated processes. Rethrows the first failure (the root
// cause), after every other process has been unwound. A state in which every unfinished
// process waits for something that can never come is a CommError describing the waits.
SimStats run_sim(const SimSpec& spec, int ranks, const std::function<void(Communicator&)>& program);

}  // namespace herd::comm
