#pragma once
// Every option herd understands, declared once (options.cpp: option_table()). The TOML reader,
// the key=value overrides, `herd run --help` and docs/configuration.md are all derived from
// that one table, so they cannot disagree.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace herd::run {

using Value = std::variant<bool, std::int64_t, double, std::string>;
enum class Type { boolean, integer, number, string };

struct SectionSpec {
  std::string name;  // "algo"
  std::string help;  // one line
};

struct OptionSpec {
  std::string key;  // "section.name", snake_case, stable: users script against it
  Type type = Type::string;
  Value default_value;
  // Numeric bounds (integer and number options); an exclusive bound is itself not allowed.
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
  std::vector<std::string> choices;  // string options: the allowed values (empty = any)
  std::string help;

  std::string_view section() const;  // "algo"
  std::string_view name() const;     // "workers"
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

std::string_view type_name(Type type);  // "integer", ...
// The value as a TOML literal: true, 8, 0.1, 1e-05, "text" (strings escaped).
std::string to_toml_literal(const Value& value);
// Checks a value against its spec and returns it in the declared representation (an integer
// given for a number option becomes a double). InvalidInput names `where` (may be empty), the
// key, and what was expected: the type, the range, or the choices.
Value validate(const OptionSpec& spec, Value value, std::string_view where);
// The same wrong-type InvalidInput validate() throws, for values that are no Value at all
// (a TOML array or table); got: "an array".
[[noreturn]] void throw_wrong_type(const OptionSpec& spec, std::string_view got,
                                   std::string_view where);
// Parses command-line text by the declared type: true/false, integers, numbers (1e-3),
// strings with optional surrounding quotes; then validates it.
Value parse_value(const OptionSpec& spec, std::string_view text, std::string_view where);

// For `herd run --help`: every option by section, with type, default, allowed values and help.
std::string options_help();
// docs/configuration.md, byte for byte.
std::string options_markdown();

}  // namespace herd::run
