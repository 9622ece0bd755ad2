#include "herd/run/config.hpp"

#include "herd/run/config_toml.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "herd/algo/registry.hpp"
#include "herd/algo/target.hpp"
#include "herd/core/error.hpp"
#include "herd/core/text.hpp"
#include "herd/model/registry.hpp"
#include "herd/run/cluster.hpp"

namespace herd::run {
namespace {

constexpr std::string_view compare_key = "compare";
constexpr std::string_view label_key = "label";

std::size_t index_in_table(const OptionSpec& spec) {
  return static_cast<std::size_t>(&spec - option_table().data());
}

std::string location(std::string_view source, const toml::source_region& region) {
  if (region.begin.line == 0) return std::string(source);
  return fmt::format("{}:{}:{}", source, region.begin.line, region.begin.column);
}

bool is_section(std::string_view name) {
  const auto& sections = section_table();
  return std::any_of(sections.begin(), sections.end(),
                     [&](const SectionSpec& s) { return s.name == name; });
}

std::string describe_node(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "a value of another type";
  }
}

Value node_to_value(const OptionSpec& spec, const toml::node& node, std::string_view where) {
  switch (node.type()) {
    case toml::node_type::boolean:
      return validate(spec, node.as_boolean()->get(), where);
    case toml::node_type::integer:
      return validate(spec, node.as_integer()->get(), where);
    case toml::node_type::floating_point:
      return validate(spec, node.as_floating_point()->get(), where);
    case toml::node_type::string:
      return validate(spec, node.as_string()->get(), where);
    case toml::node_type::array: {
      if (!spec.list) break;
      std::vector<std::string> items;
      for (const toml::node& item : *node.as_array()) {
        if (!item.is_string())
          throw_wrong_type(spec, "an array with " + describe_node(item), where);
        items.push_back(item.as_string()->get());
      }
      return validate(spec, join(items, ", "), where);
    }
    default:
      break;
  }
  throw_wrong_type(spec, describe_node(node), where);
}

// Reads the option sections of `table` (the document, or one [[compare]] entry), calling
// on_value(spec, value) for each option. `context` goes into messages after the location;
// keys listed in `skip` are the caller's.
template <class OnValue>
void read_sections(const toml::table& table, std::string_view source, std::string_view context,
                   std::initializer_list<std::string_view> skip, OnValue&& on_value) {
  for (auto&& [key, node] : table) {
    const std::string_view name = key.str();
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    const std::string where = location(source, key.source()) + std::string(context);
    if (!is_section(name)) {
      if (!node.is_table()) {
        const std::string suggestion = closest_key(name);
        throw InvalidInput(
            fmt::format("{}: unknown key {} (options belong in [section] tables){}", where, name,
                        suggestion.empty() ? "" : fmt::format("; did you mean {}?", suggestion)));
      }
      const std::string closest = closest_section(name);
      std::vector<std::string> names;
      for (const auto& s : section_table()) names.push_back(s.name);
      throw InvalidInput(
          fmt::format("{}: unknown section [{}]{}; the sections are {}", where, name,
                      closest.empty() ? "" : fmt::format("; did you mean [{}]?", closest),
                      fmt::join(names, ", ")));
    }
    const toml::table* options = node.as_table();
    if (!options) {
      throw InvalidInput(
          fmt::format("{}: {} is a section: write [{}] or {} = {{ key = value }}, "
                      "not {}",
                      where, name, name, name, describe_node(node)));
    }
    for (auto&& [option_key, value] : *options) {
      const std::string full_key = fmt::format("{}.{}", name, option_key.str());
      const std::string option_where = location(source, option_key.source()) + std::string(context);
      const OptionSpec& spec = option_or_throw(full_key, option_where);
      on_value(spec, node_to_value(spec, value, option_where));
    }
  }
}

std::vector<CompareEntry> read_compare(const toml::node& node, std::string_view source) {
  const toml::array* entries = node.as_array();
  if (!entries || !entries->is_array_of_tables()) {
    throw InvalidInput(fmt::format(
        "{}: compare must be an array of tables: write each entry as [[compare]] with a label",
        location(source, node.source())));
  }
  std::vector<CompareEntry> out;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const toml::table& table = *entries->get(i)->as_table();
    const std::string entry_where = location(source, table.source());
    const toml::node* label = table.get(label_key);
    if (!label || !label->is_string() || label->as_string()->get().empty()) {
      throw InvalidInput(fmt::format("{}: [[compare]] entry {} needs a non-empty label = \"...\"",
                                     entry_where, i + 1));
    }
    CompareEntry entry;
    entry.label = label->as_string()->get();
    for (std::size_t j = 0; j < out.size(); ++j) {
      if (out[j].label == entry.label) {
        throw InvalidInput(fmt::format("{}: [[compare]] entries {} and {} share the label \"{}\"",
                                       entry_where, j + 1, i + 1, entry.label));
      }
    }
    const std::string context = fmt::format(": [[compare]] entry {} (\"{}\")", i + 1, entry.label);
    read_sections(table, source, context, {label_key}, [&](const OptionSpec& spec, Value value) {
      entry.overrides.emplace_back(spec.key, std::move(value));
    });
    std::sort(entry.overrides.begin(), entry.overrides.end(), [](const auto& a, const auto& b) {
      return index_in_table(*find_option(a.first)) < index_in_table(*find_option(b.first));
    });
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

Config::Config() : explicit_(option_table().size(), false) {
  for (const auto& spec : option_table()) values_.push_back(spec.default_value);
}

// The reader of a parsed document, shared by TOML text and the documents that callers build
// in memory (config_toml.hpp); a friend of Config.
struct TomlDocumentReader {
  static Config read(const toml::table& document, std::string_view source_name) {
    Config config;
    config.source_ = source_name;
    read_sections(document, source_name, "", {compare_key}, [&](const OptionSpec& spec, Value v) {
      const std::size_t i = index_in_table(spec);
      config.values_[i] = std::move(v);
      config.explicit_[i] = true;
    });
    if (const toml::node* compare = document.get(compare_key)) {
      config.compare_ = read_compare(*compare, source_name);
    }
    return config;
  }
};

Config config_from_table(const toml::table& document, std::string_view source_name) {
  return TomlDocumentReader::read(document, source_name);
}

Config Config::from_toml_string(std::string_view text, std::string_view source_name) {
  // Said by name: the parser would report the first byte as invalid UTF-8.
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))
    throw InvalidInput(fmt::format(
        "{}: the file is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as "
        "UTF-8",
        source_name));
  toml::table document;
  try {
    document = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw InvalidInput(fmt::format("{}: TOML syntax error: {}", location(source_name, e.source()),
                                   e.description()));
  }
  return config_from_table(document, source_name);
}

