#pragma once
// Text helpers shared by the writers of JSON (metrics, summaries) and TOML (resolved
// configurations).
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

}  // namespace herd
