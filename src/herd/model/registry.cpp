#include "herd/model/registry.hpp"

#include "herd/core/error.hpp"
#include "herd/core/registry.hpp"

namespace herd::model {
namespace {

Registry<ModelInfo>& registry() {
  static Registry<ModelInfo> r("model");
  return r;
}

}  // namespace

void register_model(ModelInfo info) {
  registry().add(std::move(info));
}

const std::vector<const ModelInfo*>& models() {
  return registry().entries();
}

std::vector<std::string> model_names() {
  return registry().names();
}

const ModelInfo* find_model(std::string_view name) {
  return registry().find(name);
}

const ModelInfo& model_or_throw(std::string_view name) {
  if (const ModelInfo* m = find_model(name)) return *m;
  throw InvalidInput("model.name: unknown model \"" + std::string(name) + "\"");
}

const std::vector<const OptionSpec*>& model_options() {
  return registry().options();
}

std::vector<std::string> models_reading(std::string_view key) {
  return registry().readers(key);
}

}  // namespace herd::model
