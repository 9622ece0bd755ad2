#pragma once
// The algorithms by name. Each algorithm registers itself at the end of its own .cpp file:
//
//   HERD_REGISTER_ALGORITHM(local_sgd, AlgorithmDef<LocalSgdSettings>{
//       .name = "local_sgd",
//       .summary = "Local SGD: local steps, averaged every algo.period steps.",
//       .order = 20,
//       .make = [](const LocalSgdSettings& s) { return std::make_unique<LocalSgd>(s); }});
//
// with its typed settings (settings.hpp), which declare the options it reads. The option
// table's algo section, algo.name's choices and docs/configuration.md are assembled from the
// registry, and run_job makes the settings from a job's option values through it.
//
// The algorithms live in a static library whose objects nothing else references: it is
// linked whole (src/herd/algo/CMakeLists.txt), or the linker would drop them and their
// registrations with them.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "herd/algo/algorithm.hpp"
#include "herd/algo/settings.hpp"
#include "herd/optim/optimizer.hpp"

namespace herd::algo {

// Makes the algorithm of a job, holding a copy of its typed settings; one instance serves every
// rank (Algorithm::run is const).
using AlgorithmFactory = std::function<std::unique_ptr<Algorithm>()>;

// An algorithm's typed settings made for a job, resolved and checked.
struct PreparedAlgorithm {
  AlgorithmFactory make;
  // The options whose value resolve() filled in (algo.elastic_alpha = 0.9 / K,
  // algo.global_period = algo.period, ...): what a resolved configuration records.
  OptionValues resolved;
};

// An algorithm as the registry knows it, its settings type erased.
struct AlgorithmInfo {
  std::string name;
  std::string summary;  // one line, for the documentation
  // Position in algo.name's choices and the documentation: the order of the docs
  // (unique; multiples of 10 leave room for variants between them).
  int order = 0;
  // K + 1 ranks: rank 0 is a parameter server (no data, no oracle), rank k + 1 is worker k.
  bool needs_server = false;
  // The optim.name it takes when the configuration sets none (eamsgd: "nesterov").
  std::optional<std::string> optim_name;
  // The algo.* options it reads, in declaration order.
  std::vector<const OptionSpec*> options;
  // Typed settings from explicit option values (validated; the others at their defaults),
  // resolved against the job and checked (InvalidInput), with the factory of the ranks'
  // algorithms, which hold those settings.
  std::function<PreparedAlgorithm(const OptionValues&, const JobContext&)> prepare;

  bool reads(std::string_view key) const;
};

// How an algorithm registers: S is its settings type (NoSettings without knobs).
template <class S>
struct AlgorithmDef {
  std::string name;
  std::string summary;
  int order = 0;
  bool needs_server = false;
  std::optional<std::string> optim_name = std::nullopt;
  std::function<std::unique_ptr<Algorithm>(const S&)> make;
};

// Adds an algorithm to the registry; a duplicate name or order is a programming error
// (reported on stderr, then abort).
void register_algorithm(AlgorithmInfo info);

template <class S>
AlgorithmInfo erase_settings(AlgorithmDef<S> def) {
  AlgorithmInfo info;
  info.name = std::move(def.name);
  info.summary = std::move(def.summary);
  info.order = def.order;
  info.needs_server = def.needs_server;
  info.optim_name = std::move(def.optim_name);
  info.options = S::knobs().specs();
  info.prepare = [make = std::move(def.make)](const OptionValues& values,
                                              const JobContext& job) -> PreparedAlgorithm {
    const S given = S::knobs().make(values);
    S settings = given;
    if constexpr (requires { settings.resolve(job); }) settings.resolve(job);
    return {[make, settings] { return make(settings); }, S::knobs().changed(given, settings)};
  };
  return info;
}

struct AlgorithmRegistrar {
  template <class S>
  explicit AlgorithmRegistrar(AlgorithmDef<S> def) {
    register_algorithm(erase_settings(std::move(def)));
  }
};

#define HERD_REGISTER_ALGORITHM(id, ...)                                                  \
  [[maybe_unused]] static const ::herd::algo::AlgorithmRegistrar herd_algorithm_##id##_ { \
    __VA_ARGS__                                                                           \
  }

// Every registered algorithm, in order.
const std::vector<const AlgorithmInfo*>& algorithms();
// Their names, in order: algo.name's choices.
std::vector<std::string> algorithm_names();
// nullptr for a name nobody registered.
const AlgorithmInfo* find_algorithm(std::string_view name);
bool is_implemented(std::string_view name);
// InvalidInput "algo.name: unknown algorithm ..." for a name nobody registered.
const AlgorithmInfo& algorithm_or_throw(std::string_view name);

// Every option some algorithm reads, each key once: by algorithm in order, then in
// declaration order. Two algorithms that read one key declare the same option (knobs.hpp).
const std::vector<const OptionSpec*>& algorithm_options();
// The names of the algorithms that read `key`, in order.
std::vector<std::string> algorithms_reading(std::string_view key);

// `name`'s settings for a job and the factory of its ranks: InvalidInput for an unknown algorithm,
// a key no algorithm reads, a value its option refuses, or settings its rules refuse. Keys of other
// algorithms are ignored.
PreparedAlgorithm prepare_algorithm(std::string_view name, const OptionValues& values,
                                    const JobContext& job);

}  // namespace herd::algo