Config Config::from_toml_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw InvalidInput(fmt::format("{}: configuration file does not exist", path));
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw InvalidInput(fmt::format("{}: is a directory, not a configuration file", path));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof())
    throw IoError(fmt::format("{}: cannot read the configuration file", path));
  if (text.str().find_first_not_of(" \t\r\n") == std::string::npos)
    throw InvalidInput(fmt::format(
        "{}: the configuration file is empty; write the settings of a run into it (`herd "
        "config` lists them, examples/ has complete ones)",
        path));
  Config config = from_toml_string(text.str(), path);
  config.base_dir_ = std::filesystem::absolute(path).parent_path();
  return config;
}

void Config::apply_override(std::string_view assignment) {
  const std::string where = fmt::format("override '{}'", assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    throw InvalidInput(fmt::format("{}: expected section.key=value", where));
  }
  const OptionSpec& spec = option_or_throw(trim(assignment.substr(0, eq)), where);
  const std::size_t i = index_in_table(spec);
  values_[i] = parse_value(spec, assignment.substr(eq + 1), where);
  explicit_[i] = true;
}

void Config::set(std::string_view key, Value value) {
  const OptionSpec& spec = option_or_throw(key, "");
  const std::size_t i = index_in_table(spec);
  values_[i] = validate(spec, std::move(value), "");
  explicit_[i] = true;
}

std::size_t Config::index_of(std::string_view key) const {
  const OptionSpec* spec = find_option(key);
  if (!spec) throw std::logic_error(fmt::format("Config: no option named {}", key));
  return index_in_table(*spec);
}

const Value& Config::get(std::string_view key) const {
  return values_[index_of(key)];
}

namespace {
template <class T>
const T& typed(const Value& value, std::string_view key) {
  if (const T* v = std::get_if<T>(&value)) return *v;
  throw std::logic_error(fmt::format("Config: option {} read as the wrong type", key));
}
}  // namespace

bool Config::get_bool(std::string_view key) const {
  return typed<bool>(get(key), key);
}
std::int64_t Config::get_int(std::string_view key) const {
  return typed<std::int64_t>(get(key), key);
}
double Config::get_number(std::string_view key) const {
  return typed<double>(get(key), key);
}
const std::string& Config::get_string(std::string_view key) const {
  return typed<std::string>(get(key), key);
}
bool Config::is_set_explicitly(std::string_view key) const {
  return explicit_[index_of(key)];
}

Config Config::variant(const CompareEntry& entry) const {
  Config out = *this;
  out.compare_.clear();
  for (const auto& [key, value] : entry.overrides) out.set(key, value);
  return out;
}

