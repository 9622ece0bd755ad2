#pragma once
// The models by name (model.name). Each model registers itself at the end of its own .cpp
// file with HERD_REGISTER_MODEL: its name, a one-line summary, its order (its place in
// model.name's choices), whether it trains on a data set, and a builder that takes its
// typed settings (core/settings.hpp), which declare the model.* options it reads. Options
// several models read are declared once in model/knobs.hpp. The option table's model section
// and model.name's choices are assembled from this registry; the run layer loads the data
// of the models that need some and builds the problem through it.
//
// herd_model is linked as a whole archive: nothing else references the models' registrars.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "herd/core/kernels.hpp"
#include "herd/core/settings.hpp"
#include "herd/data/dataset.hpp"
#include "herd/data/sampler.hpp"
#include "herd/model/problem.hpp"

namespace herd::model {

// The data a model trains on, loaded and split by the run layer.
struct ModelData {
  std::shared_ptr<const data::Dataset> train;
  std::shared_ptr<const data::Dataset> test;     // null: no test set (or none evaluated)
  std::vector<std::vector<data::Index>> shards;  // rows of train, one list per worker
  data::Sampling sampling = data::Sampling::with_replacement;
};

// What a model's settings and builder may depend on beyond their own options.
struct ModelContext {
  int workers = 1;                  // K
  std::size_t batch = 1;            // minibatch size of a worker's gradient
  std::uint64_t seed = 0;           // run.seed
  const ModelData* data = nullptr;  // for the models that need data; null when checking
};

struct BuiltModel {
  std::unique_ptr<Problem> problem;
  // Per-worker starting points, when the model has its own (the problem must outlive it).
  std::function<void(int worker, Span x)> worker_start;
  std::string description;  // for the log; "" for data models (the data's description)
};

struct ModelInfo {
  std::string name;
  std::string summary;  // one line, for the documentation
  int order = 0;        // position in model.name's choices (multiples of 10; unique)
  bool needs_data = false;
  std::vector<const OptionSpec*> options;  // the model.* options it reads
  // The typed settings from explicit values, resolved against the context and checked
  // (InvalidInput); with `build`, the problem built from them (context.data set when
  // needs_data).
  std::function<BuiltModel(const OptionValues&, const ModelContext&, bool build)> make;

  // InvalidInput when the values or their combination are refused; builds nothing.
  void check(const OptionValues& values, const ModelContext& context) const {
    make(values, context, false);
  }
  BuiltModel build(const OptionValues& values, const ModelContext& context) const {
    return make(values, context, true);
  }
};

template <class S>
struct ModelDef {
  std::string name;
  std::string summary;
  int order = 0;
  bool needs_data = false;
  std::function<BuiltModel(const S&, const ModelContext&)> build;
};

void register_model(ModelInfo info);

template <class S>
ModelInfo erase_settings(ModelDef<S> def) {
  ModelInfo info;
  info.name = std::move(def.name);
  info.summary = std::move(def.summary);
  info.order = def.order;
  info.needs_data = def.needs_data;
  info.options = S::knobs().specs();
  info.make = [build = std::move(def.build)](const OptionValues& values,
                                             const ModelContext& context, bool make) {
    S settings = S::knobs().make(values);
    if constexpr (requires { settings.resolve(context); }) settings.resolve(context);
    return make ? build(settings, context) : BuiltModel{};
  };
  return info;
}

struct ModelRegistrar {
  template <class S>
  explicit ModelRegistrar(ModelDef<S> def) {
    register_model(erase_settings(std::move(def)));
  }
};

#define HERD_REGISTER_MODEL(id, ...)                                               \
  [[maybe_unused]] static const ::herd::model::ModelRegistrar herd_model_##id##_ { \
    __VA_ARGS__                                                                    \
  }

const std::vector<const ModelInfo*>& models();  // in order
std::vector<std::string> model_names();
const ModelInfo* find_model(std::string_view name);
// The models of src/herd/model/torch, registered only where herd is built with LibTorch.
const std::vector<std::string>& torch_model_names();
// Names model.name refuses as "not in this build" (the torch models without LibTorch), and
// the reason it gives.
std::vector<std::string> unbuilt_model_names();
extern const char* const unbuilt_model_why;
// InvalidInput "model.name: unknown model ..." for a name nobody registered.
const ModelInfo& model_or_throw(std::string_view name);
// Every option some model reads, each key once, by model then declaration order.
const std::vector<const OptionSpec*>& model_options();
std::vector<std::string> models_reading(std::string_view key);

}  // namespace herd::model
