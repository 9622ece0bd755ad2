#pragma once
// Minibatch samplers over one worker's shard.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "herd/core/rng.hpp"
#include "herd/data/dataset.hpp"

namespace herd::data {

enum class Sampling {
  with_replacement,  // each batch: b indices drawn uniformly with replacement
  shuffled_epochs,   // a fresh permutation per epoch, consumed b at a time (wraps into the next)
};

// "with_replacement" | "shuffled_epochs"; InvalidInput on unknown names.
Sampling parse_sampling(const std::string& name);
const char* sampling_name(Sampling mode);

class BatchSampler {
 public:
  // shard: the row indices this worker owns (non-empty); batch >= 1.
  BatchSampler(std::vector<Index> shard, std::size_t batch, Sampling mode, Rng rng);
  // The next minibatch of row indices; valid until the next call.
  std::span<const Index> next();
  std::size_t batch() const { return batch_; }
  std::size_t shard_size() const { return shard_.size(); }
  // Samples drawn so far / shard size.
  double epochs() const { return double(drawn_) / double(shard_.size()); }
  const Rng& rng() const { return rng_; }

 private:
  std::vector<Index> shard_;
  std::vector<Index> order_;  // shuffled_epochs: current permutation
  std::vector<Index> out_;
  std::size_t batch_, pos_ = 0;
  Sampling mode_;
  Rng rng_;
  std::uint64_t drawn_ = 0;
};

}  // namespace herd::data