Config Config::variant(std::string_view label) const {
  std::vector<std::string> labels;
  for (const CompareEntry& entry : compare_) {
    if (entry.label == label) return variant(entry);
    labels.push_back(quote(entry.label));
  }
  throw InvalidInput(fmt::format("{}: no [[compare]] entry is labelled {}{}",
                                 source_.empty() ? "configuration" : source_, quote(label),
                                 labels.empty() ? std::string("; it has no [[compare]] entries")
                                                : "; the labels are " + join(labels, ", ")));
}

void Config::set_in_entry(std::size_t index, std::string_view key, Value value) {
  CompareEntry& entry = compare_.at(index);
  const OptionSpec& spec = option_or_throw(key, "[[compare]] \"" + entry.label + "\"");
  value = validate(spec, std::move(value), entry.label);
  const auto it = std::find_if(entry.overrides.begin(), entry.overrides.end(),
                               [&](const auto& kv) { return kv.first == spec.key; });
  if (it != entry.overrides.end()) {
    it->second = std::move(value);
    return;
  }
  entry.overrides.emplace_back(spec.key, std::move(value));
  std::sort(entry.overrides.begin(), entry.overrides.end(), [](const auto& a, const auto& b) {
    return index_in_table(*find_option(a.first)) < index_in_table(*find_option(b.first));
  });
}

void Config::make_data_paths_absolute() {
  for (const char* key : {"data.train", "data.test", "data.train_labels", "data.test_labels"})
    if (!get_string(key).empty())
      set(key, std::filesystem::absolute(data_path(key)).lexically_normal().string());
  if (find_option("model.path") && !get_string("model.path").empty())
    set("model.path", config_path("model.path").string());
}

std::filesystem::path Config::config_path(std::string_view key) const {
  const std::filesystem::path file = get_string(key);
  if (file.empty() || file.is_absolute()) return file;
  return std::filesystem::absolute(base_dir_.empty() ? file : base_dir_ / file).lexically_normal();
}

std::vector<std::string> Config::ineffective_settings() const {
  std::vector<std::string> out;
  const std::string algorithm = get_string("algo.name"), model = get_string("model.name");
  // Explicit and not the default: a resolved config.toml lists every option at its value.
  const auto given = [&](const OptionSpec& spec) {
    return is_set_explicitly(spec.key) && !(get(spec.key) == spec.default_value);
  };
  for (const OptionSpec& spec : option_table()) {
    if (!given(spec)) continue;
    const bool model_option = spec.section() == "model";
    const std::vector<std::string> readers =
        model_option ? model::models_reading(spec.key) : algo::algorithms_reading(spec.key);
    const std::string& chosen = model_option ? model : algorithm;
    if (!readers.empty() && std::find(readers.begin(), readers.end(), chosen) == readers.end())
      out.push_back(fmt::format("{} has no effect: {} = \"{}\" does not read it (read by {})",
                                spec.key, model_option ? "model.name" : "algo.name", chosen,
                                join(readers, ", ")));
  }
  if (get_string("run.runtime") != "sim") {
    for (const char* key :
         {"cluster.latency", "cluster.bandwidth", "cluster.node_size", "cluster.intra_latency",
          "cluster.intra_bandwidth", "cluster.fault_rank"})
      if (given(*find_option(key)))
        out.push_back(
            fmt::format("{} has no effect: the network and fault models are the sim "
                        "runtime's, and run.runtime = \"{}\"",
                        key, get_string("run.runtime")));
  }
  return out;
}

void Config::check() const {
  const std::string where = source_.empty() ? "configuration" : source_;
  const model::ModelInfo& model = model::model_or_throw(get_string("model.name"));
  if (model.needs_data && get_string("data.format") == "libsvm" &&
      get_string("data.train").empty()) {
    throw InvalidInput(
        fmt::format("{}: data.format = \"libsvm\" needs data.train (the training file)", where));
  }
  // Targets are checked here, before anything is written (unknown metric, bad syntax).
  const auto stop_targets = algo::parse_targets(get_string("stop.target"), where + ": stop.target");
  algo::parse_targets(get_string("eval.target"), where + ": eval.target");
  if (get_int("stop.steps") == 0 && get_number("stop.epochs") == 0 &&
      get_number("stop.time") == 0 && get_number("stop.target_loss") == 0 &&
      get_number("stop.target_suboptimality") == 0 && stop_targets.empty()) {
    throw InvalidInput(
        fmt::format("{}: nothing would stop the run: set stop.steps, stop.epochs, stop.time, "
                    "stop.target, stop.target_loss or stop.target_suboptimality",
                    where));
  }
  // On the simulator time is virtual: without modelled compute or network time it stays 0,
  // and a time limit would never end the run.
  const bool frozen_clock =
      get_string("run.runtime") == "sim" && get_string("cluster.compute_times").empty() &&
      get_number("cluster.latency") == 0 && get_number("cluster.bandwidth") == 0;
  if (frozen_clock && get_number("stop.time") > 0)
    throw InvalidInput(fmt::format(
        "{}: stop.time = {} on the sim runtime, but nothing moves its virtual clock (no "
        "cluster.compute_times, cluster.latency or cluster.bandwidth): set compute times, or "
        "stop by stop.steps",
        where, get_number("stop.time")));
  // The model's and the algorithm's rules (their settings' resolve()), against the job this
  // configuration describes.
  try {
    const int workers = int(get_int("algo.workers"));
    model.check(model_options(*this), model_context(*this));
    const std::vector<double> tau =
        worker_compute_times(*this, workers, std::uint64_t(get_int("run.seed")));
    network_model(*this, workers, false);  // cluster.node_size and the intra-node link
    algo::prepare_algorithm(
        get_string("algo.name"), algorithm_options(*this),
        {.workers = workers, .optimizer = local_optimizer(*this), .worker_tau = tau});
  } catch (const InvalidInput& e) {
    throw InvalidInput(fmt::format("{}: {}", where, e.what()));
  }
}

