#include "herd/core/rng.hpp"

#include <cmath>
#include <numbers>

namespace herd {

std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> c,
                                           std::array<std::uint32_t, 2> k) {
  constexpr std::uint64_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = m0 * c[0], p1 = m1 * c[2];
    c = {std::uint32_t(p1 >> 32) ^ c[1] ^ k[0], std::uint32_t(p1),
         std::uint32_t(p0 >> 32) ^ c[3] ^ k[1], std::uint32_t(p0)};
    k[0] += w0;
    k[1] += w1;
  }
  return c;
}

void Rng::refill_block(std::uint64_t ctr) {
  const std::uint64_t s = state_.stream, seed = state_.seed;
  block_ = philox4x32_10(
      {std::uint32_t(ctr), std::uint32_t(ctr >> 32), std::uint32_t(s), std::uint32_t(s >> 32)},
      {std::uint32_t(seed), std::uint32_t(seed >> 32)});
}

void Rng::next_block() {
  refill_block(state_.counter);
  ++state_.counter;
  state_.used = 0;
}

double Rng::normal() {
  // Box-Muller, one value per call so the state stays (seed, stream, counter, used).
  const double u1 = uniform_open(), u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::uint64_t Rng::below(std::uint64_t n) {
  // Lemire's multiply-and-reject on 64 bits.
  if (n <= 1) return 0;
  while (true) {
    __extension__ using u128 = unsigned __int128;
    const u128 m = u128(next_u64()) * n;
    const std::uint64_t low = std::uint64_t(m);
    if (low >= n || low >= (-n) % n) return std::uint64_t(m >> 64);
  }
}

double Rng::exponential() {
  return -std::log(uniform_open());
}

double Rng::gamma(double shape) {
  // Marsaglia and Tsang (2000); shape < 1 through the boost Gamma(a) = Gamma(a+1) U^(1/a).
  if (shape < 1.0) return gamma(shape + 1.0) * std::pow(uniform_open(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double z, v;
    do {
      z = normal();
      v = 1.0 + c * z;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open();
    if (std::log(u) < 0.5 * z * z + d - d * v + d * std::log(v)) return d * v;
  }
}

void Rng::State::save(ByteWriter& out) const {
  out.put(seed), out.put(stream), out.put(counter), out.put(used);
}

Rng::State Rng::State::load(ByteReader& in) {
  State s;
  s.seed = in.get<std::uint64_t>();
  s.stream = in.get<std::uint64_t>();
  s.counter = in.get<std::uint64_t>();
  s.used = in.get<std::uint32_t>();
  if (s.used > 4) in.corrupt("an RNG state");
  return s;
}

Rng::State Rng::State::restarted(std::uint64_t generation) const {
  State s = *this;
  s.counter = generation << 40;
  s.used = 4;  // no block drawn yet
  return s;
}

}  // namespace herd
