#include "herd/core/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "herd/core/error.hpp"
#include "herd/core/text.hpp"

namespace herd {
namespace {

OptionBuilder make(std::string key, Type type, Value def, std::string help) {
  OptionSpec spec;
  spec.key = std::move(key), spec.type = type, spec.default_value = std::move(def);
  spec.help = std::move(help);
  return OptionBuilder(std::move(spec));
}

[[noreturn]] void fail(std::string_view where, const std::string& message) {
  throw InvalidInput(where.empty() ? message : fmt::format("{}: {}", where, message));
}

std::string_view with_article(Type type) {
  switch (type) {
    case Type::boolean:
      return "a boolean (true or false)";
    case Type::integer:
      return "an integer";
    case Type::number:
      return "a number";
    case Type::string:
      return "a string";
  }
  return "";
}

std::string describe(const Value& value) {
  static constexpr std::string_view kinds[] = {"a boolean", "an integer", "a number", "a string"};
  return fmt::format("{} {}", kinds[value.index()], to_toml_literal(value));
}

bool is_interval(const OptionSpec& spec) {
  return spec.min && spec.max;
}

bool in_range(const OptionSpec& spec, double x) {
  if (spec.min && (spec.min_exclusive ? !(x > *spec.min) : !(x >= *spec.min))) return false;
  if (spec.max && (spec.max_exclusive ? !(x < *spec.max) : !(x <= *spec.max))) return false;
  return true;
}

template <class T>
std::optional<T> parse_exactly(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  T out{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return out;
}

}  // namespace

std::string_view OptionSpec::section() const {
  return std::string_view(key).substr(0, key.find('.'));
}
std::string_view OptionSpec::name() const {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? std::string_view(key) : std::string_view(key).substr(dot + 1);
}

OptionBuilder OptionBuilder::with_min(double v, bool exclusive) const {
  OptionBuilder o = *this;
  o.spec_.min = v, o.spec_.min_exclusive = exclusive;
  return o;
}
OptionBuilder OptionBuilder::several() const {
  OptionBuilder o = *this;
  o.spec_.list = true;
  return o;
}
OptionBuilder OptionBuilder::unbuilt(std::vector<std::string> choices, std::string why) const {
  OptionBuilder o = *this;
  o.spec_.unbuilt_choices = std::move(choices);
  o.spec_.unbuilt_why = std::move(why);
  return o;
}
OptionBuilder OptionBuilder::with_max(double v, bool exclusive) const {
  OptionBuilder o = *this;
  o.spec_.max = v, o.spec_.max_exclusive = exclusive;
  return o;
}

OptionBuilder boolean(std::string key, bool def, std::string help) {
  return make(std::move(key), Type::boolean, def, std::move(help));
}
OptionBuilder integer(std::string key, std::int64_t def, std::string help) {
  return make(std::move(key), Type::integer, def, std::move(help));
}
OptionBuilder number(std::string key, double def, std::string help) {
  return make(std::move(key), Type::number, def, std::move(help));
}
OptionBuilder text(std::string key, std::string def, std::string help) {
  return make(std::move(key), Type::string, std::move(def), std::move(help));
}
OptionBuilder choice(std::string key, std::vector<std::string> choices, std::string def,
                     std::string help) {
  OptionSpec spec = make(std::move(key), Type::string, std::move(def), std::move(help));
  spec.choices = std::move(choices);
  return OptionBuilder(std::move(spec));
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool close_enough(std::size_t distance, std::string_view word) {
  return distance <= std::max<std::size_t>(2, word.size() / 3);
}

std::string_view type_name(Type type) {
  switch (type) {
    case Type::boolean:
      return "boolean";
    case Type::integer:
      return "integer";
    case Type::number:
      return "number";
    case Type::string:
      return "string";
  }
  return "";
}

std::string to_toml_literal(const Value& value) {
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int64_t>(&value)) return fmt::format("{}", *i);
  if (const double* d = std::get_if<double>(&value)) {
    std::string s = fmt::format("{}", *d);  // shortest text that reads back exactly
    // TOML reads "1" as an integer; keep numbers recognisably floating point.
    if (s.find_first_not_of("-0123456789") == std::string::npos) s += ".0";
    return s;
  }
  return quote(std::get<std::string>(value));
}

std::string range_text(const OptionSpec& spec) {
  if (is_interval(spec)) {
    return fmt::format("{}{}, {}{}", spec.min_exclusive ? '(' : '[', *spec.min, *spec.max,
                       spec.max_exclusive ? ')' : ']');
  }
  if (spec.min) return fmt::format("{} {}", spec.min_exclusive ? ">" : ">=", *spec.min);
  if (spec.max) return fmt::format("{} {}", spec.max_exclusive ? "<" : "<=", *spec.max);
  return "";
}

void throw_wrong_type(const OptionSpec& spec, std::string_view got, std::string_view where) {
  fail(where, fmt::format("{}: expected {}, got {}", spec.key, with_article(spec.type), got));
}

Value validate(const OptionSpec& spec, Value value, std::string_view where) {
  if (spec.type == Type::number) {
    if (const auto* i = std::get_if<std::int64_t>(&value)) value = static_cast<double>(*i);
  }
  // Type lists its alternatives in Value's order.
  if (value.index() != static_cast<std::size_t>(spec.type)) {
    throw_wrong_type(spec, describe(value), where);
  }
  if (const double* d = std::get_if<double>(&value); d && !std::isfinite(*d)) {
    fail(where, fmt::format("{} = {} is not a finite number", spec.key, to_toml_literal(value)));
  }
  if (spec.type == Type::integer || spec.type == Type::number) {
    const double x = spec.type == Type::integer ? static_cast<double>(std::get<std::int64_t>(value))
                                                : std::get<double>(value);
    if (!in_range(spec, x)) {
      fail(where,
           fmt::format("{} = {} is out of range: must be {}{}", spec.key, to_toml_literal(value),
                       is_interval(spec) ? "in " : "", range_text(spec)));
    }
  }
  if (!spec.choices.empty()) {
    const auto& s = std::get<std::string>(value);
    if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) {
      if (std::find(spec.unbuilt_choices.begin(), spec.unbuilt_choices.end(), s) !=
          spec.unbuilt_choices.end())
        fail(where, fmt::format("{} = {} is not in this build: {}", spec.key,
                                to_toml_literal(value), spec.unbuilt_why));
      const auto closest = std::min_element(
          spec.choices.begin(), spec.choices.end(),
          [&](const auto& a, const auto& b) { return edit_distance(s, a) < edit_distance(s, b); });
      const bool suggest = close_enough(edit_distance(s, *closest), s);
      fail(where, fmt::format("{} = {} is not one of: {}{}", spec.key, to_toml_literal(value),
                              join(spec.choices, ", "),
                              suggest ? fmt::format("; did you mean {}?", *closest) : ""));
    }
  }
  return value;
}

Value parse_value(const OptionSpec& spec, std::string_view text, std::string_view where) {
  text = trim(text);
  const std::string got = fmt::format("'{}'", text);
  switch (spec.type) {
    case Type::boolean:
      if (text == "true") return true;
      if (text == "false") return false;
      throw_wrong_type(spec, got, where);
    case Type::integer:
      if (const auto i = parse_exactly<std::int64_t>(text)) return validate(spec, *i, where);
      throw_wrong_type(spec, got, where);
    case Type::number:
      if (const auto d = parse_exactly<double>(text)) return validate(spec, *d, where);
      throw_wrong_type(spec, got, where);
    case Type::string:
      if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
          text.back() == text.front()) {
        text = text.substr(1, text.size() - 2);
      }
      return validate(spec, std::string(text), where);
  }
  throw_wrong_type(spec, got, where);
}

}  // namespace herd
