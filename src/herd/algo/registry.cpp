#include "herd/algo/registry.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

// Registrations happen during static initialisation, in an unspecified order across files;
// readers come later and see the entries sorted by order.
struct Registry {
  std::vector<std::unique_ptr<AlgorithmInfo>> entries;
  std::vector<const AlgorithmInfo*> sorted;
  std::vector<const OptionSpec*> options;
  std::once_flag once;
  bool finished = false;

  void finish() {
    std::call_once(once, [this] {
      finished = true;
      for (const auto& e : entries) sorted.push_back(e.get());
      std::sort(sorted.begin(), sorted.end(),
                [](const AlgorithmInfo* a, const AlgorithmInfo* b) { return a->order < b->order; });
      for (const AlgorithmInfo* a : sorted)
        for (const OptionSpec* spec : a->options) {
          const auto same = std::find_if(options.begin(), options.end(),
                                         [&](const OptionSpec* o) { return o->key == spec->key; });
          if (same == options.end()) {
            options.push_back(spec);
          } else if (**same != *spec) {
            std::fprintf(stderr, "herd: algorithm %s declares %s unlike the algorithms before it\n",
                         a->name.c_str(), spec->key.c_str());
            std::abort();
          }
        }
    });
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

bool AlgorithmInfo::reads(std::string_view key) const {
  return std::any_of(options.begin(), options.end(),
                     [&](const OptionSpec* spec) { return spec->key == key; });
}

void register_algorithm(AlgorithmInfo info) {
  Registry& r = registry();
  if (r.finished) {
    std::fprintf(stderr, "herd: algorithm %s is registered after the registry was first read\n",
                 info.name.c_str());
    std::abort();
  }
  for (const auto& e : r.entries) {
    if (e->name == info.name || e->order == info.order) {
      std::fprintf(stderr, "herd: algorithms %s and %s are registered with %s\n", e->name.c_str(),
                   info.name.c_str(), e->name == info.name ? "one name" : "one order");
      std::abort();
    }
  }
  r.entries.push_back(std::make_unique<AlgorithmInfo>(std::move(info)));
}

const std::vector<const AlgorithmInfo*>& algorithms() {
  registry().finish();
  return registry().sorted;
}

std::vector<std::string> algorithm_names() {
  std::vector<std::string> names;
  for (const AlgorithmInfo* a : algorithms()) names.push_back(a->name);
  return names;
}

const AlgorithmInfo* find_algorithm(std::string_view name) {
  for (const AlgorithmInfo* a : algorithms())
    if (a->name == name) return a;
  return nullptr;
}

bool is_implemented(std::string_view name) {
  return find_algorithm(name) != nullptr;
}

const AlgorithmInfo& algorithm_or_throw(std::string_view name) {
  if (const AlgorithmInfo* a = find_algorithm(name)) return *a;
  throw InvalidInput("algo.name: unknown algorithm \"" + std::string(name) + "\"");
}

const std::vector<const OptionSpec*>& algorithm_options() {
  registry().finish();
  return registry().options;
}

std::vector<std::string> algorithms_reading(std::string_view key) {
  std::vector<std::string> names;
  for (const AlgorithmInfo* a : algorithms())
    if (a->reads(key)) names.push_back(a->name);
  return names;
}

AlgorithmFactory prepare_algorithm(std::string_view name, const OptionValues& values,
                                   const JobContext& job) {
  const AlgorithmInfo& info = algorithm_or_throw(name);
  const auto& known = algorithm_options();
  for (const auto& [key, value] : values) {
    const bool declared = std::any_of(known.begin(), known.end(),
                                      [&](const OptionSpec* spec) { return spec->key == key; });
    if (!declared)
      throw InvalidInput("unknown algorithm option " + key + " (no algorithm reads it)");
  }
  return info.prepare(values, job);
}

}  // namespace herd::algo
