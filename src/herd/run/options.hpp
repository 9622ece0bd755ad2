#pragma once
// Every option herd understands, in one table (options.cpp: option_table()): the run layer's
// own options, and the knobs each algorithm declares beside its definition, assembled from the
// algorithm registry (algo/registry.hpp). The TOML reader, the key=value overrides,
// `herd run --help` and docs/configuration.md are all derived from that one table, so they
// cannot disagree.
#include <string>
#include <string_view>
#include <vector>

#include "herd/core/options.hpp"

namespace herd::run {

// The option descriptions are core's (herd/core/options.hpp): every layer declares options
// with them, and the run layer assembles the table.
using herd::OptionSpec;
using herd::Type;
using herd::Value;

struct SectionSpec {
  std::string name;  // "algo"
  std::string help;  // one line
};

// The sections in the order they are documented and written, and the options, grouped by
// section in that same order.
const std::vector<SectionSpec>& section_table();
const std::vector<OptionSpec>& option_table();

// nullptr when no option has this key.
const OptionSpec* find_option(std::string_view key);
// The option's spec; InvalidInput "<where>: unknown key '<key>'; did you mean <closest>?"
// (where may be empty).
const OptionSpec& option_or_throw(std::string_view key, std::string_view where);
// The closest known key by edit distance, or "" when nothing is reasonably close.
std::string closest_key(std::string_view key);
// The closest section name, or "".
std::string closest_section(std::string_view section);

// For `herd run --help`: every option by section, with type, default, allowed values and help.
std::string options_help();
// docs/configuration.md, byte for byte.
std::string options_markdown();

}  // namespace herd::run
