#pragma once
// Minibatch samplers over one worker's shard.
#include <cstddef>
#include <cstdint>
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

// Everything a sampler has consumed (checkpoints): a sampler restored from it draws exactly
// the batches the saved one would have drawn next.
struct SamplerState {
  Rng::State rng;
  std::vector<Index> order;    // shuffled_epochs: the current permutation (else empty)
  std::uint64_t position = 0;  // shuffled_epochs: entries of it consumed
  std::uint64_t drawn = 0;     // samples drawn so far
  bool operator==(const SamplerState&) const = default;
  void save(ByteWriter& out) const;
  static SamplerState load(ByteReader& in);
  // A fresh stretch of the sample stream (Rng::State::restarted) with `drawn` samples so
  // far; shuffled epochs begin with a new permutation.
  SamplerState restarted(std::uint64_t generation, std::uint64_t drawn_so_far) const;
};

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
  // The worker's sample stream, for its other draws between batches (a model's training
  // augmentation): they are then part of state(), so checkpoints resume them exactly.
  Rng& rng() { return rng_; }

  SamplerState state() const;
  // InvalidInput when `s` cannot come from a sampler of this shard and mode.
  void restore(const SamplerState& s);

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
