#pragma once
// The byte-count model of the collectives, shared by every runtime so that "bytes" means
// the same thing everywhere: what the standard bandwidth-optimal algorithm sends, per rank.
//   allreduce (ring: reduce-scatter + allgather): 2 (P - 1) / P * n bytes per rank
//   broadcast (binomial tree / scatter-allgather):  the root sends n per other rank it
//     serves; counted as (P - 1) * n bytes for the root, 0 for the others
//   allgather (ring): (P - 1) * n_each bytes per rank
//   point-to-point: the message's header bytes plus its payload (4 bytes a float)
#include <cstdint>

namespace herd::comm::traffic {

inline std::uint64_t allreduce_bytes(std::uint64_t n, int p) {
  return p <= 1 ? 0 : 2 * (std::uint64_t(p) - 1) * n / std::uint64_t(p);
}
inline std::uint64_t broadcast_bytes(std::uint64_t n, int p, bool is_root) {
  return is_root && p > 1 ? (std::uint64_t(p) - 1) * n : 0;
}
inline std::uint64_t message_bytes(std::uint64_t header_bytes, std::uint64_t floats) {
  return header_bytes + 4 * floats;
}
inline std::uint64_t allgather_bytes(std::uint64_t n_each, int p) {
  return p <= 1 ? 0 : (std::uint64_t(p) - 1) * n_each;
}

}  // namespace herd::comm::traffic
