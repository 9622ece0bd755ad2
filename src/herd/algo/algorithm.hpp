#pragma once
// An algorithm is a per-rank program over the communicator: run() is executed by
// every rank, on whatever runtime, and never asks which runtime it is on.
#include <memory>
#include <string>
#include <vector>

#include "herd/algo/worker.hpp"

namespace herd::algo {

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  virtual void run(Worker& w) = 0;
  // Algorithms with a parameter server run on K + 1 ranks: rank 0 is the server (no data,
  // no oracle), ranks 1..K are the workers 0..K-1.
  virtual bool needs_server() const { return false; }
};

// Rank 0 of a job with a server is the server; worker k runs on rank k + 1.
inline constexpr int server_rank = 0;

// Every algorithm name of the specification, in the order the docs list them.
const std::vector<std::string>& algorithm_names();
bool is_implemented(const std::string& name);
// InvalidInput for unknown names and for algorithms this build does not provide yet.
std::unique_ptr<Algorithm> make_algorithm(const std::string& name);

}  // namespace herd::algo
