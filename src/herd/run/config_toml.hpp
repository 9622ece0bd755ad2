#pragma once
// A configuration from a TOML document held in memory (built by a caller rather than parsed
// from text: the Python module's nested dicts). The same reader as a file's, so the same
// checks and messages; `source_name` stands for the file in them. Separate from config.hpp so
// that only the callers that build documents include toml++.
#include <toml++/toml.h>

#include <string_view>

#include "herd/run/config.hpp"

namespace herd::run {

Config config_from_table(const toml::table& document, std::string_view source_name);

}  // namespace herd::run
