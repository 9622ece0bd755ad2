#pragma once
// Option descriptions: what one configurable value is (key, type, default, range, choices,
// help), how values are checked against it and how command-line text is read by it. Every
// layer can declare options with these; the run layer assembles them into the one option
// table (run/options.hpp) from which the TOML reader, `herd run --help` and
// docs/configuration.md are derived.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace herd {

using Value = std::variant<bool, std::int64_t, double, std::string>;
enum class Type { boolean, integer, number, string };  // in Value's order

struct OptionSpec {
  std::string key;  // "section.name", snake_case, stable: users script against it
  Type type = Type::string;
  Value default_value;
  // Numeric bounds (integer and number options); an exclusive bound is itself not allowed.
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
  std::vector<std::string> choices;  // string options: the allowed values (empty = any)
  // Choices that exist but not in this build (LibTorch's models without LibTorch), and why:
  // refused with that reason instead of as unknown names.
  std::vector<std::string> unbuilt_choices;
  std::string unbuilt_why;
  // String options that hold several items: a TOML array of strings is accepted and kept
  // as its items joined by ", " (the form a key=value override takes).
  bool list = false;
  std::string help;

  std::string_view section() const;  // "algo"
  std::string_view name() const;     // "workers"
  bool operator==(const OptionSpec&) const = default;
};

// Builds an OptionSpec in one readable expression: integer("algo.period", 8, "...").ge(1).
class OptionBuilder {
 public:
  explicit OptionBuilder(OptionSpec spec) : spec_(std::move(spec)) {}
  OptionBuilder ge(double v) const { return with_min(v, false); }
  OptionBuilder gt(double v) const { return with_min(v, true); }
  OptionBuilder le(double v) const { return with_max(v, false); }
  OptionBuilder lt(double v) const { return with_max(v, true); }
  OptionBuilder several() const;  // a list option (OptionSpec::list)
  // Values refused with `why` rather than as unknown (OptionSpec::unbuilt_choices).
  OptionBuilder unbuilt(std::vector<std::string> choices, std::string why) const;
  const OptionSpec& spec() const { return spec_; }
  operator OptionSpec() const { return spec_; }  // NOLINT: implicit by design, for tables

 private:
  OptionBuilder with_min(double v, bool exclusive) const;
  OptionBuilder with_max(double v, bool exclusive) const;
  OptionSpec spec_;
};

OptionBuilder boolean(std::string key, bool def, std::string help);
OptionBuilder integer(std::string key, std::int64_t def, std::string help);
OptionBuilder number(std::string key, double def, std::string help);
OptionBuilder text(std::string key, std::string def, std::string help);
OptionBuilder choice(std::string key, std::vector<std::string> choices, std::string def,
                     std::string help);

std::string_view type_name(Type type);  // "integer", ...
// The value as a TOML literal: true, 8, 0.1, 1e-05, "text" (strings escaped).
std::string to_toml_literal(const Value& value);
// The allowed range as text: "[0, 1)", ">= 1", "< 2"; "" when unbounded.
std::string range_text(const OptionSpec& spec);
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

// For "did you mean" suggestions: the Levenshtein distance, and whether a distance is close
// enough to `word` (typos up to about a third of the word).
std::size_t edit_distance(std::string_view a, std::string_view b);
bool close_enough(std::size_t distance, std::string_view word);

}  // namespace herd
