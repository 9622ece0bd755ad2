#include "herd/comm/runtimes.hpp"

#include "herd/core/error.hpp"
#include "herd/core/registry.hpp"

namespace herd::comm {
namespace {

Registry<RuntimeInfo>& registry() {
  static Registry<RuntimeInfo> r("runtime");
  return r;
}

}  // namespace

void register_runtime(RuntimeInfo info) {
  registry().add(std::move(info));
}

const std::vector<const RuntimeInfo*>& runtimes() {
  return registry().entries();
}

std::vector<std::string> runtime_names() {
  return registry().names();
}

const RuntimeInfo* find_runtime(std::string_view name) {
  return registry().find(name);
}

const RuntimeInfo& runtime_or_throw(std::string_view name) {
  if (const RuntimeInfo* r = find_runtime(name)) return *r;
  throw InvalidInput("run.runtime: unknown runtime \"" + std::string(name) + "\"");
}

}  // namespace herd::comm
