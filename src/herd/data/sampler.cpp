#include "herd/data/sampler.hpp"

#include <algorithm>

#include "herd/core/error.hpp"

namespace herd::data {

const char* sampling_name(Sampling mode) {
  switch (mode) {
    case Sampling::with_replacement:
      return "with_replacement";
    case Sampling::shuffled_epochs:
      return "shuffled_epochs";
  }
  return "unknown";
}

Sampling parse_sampling(const std::string& name) {
  for (const auto mode : {Sampling::with_replacement, Sampling::shuffled_epochs}) {
    if (name == sampling_name(mode)) return mode;
  }
  throw InvalidInput("unknown sampling '" + name +
                     "' (expected with_replacement or shuffled_epochs)");
}

BatchSampler::BatchSampler(std::vector<Index> shard, std::size_t batch, Sampling mode, Rng rng)
    : shard_(std::move(shard)), out_(batch), batch_(batch), mode_(mode), rng_(rng) {
  if (shard_.empty()) throw InvalidInput("batch sampler: the shard has no rows");
  if (batch_ == 0) throw InvalidInput("batch sampler: the batch size must be at least 1");
  if (mode_ == Sampling::shuffled_epochs) {
    order_ = shard_;
    pos_ = order_.size();  // the first call draws the first permutation
  }
}

std::span<const Index> BatchSampler::next() {
  if (mode_ == Sampling::with_replacement) {
    for (Index& i : out_) i = shard_[rng_.below(shard_.size())];
  } else {
    for (Index& i : out_) {
      if (pos_ == order_.size()) {
        // Reshuffling the previous permutation gives a fresh uniform one.
        rng_.shuffle(std::span<Index>(order_));
        pos_ = 0;
      }
      i = order_[pos_++];
    }
  }
  drawn_ += batch_;
  return out_;
}

SamplerState BatchSampler::state() const {
  return {rng_.state(), order_, pos_, drawn_};
}

void BatchSampler::restore(const SamplerState& s) {
  if (mode_ == Sampling::with_replacement) {
    if (!s.order.empty())
      throw InvalidInput(
          "batch sampler: a shuffled-epochs state cannot restore a sampler with "
          "replacement");
  } else {
    std::vector<Index> sorted_order = s.order, sorted_shard = shard_;
    std::sort(sorted_order.begin(), sorted_order.end());
    std::sort(sorted_shard.begin(), sorted_shard.end());
    if (sorted_order != sorted_shard || s.position > s.order.size())
      throw InvalidInput("batch sampler: the saved permutation (" + std::to_string(s.order.size()) +
                         " rows, position " + std::to_string(s.position) +
                         ") is not one of this shard of " + std::to_string(shard_.size()) +
                         " rows");
    order_ = s.order;
    pos_ = std::size_t(s.position);
  }
  rng_ = Rng(s.rng);
  drawn_ = s.drawn;
}

void SamplerState::save(ByteWriter& out) const {
  rng.save(out);
  out.put(order);
  out.put(position);
  out.put(drawn);
}

SamplerState SamplerState::load(ByteReader& in) {
  SamplerState s;
  s.rng = Rng::State::load(in);
  s.order = in.get_vector<Index>();
  s.position = in.get<std::uint64_t>();
  s.drawn = in.get<std::uint64_t>();
  return s;
}

SamplerState SamplerState::restarted(std::uint64_t generation, std::uint64_t drawn_so_far) const {
  SamplerState s = *this;
  s.rng = rng.restarted(generation);
  s.position = s.order.size();
  s.drawn = drawn_so_far;
  return s;
}

}  // namespace herd::data
