#pragma once
// A registry by name, filled during static initialisation by registrars placed beside the
// definitions (the algorithms, the models, the runtimes), and read afterwards. Info is the
// registered description: it has `std::string name`, `int order` (the position in the
// documented list; unique) and `std::vector<const OptionSpec*> options` (the options the
// entry reads). Registration order across files is unspecified: readers see the entries
// sorted by order.
//
// Registering twice under one name or order, or after the first read, is a programming
// error: it is reported on stderr and aborts.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "herd/core/options.hpp"

namespace herd {

template <class Info>
class Registry {
 public:
  explicit Registry(const char* what) : what_(what) {}

  void add(Info info) {
    if (finished_) die(info.name, "is registered after the registry was first read");
    for (const auto& e : entries_) {
      if (e->name == info.name) die(info.name, "is registered twice");
      if (e->order == info.order) die(info.name, ("has the order of " + e->name).c_str());
    }
    entries_.push_back(std::make_unique<Info>(std::move(info)));
  }

  // Every entry, by order.
  const std::vector<const Info*>& entries() {
    finish();
    return sorted_;
  }
  std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const Info* e : entries()) out.push_back(e->name);
    return out;
  }
  // nullptr for a name nobody registered.
  const Info* find(std::string_view name) {
    for (const Info* e : entries())
      if (e->name == name) return e;
    return nullptr;
  }
  // Every option some entry reads, each key once: by entry in order, then as the entry lists
  // them. Entries that read one key declare the same option.
  const std::vector<const OptionSpec*>& options() {
    finish();
    return options_;
  }
  // The names of the entries that read `key`, in order.
  std::vector<std::string> readers(std::string_view key) {
    std::vector<std::string> out;
    for (const Info* e : entries())
      if (std::any_of(e->options.begin(), e->options.end(),
                      [&](const OptionSpec* spec) { return spec->key == key; }))
        out.push_back(e->name);
    return out;
  }

 private:
  void finish() {
    std::call_once(once_, [this] {
      finished_ = true;
      for (const auto& e : entries_) sorted_.push_back(e.get());
      std::sort(sorted_.begin(), sorted_.end(),
                [](const Info* a, const Info* b) { return a->order < b->order; });
      for (const Info* e : sorted_)
        for (const OptionSpec* spec : e->options) {
          const auto same = std::find_if(options_.begin(), options_.end(),
                                         [&](const OptionSpec* o) { return o->key == spec->key; });
          if (same == options_.end())
            options_.push_back(spec);
          else if (**same != *spec)
            die(e->name, ("declares " + spec->key + " unlike the entries before it").c_str());
        }
    });
  }
  [[noreturn]] void die(const std::string& name, const char* what) const {
    std::fprintf(stderr, "herd: %s %s %s\n", what_, name.c_str(), what);
    std::abort();
  }

  const char* what_;
  std::vector<std::unique_ptr<Info>> entries_;
  std::vector<const Info*> sorted_;
  std::vector<const OptionSpec*> options_;
  std::once_flag once_;
  bool finished_ = false;
};

}  // namespace herd