namespace {

OptionValues explicit_values(const Config& config, const std::vector<const OptionSpec*>& specs) {
  OptionValues values;
  for (const OptionSpec* spec : specs)
    if (config.is_set_explicitly(spec->key)) values[spec->key] = config.get(spec->key);
  return values;
}

}  // namespace

algo::OptionValues algorithm_options(const Config& config) {
  return explicit_values(config, algo::algorithm_or_throw(config.get_string("algo.name")).options);
}

OptionValues model_options(const Config& config) {
  OptionValues values =
      explicit_values(config, model::model_or_throw(config.get_string("model.name")).options);
  // A model's file (the torch models' model.path) is relative to the configuration file.
  if (const auto it = values.find("model.path"); it != values.end())
    it->second = config.config_path("model.path").string();
  return values;
}

model::ModelContext model_context(const Config& config) {
  return {.workers = int(config.get_int("algo.workers")),
          .batch = std::size_t(config.get_int("algo.batch")),
          .seed = std::uint64_t(config.get_int("run.seed"))};
}

std::string optim_name(const Config& config) {
  const auto& algorithm = algo::algorithm_or_throw(config.get_string("algo.name"));
  if (!config.is_set_explicitly("optim.name") && algorithm.optim_name) return *algorithm.optim_name;
  return config.get_string("optim.name");
}

optim::OptimizerSpec local_optimizer(const Config& config) {
  optim::OptimizerSpec spec;
  spec.rule = optim::parse_rule(optim_name(config));
  spec.momentum = float(config.get_number("optim.momentum"));
  spec.weight_decay = float(config.get_number("optim.weight_decay"));
  return spec;
}

std::filesystem::path Config::data_dir() const {
  std::filesystem::path base = get_string("data.dir");
  if (base.empty()) {
    const char* env = std::getenv("HERD_DATA");
    base = env && *env ? std::filesystem::path(env) : base_dir_;
  } else if (base.is_relative()) {
    base = base_dir_ / base;  // a relative data.dir is relative to the configuration file
  }
  return base;
}

std::filesystem::path Config::data_path(std::string_view key) const {
  const std::filesystem::path file = get_string(key);
  if (file.empty() || file.is_absolute()) return file;
  return (data_dir() / file).lexically_normal();
}

std::string Config::to_toml() const {
  return "# herd configuration, fully resolved: every option with the value in effect.\n"
         "# Options and their meaning: docs/configuration.md or `herd run --help`.\n" +
         options_and_entries_toml(/*only_explicit=*/false);
}

std::string Config::to_toml_as_given() const {
  return "# herd configuration: the options given; every other one has its default.\n"
         "# Options and their meaning: docs/configuration.md or `herd run --help`.\n" +
         options_and_entries_toml(/*only_explicit=*/true);
}

std::string Config::options_and_entries_toml(bool only_explicit) const {
  std::string out;
  const auto& table = option_table();
  for (const auto& section : section_table()) {
    std::string lines;
    for (std::size_t i = 0; i < table.size(); ++i) {
      if (table[i].section() != section.name || (only_explicit && !explicit_[i])) continue;
      lines += fmt::format("{} = {}\n", table[i].name(), to_toml_literal(values_[i]));
    }
    if (!lines.empty() || !only_explicit) out += fmt::format("\n[{}]\n{}", section.name, lines);
  }
  for (const auto& entry : compare_) {
    out += fmt::format("\n[[compare]]\nlabel = {}\n", to_toml_literal(entry.label));
    for (const auto& [key, value] : entry.overrides) {
      out += fmt::format("{} = {}\n", key, to_toml_literal(value));
    }
  }
  return out;
}

}  // namespace herd::run
