#pragma once
// An algorithm's own state beyond the Worker's (x, optimizer, oracle, counters): the buffers
// and counters a checkpoint must keep, registered by name before the run starts (the sync
// loop and the server channel restore them when a job resumes). The references must
// outlive the checkpoints; vectors are restored with their saved lengths.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "herd/core/bytes.hpp"

namespace herd::algo {

class AlgoState {
 public:
  using Ref = std::variant<std::vector<float>*, std::vector<double>*, std::vector<std::int64_t>*,
                           double*, std::int64_t*, std::size_t*, int*, bool*>;
  template <class T>
  AlgoState& add(std::string name, T& value) {
    return put(std::move(name), Ref(&value));
  }

  const std::vector<std::pair<std::string, Ref>>& entries() const { return entries_; }

  // Every entry by name and type.
  void save(ByteWriter& out) const;
  // Restores every registered entry from what save() wrote; InvalidInput naming `owner`
  // ("checkpoint F: rank 3") when the saved entries are not the registered ones (a job
  // with other algorithm settings).
  void load(ByteReader& in, const std::string& owner);

 private:
  AlgoState& put(std::string name, Ref ref);  // InvalidInput on a repeated name
  std::vector<std::pair<std::string, Ref>> entries_;
};

}  // namespace herd::algo
