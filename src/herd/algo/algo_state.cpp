#include "herd/algo/algo_state.hpp"

#include <type_traits>

#include "herd/core/error.hpp"

namespace herd::algo {

AlgoState& AlgoState::put(std::string name, Ref ref) {
  for (const auto& [existing, _] : entries_)
    if (existing == name)
      throw InvalidInput("algorithm state '" + name + "' registered twice for checkpoints");
  entries_.emplace_back(std::move(name), ref);
  return *this;
}

void AlgoState::save(ByteWriter& out) const {
  out.put(std::uint64_t(entries_.size()));
  for (const auto& [name, ref] : entries_) {
    out.put(name);
    out.put(std::uint8_t(ref.index()));
    std::visit([&](const auto* p) { out.put(*p); }, ref);
  }
}

void AlgoState::load(ByteReader& in, const std::string& owner) {
  const auto saved = in.get<std::uint64_t>();
  std::vector<bool> restored(entries_.size(), false);
  for (std::uint64_t i = 0; i < saved; ++i) {
    const auto key = in.get<std::string>();
    std::size_t e = 0;
    while (e < entries_.size() && entries_[e].first != key) ++e;
    if (e == entries_.size())
      throw InvalidInput(owner + " saved the algorithm state '" + key +
                         "', which this job's algorithm does not have (other algo settings?)");
    const Ref& ref = entries_[e].second;
    if (in.get<std::uint8_t>() != ref.index()) in.corrupt("an algorithm buffer of another type");
    std::visit([&](auto* p) { in.get_into(*p); }, ref);
    restored[e] = true;
  }
  for (std::size_t e = 0; e < entries_.size(); ++e)
    if (!restored[e])
      throw InvalidInput(owner + " has no algorithm state '" + entries_[e].first +
                         "' (written with other algo settings?)");
}

}  // namespace herd::algo
