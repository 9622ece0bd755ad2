#include "herd/algo/registry.hpp"

#include <algorithm>

#include "herd/core/error.hpp"
#include "herd/core/registry.hpp"

namespace herd::algo {
namespace {

Registry<AlgorithmInfo>& registry() {
  static Registry<AlgorithmInfo> r("algorithm");
  return r;
}

}  // namespace

bool AlgorithmInfo::reads(std::string_view key) const {
  return std::any_of(options.begin(), options.end(),
                     [&](const OptionSpec* spec) { return spec->key == key; });
}

void register_algorithm(AlgorithmInfo info) {
  registry().add(std::move(info));
}

const std::vector<const AlgorithmInfo*>& algorithms() {
  return registry().entries();
}

std::vector<std::string> algorithm_names() {
  return registry().names();
}

const AlgorithmInfo* find_algorithm(std::string_view name) {
  return registry().find(name);
}

bool is_implemented(std::string_view name) {
  return find_algorithm(name) != nullptr;
}

const AlgorithmInfo& algorithm_or_throw(std::string_view name) {
  if (const AlgorithmInfo* a = find_algorithm(name)) return *a;
  throw InvalidInput("algo.name: unknown algorithm \"" + std::string(name) + "\"");
}

const std::vector<const OptionSpec*>& algorithm_options() {
  return registry().options();
}

std::vector<std::string> algorithms_reading(std::string_view key) {
  return registry().readers(key);
}

PreparedAlgorithm prepare_algorithm(std::string_view name, const OptionValues& values,
                                    const JobContext& job) {
  const AlgorithmInfo& info = algorithm_or_throw(name);
  const auto& known = algorithm_options();
  for (const auto& entry : values) {
    const auto& key = entry.first;  // a named variable: clang 14 cannot capture a binding
    const bool declared = std::any_of(known.begin(), known.end(),
                                      [&](const OptionSpec* spec) { return spec->key == key; });
    if (!declared)
      throw InvalidInput("unknown algorithm option " + key + " (no algorithm reads it)");
  }
  return info.prepare(values, job);
}

}  // namespace herd::algo
