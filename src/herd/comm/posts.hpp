#pragma once
// What the in-process and simulated communicators share about a collective: each rank
// posts (kind, length, element size, root, buffer); the posts are checked against each other,
// reduced in rank order, and split into groups, by the same code, so that both runtimes compute the
// same bits.
#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "herd/comm/communicator.hpp"
#include "herd/core/error.hpp"

namespace herd::comm::detail {

enum class CollKind { allreduce, broadcast, allgather, barrier, split };

inline const char* kind_name(CollKind k) {
  switch (k) {
    case CollKind::allreduce:
      return "allreduce";
    case CollKind::broadcast:
      return "broadcast";
    case CollKind::allgather:
      return "allgather";
    case CollKind::barrier:
      return "barrier";
    case CollKind::split:
      return "split";
  }
  return "?";
}

// What a rank posts when it enters a collective.
struct Post {
  CollKind kind = CollKind::barrier;
  std::size_t count = 0;
  std::size_t width = 0;  // bytes per element (0: no buffer)
  int root = 0;
  const void* in = nullptr;
  int color = 0, key = 0;
};

// Collectives are matched by sequence: the i-th collective of every rank must be the same
// call (kind, length, element type, root). A mismatch is a CommError naming both ranks and
// calls.
inline void check_matched(const std::vector<Post>& posts, int rank) {
  const Post& me = posts[std::size_t(rank)];
  for (std::size_t r = 0; r < posts.size(); ++r) {
    const Post& other = posts[r];
    if (other.kind == me.kind && other.count == me.count && other.width == me.width &&
        other.root == me.root)
      continue;
    // The element sizes are named only where they differ.
    auto call = [&](const Post& p) {
      std::string s = std::string(kind_name(p.kind)) + "(" + std::to_string(p.count);
      if (other.width != me.width)
        s += " elements of " + std::to_string(p.width) + (p.width == 1 ? " byte" : " bytes");
      return s + ")";
    };
    throw CommError("collective mismatch on a communicator of " + std::to_string(posts.size()) +
                    " ranks: rank " + std::to_string(rank) + " called " + call(me) +
                    " while rank " + std::to_string(r) + " called " + call(other));
  }
}

// out[begin, end) <- sum (or mean) of the posted buffers, added in rank order 0..P-1 for
// every element: the fixed order that makes reductions reproducible bit for bit.
template <class T>
void reduce_slice(const std::vector<Post>& posts, std::size_t begin, std::size_t end, T* out,
                  ReduceOp op) {
  const T* first = static_cast<const T*>(posts[0].in);
  for (std::size_t j = begin; j < end; ++j) out[j] = first[j];
  for (std::size_t r = 1; r < posts.size(); ++r) {
    const T* in = static_cast<const T*>(posts[r].in);
    for (std::size_t j = begin; j < end; ++j) out[j] += in[j];
  }
  if (op == ReduceOp::mean) {
    const T inv = T(1) / T(posts.size());
    for (std::size_t j = begin; j < end; ++j) out[j] *= inv;
  }
}

// The members of each color of a split, as ranks of the parent, ordered by (key, rank).
inline std::map<int, std::vector<int>> split_members(const std::vector<Post>& posts) {
  std::map<int, std::vector<std::pair<int, int>>> by_color;  // color -> (key, rank)
  for (std::size_t r = 0; r < posts.size(); ++r)
    by_color[posts[r].color].emplace_back(posts[r].key, int(r));
  std::map<int, std::vector<int>> members;
  for (auto& [color, order] : by_color) {
    std::sort(order.begin(), order.end());
    for (auto [key, r] : order) members[color].push_back(r);
  }
  return members;
}

}  // namespace herd::comm::detail
