#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11). A generator is fully
// described by (seed, stream, counter): every worker draws from its own stream of the run's
// seed, so streams never overlap, a worker's draws do not depend on how threads or
// processes are scheduled, and a checkpoint is three integers.
#include <array>
#include <cstdint>
#include <span>

#include "herd/core/bytes.hpp"

namespace herd {

// Well-known stream ids, so that distinct purposes never share a stream.
namespace streams {
inline constexpr std::uint64_t worker_base = 0;  // worker k samples on stream k
inline constexpr std::uint64_t data_generation = 1ull << 40;
inline constexpr std::uint64_t partition = (1ull << 40) + 1;
inline constexpr std::uint64_t init = (1ull << 40) + 2;
inline constexpr std::uint64_t problem = (1ull << 40) + 3;
inline constexpr std::uint64_t compute_times = (1ull << 40) + 4;  // tau permutations
inline constexpr std::uint64_t compute_noise_base = 1ull << 41;   // + rank: compute noise
}  // namespace streams

class Rng {
 public:
  struct State {
    std::uint64_t seed = 0, stream = 0, counter = 0;
    std::uint32_t used = 4;  // outputs of the current block already consumed
    bool operator==(const State&) const = default;
    // Checkpoints: the state's encoding (core/bytes.hpp); load() refuses impossible states.
    void save(ByteWriter& out) const;
    static State load(ByteReader& in);
    // The start of a fresh stretch of this stream, 2^40 blocks per generation: streams
    // restarted with different generations never draw the same numbers.
    State restarted(std::uint64_t generation) const;
  };

  Rng(std::uint64_t seed, std::uint64_t stream) { state_.seed = seed, state_.stream = stream; }
  // Resumes exactly where state() was taken.
  explicit Rng(State s) : state_(s) {
    if (s.used < 4) refill_block(s.counter - 1);
  }

  // Inline: a Gaussian draw calls these four times (a simulated ASGD update spent about 150
  // instructions on the calls alone).
  std::uint32_t next_u32() {
    if (state_.used == 4) [[unlikely]]
      next_block();
    return block_[state_.used++];
  }
  std::uint64_t next_u64() {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }  // [0, 1), 53 random bits
  double uniform_open() {                                            // (0, 1)
    double u;
    do u = uniform();
    while (u == 0.0);
    return u;
  }
  double normal();                       // standard normal
  std::uint64_t below(std::uint64_t n);  // uniform in [0, n), unbiased
  double gamma(double shape);            // Gamma(shape, 1)
  double exponential();                  // Exp(1)
  template <class T>
  void shuffle(std::span<T> v) {  // Fisher-Yates
    for (std::size_t i = v.size(); i > 1; --i) {
      const std::size_t j = below(i);
      std::swap(v[i - 1], v[j]);
    }
  }

  State state() const { return state_; }

 private:
  void refill_block(std::uint64_t counter);
  void next_block();  // the block at the counter, which advances
  State state_;
  std::array<std::uint32_t, 4> block_{};
};

// The raw Philox4x32-10 bijection, exposed for the known-answer test.
std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> counter,
                                           std::array<std::uint32_t, 2> key);

}  // namespace herd
