#include "herd/model/registry.hpp"

#include <algorithm>

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

const std::vector<std::string>& torch_model_names() {
  static const std::vector<std::string> names{"torch_mlp", "lenet5", "cnn7",
                                              "resnet20",  "vgg16",  "torchscript"};
  return names;
}

std::vector<std::string> unbuilt_model_names() {
  std::vector<std::string> out;
  for (const std::string& name : torch_model_names())
    if (find_model(name) == nullptr) out.push_back(name);
  return out;
}

const char* const unbuilt_model_why =
    "herd was built without LibTorch (-DHERD_WITH_TORCH=OFF); `make build` installs "
    "libtorch-dev and builds its models";

const ModelInfo& model_or_throw(std::string_view name) {
  if (const ModelInfo* m = find_model(name)) return *m;
  const auto& torch = torch_model_names();
  if (std::find(torch.begin(), torch.end(), name) != torch.end())
    throw InvalidInput("model.name: \"" + std::string(name) +
                       "\" is not in this build: " + unbuilt_model_why);
  throw InvalidInput("model.name: unknown model \"" + std::string(name) + "\"");
}

const std::vector<const OptionSpec*>& model_options() {
  return registry().options();
}

std::vector<std::string> models_reading(std::string_view key) {
  return registry().readers(key);
}

}  // namespace herd::model
