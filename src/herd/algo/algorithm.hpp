#pragma once
// An algorithm is a per-rank program over the communicator (DESIGN.md): run() is executed by
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
};

// Every algorithm name of the specification, in the order of ALGORITHMS.md.
const std::vector<std::string>& algorithm_names();
bool is_implemented(const std::string& name);
// InvalidInput for unknown names and for algorithms this build does not provide yet.
std::unique_ptr<Algorithm> make_algorithm(const std::string& name);

}  // namespace herd::algo
