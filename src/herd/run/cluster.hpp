#pragma once
// The [cluster] section as the runtimes take it: the compute model, the network model (flat,
// or nodes of cluster.node_size workers) and injected faults, laid out by rank (with a
// parameter server on rank 0, worker k is rank k+1).
#include <vector>

#include "herd/comm/runtimes.hpp"
#include "herd/run/config.hpp"

namespace herd::run {

// spec (compute model by rank, network, faults, time model) and emulate (real runtimes sleep
// the compute times), as the runtimes take them (comm/runtimes.hpp), and the workers' times.
struct Cluster : comm::ClusterModel {
  std::vector<double> worker_tau;  // seconds per minibatch gradient, by worker (may be empty)
};

// cluster.compute_times, one per worker (empty when not set), as make_cluster reads them.
std::vector<double> worker_compute_times(const Config& config, int workers, std::uint64_t seed);
// cluster.compute_times_after, one per worker (empty when not set): `reversed` reverses
// `before`. InvalidInput naming the key when set without cluster.compute_times, and for
// cluster.change_at > 0 without it (a change of nothing).
std::vector<double> worker_compute_times_after(const Config& config, int workers,
                                               std::uint64_t seed,
                                               const std::vector<double>& before);

// The network of cluster.latency / cluster.bandwidth, laid out by rank: flat when
// cluster.node_size = 0; otherwise worker k on node k / node_size, a parameter server (rank
// 0) on a node of its own, and cluster.intra_latency / cluster.intra_bandwidth between two
// ranks of one node. InvalidInput naming the key for a negative node size or intra-node
// values on a flat network.
comm::NetworkModel network_model(const Config& config, int workers, bool server);

// InvalidInput naming the key for a list of the wrong length, a non-positive time, an
// unknown formula, a negative noise scale, cluster.noise_scale = "tau" with lognormal noise,
// or a fault on a worker that does not exist. noise_scale = "tau" gives s_i = tau_i.
Cluster make_cluster(const Config& config, int workers, bool server, std::uint64_t seed);

}  // namespace herd::run
