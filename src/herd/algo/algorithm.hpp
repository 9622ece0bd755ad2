#pragma once
// An algorithm is a per-rank program over the communicator: run() is executed by
// every rank, on whatever runtime, and never asks which runtime it is on. An instance holds
// the algorithm's typed settings (settings.hpp) and nothing else: run() is const, a rank's
// state is its Worker's and its run's own, so one instance serves every rank of a job (a
// million simulated workers do not each carry a copy). What the registry knows about an
// algorithm (its name, whether it needs a server, its options) is in registry.hpp.
#include "herd/algo/worker.hpp"

namespace herd::algo {

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  virtual void run(Worker& w) const = 0;
};

// Rank 0 of a job with a server is the server; worker k runs on rank k + 1.
inline constexpr int server_rank = 0;

}  // namespace herd::algo
