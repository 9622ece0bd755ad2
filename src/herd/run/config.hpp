#pragma once
// A resolved configuration: one value for every option of option_table(), read from TOML and
// key=value overrides, validated against the table, plus the [[compare]] entries of a
// comparison. Errors are InvalidInput naming the file, line and key at fault.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "herd/algo/settings.hpp"
#include "herd/model/registry.hpp"
#include "herd/optim/optimizer.hpp"
#include "herd/run/options.hpp"

namespace herd::run {

// One [[compare]] table: a labelled set of settings applied on top of the base config.
struct CompareEntry {
  std::string label;
  std::vector<std::pair<std::string, Value>> overrides;  // validated, in option_table() order
  bool operator==(const CompareEntry&) const = default;
};

class Config {
 public:
  Config();  // every option at its default
  static Config defaults() { return Config(); }
  // InvalidInput when the file is missing or invalid; IoError when it cannot be read.
  static Config from_toml_file(const std::string& path);
  // source_name stands for the file in error messages.
  static Config from_toml_string(std::string_view text, std::string_view source_name);

  // "algo.lr=0.05": the value is read by the option's declared type (see parse_value).
  void apply_override(std::string_view assignment);
  void set(std::string_view key, Value value);  // validated like a value from a file

  // Typed access. Asking for an unknown key or the wrong type is a programming error
  // (std::logic_error), not bad input.
  const Value& get(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  double get_number(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  // Whether a file, an override, set() or a compare entry gave the option a value.
  bool is_set_explicitly(std::string_view key) const;

  const std::vector<CompareEntry>& compare() const { return compare_; }
  // This config with the entry's settings applied (they win over earlier overrides), and no
  // compare entries of its own.
  Config variant(const CompareEntry& entry) const;
  // The variant of the entry labelled `label`; InvalidInput listing the labels when none is.
  Config variant(std::string_view label) const;
  // Sets `key` in compare entry `index` (validated like set()): a tuned value for one entry.
  void set_in_entry(std::size_t index, std::string_view key, Value value);
  // The data files as absolute paths, so that this config reads the same files from wherever
  // it is written (a run's config.toml, a tuned configuration).
  void make_data_paths_absolute();
  // A file option that is not data (model.path): absolute, a relative one taken relative to
  // the configuration file's directory (the working directory when not from a file).
  std::filesystem::path config_path(std::string_view key) const;

  // Rules that involve several options: the run layer's own (a stopping rule, a training
  // file for libsvm) and those of the configured model and algorithm (their settings'
  // resolve(), e.g. model.smoothness >= model.mu, algo.global_period a multiple of algo.period
  // with groups), checked against the job this configuration describes. Call once all overrides are
  // applied, on each variant of a comparison.
  void check() const;

  // Settings given explicitly that do nothing in this configuration, each with why: an
  // option only other algorithms or models read, a network or fault setting off the
  // simulator. For warnings (run_all prints them); nothing here is an error.
  std::vector<std::string> ineffective_settings() const;

  // The file or source name this config was read from; "" for defaults.
  const std::string& source() const { return source_; }
  // data.train or data.test as a path to open: "" stays empty, absolute paths stay as they
  // are, relative ones are taken from data.dir; an empty data.dir means $HERD_DATA when set,
  // else the configuration file's directory (the working directory for non-file configs).
  std::filesystem::path data_path(std::string_view key) const;
  // The directory relative data paths are taken from (data.dir, $HERD_DATA, or the
  // configuration file's directory, as data_path).
  std::filesystem::path data_dir() const;

  // Every option, by section, then the compare entries: reading it back gives an equal Config.
  std::string to_toml() const;
  // The options given explicitly, by section, then the compare entries: reading it back gives
  // an equal Config with the same options explicit. What a configuration that runs again
  // must write: an option left unset may mean "decided per algorithm" (algo.elastic_alpha =
  // 0.9 / K for EASGD), which the full dump would pin to its default for every entry.
  std::string to_toml_as_given() const;

  // Equal values and compare entries (where they came from does not matter).
  bool operator==(const Config& other) const {
    return values_ == other.values_ && compare_ == other.compare_;
  }

 private:
  friend struct TomlDocumentReader;  // config.cpp: a parsed document (config_toml.hpp)
  std::size_t index_of(std::string_view key) const;  // std::logic_error when unknown
  std::string options_and_entries_toml(bool only_explicit) const;

  std::vector<Value> values_;  // parallel to option_table()
  std::vector<bool> explicit_;
  std::vector<CompareEntry> compare_;
  std::string source_;
  std::filesystem::path base_dir_;  // the config file's directory, empty when not from a file
};

// The values of the options the configured algorithm reads (algo/registry.hpp) that were
// set explicitly: what JobSpec::options takes. The others keep their declared defaults.
algo::OptionValues algorithm_options(const Config& config);
// The same for the configured model's options (model/registry.hpp).
OptionValues model_options(const Config& config);
// What the model's settings depend on beyond their options: workers, batch, seed (no data).
model::ModelContext model_context(const Config& config);
// optim.name, or when it is not set the algorithm's own rule if it has one (eamsgd:
// nesterov); and the local optimizer of optim.* with that rule.
std::string optim_name(const Config& config);
optim::OptimizerSpec local_optimizer(const Config& config);

}  // namespace herd::run
