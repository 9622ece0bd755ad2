#pragma once
// Text helpers shared by the writers of JSON (metrics, summaries) and TOML (resolved
// configurations).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herd {

// s in double quotes with ", \ and control characters escaped: a valid JSON string and a
// valid TOML basic string alike.
std::string quote(std::string_view s);

// One CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, a quote or
// a line break; as it is otherwise.
std::string csv_field(std::string_view s);
// One Markdown table cell: | escaped, line breaks as spaces.
std::string markdown_cell(std::string_view s);

// The items with `separator` between them.
std::string join(const std::vector<std::string>& items, std::string_view separator);

// s without the leading and trailing characters of `whitespace`.
std::string_view trim(std::string_view s, std::string_view whitespace = " \t");

// The items of a comma-separated list ("1,28,28" -> {"1", "28", "28"}; "" -> {}), each as a
// finite number: an item that is not one (or not wholly) is the nullopt at its place, for the
// caller's message, with the item's text in `items`.
struct NumberList {
  std::vector<std::string> items;
  std::vector<std::optional<double>> values;
};
NumberList parse_number_list(std::string_view text);

}  // namespace herd
