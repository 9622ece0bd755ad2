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
// bytes / bandwidth of the link it crosses (bytes: its header and payload, as traffic.hpp
// counts them) and is received in arrival order (its payload reuses a buffer that a receiver
// handed back, Communicator::recycle, so a message allocates nothing); a collective completes for
// everyone at the latest arrival plus the network model's cost of that collective (NetworkModel: a
// flat network, or nodes with an intra- and an inter-node link). Unmetered collectives (evaluation)
// cost nothing and do not move anyone's clock. Reductions use the same rank-ordered code as the
// threads runtime, so synchronous algorithms compute the same bits on both.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "herd/comm/communicator.hpp"
#include "herd/comm/compute_model.hpp"

namespace herd::comm {

// One link of the latency-bandwidth (alpha-beta) model.
struct Link {
  double latency = 0;    // alpha: seconds per message
  double bandwidth = 0;  // beta: bytes per second; 0 means infinite

  double message(double bytes) const { return latency + (bandwidth > 0 ? bytes / bandwidth : 0); }
  bool is_free() const { return latency == 0 && bandwidth == 0; }
};

// The links a communication crosses: `intra` when two of its ranks share a node, `inter`
// when two sit on different nodes. A flat network has one link, the inter-node one, so
// there everything crosses {inter} (the default).
struct Links {
  bool intra = false;
  bool inter = true;
};

// Latency-bandwidth (alpha-beta) model of the network and of the standard algorithms of
// the collectives.
//
// Flat (node empty, the default): one link, (latency, bandwidth), between any two ranks.
// Hierarchical (node set): ranks are grouped into nodes; two ranks of one node talk over
// the intra-node link `intra`, two of different nodes over the inter-node link (latency,
// bandwidth). A message is costed by the link it crosses. A collective keeps the step
// structure of its flat algorithm (below) and each step costs what the slowest link the
// collective crosses charges for that step's bytes:
//   step(b) = max over the links crossed of (alpha + b / beta).
// So a collective whose ranks all sit on one node runs on the intra-node link alone, and
// one that spans nodes is paced by the inter-node link (by the intra-node one where that
// is the slower for its bytes). With one link crossed, step(b) = alpha + b / beta and the
// closed forms are the flat model's; with node empty they are computed as before, bit for
// bit.
struct NetworkModel {
  double latency = 0;     // alpha of the inter-node link (the only link when flat)
  double bandwidth = 0;   // beta of the inter-node link; 0 means infinite
  Link intra;             // between two ranks of one node; unused when flat
  std::vector<int> node;  // each world rank's node; empty: a flat network

  Link inter() const { return {latency, bandwidth}; }
  double message(double bytes) const { return inter().message(bytes); }
  bool hierarchical() const { return !node.empty(); }
  // The link between two world ranks.
  Links between(int a, int b) const;
  // The links a collective among these world ranks crosses.
  Links among(const std::vector<int>& world_ranks) const;
  // One step of b bytes over the slowest of `links`; one message when a single link.
  double step(double bytes, Links links = {}) const;
  // Whether every link of `links` is free (zero latency, infinite bandwidth).
  bool is_free(Links links = {}) const;

  // Ring allreduce: 2 (P - 1) steps of n / P bytes.
  double allreduce(double bytes, int p, Links links = {}) const;
  // The cheaper of a binomial tree and scatter + allgather (see sim.cpp).
  double broadcast(double bytes, int p, Links links = {}) const;
  // Ring allgather: P - 1 steps of n_each bytes.
  double allgather(double bytes_each, int p, Links links = {}) const;
  // Dissemination barrier: ceil(log2 P) empty messages.
  double barrier(int p, Links links = {}) const;
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
  // Each process runs on a stack of stack_bytes in one mapping of at most stack_slots such
  // stacks (fiber_stacks.hpp); beyond stack_slots processes, they share the stacks and a
  // suspended process's frames wait on the heap (the bytes they use: under 1 KB for a
  // parameter-server worker).
  std::size_t stack_bytes = 256 * 1024;
  std::size_t stack_slots = 1024;
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
