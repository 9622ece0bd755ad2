#include "herd/run/output.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "herd/core/error.hpp"
#include "herd/core/text.hpp"

namespace herd::run {

std::string to_json(const algo::MetricValue& v) {
  if (const auto* d = std::get_if<double>(&v)) {
    // JSON has no NaN or infinity: they are written as null.
    return std::isfinite(*d) ? fmt::format("{}", *d) : "null";
  }
  if (const auto* i = std::get_if<std::int64_t>(&v)) return fmt::format("{}", *i);
  if (const auto* s = std::get_if<std::string>(&v)) return quote(*s);
  return "null";
}

std::string to_json(const algo::MetricsRow& row) {
  std::string out = "{";
  for (std::size_t i = 0; i < row.fields.size(); ++i) {
    if (i > 0) out += ", ";
    out += quote(row.fields[i].first) + ": " + to_json(row.fields[i].second);
  }
  return out + "}";
}

JsonlSink::JsonlSink(const std::filesystem::path& path, bool append)
    : path_(path), file_(std::fopen(path.c_str(), append ? "a" : "w")) {
  if (file_ == nullptr)
    throw IoError(
        fmt::format("{}: cannot open for writing: {}", path.string(), std::strerror(errno)));
}

JsonlSink::~JsonlSink() {
  if (file_ != nullptr) std::fclose(file_);
}

void JsonlSink::record(const algo::MetricsRow& row) {
  const std::string line = to_json(row) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw IoError(
        fmt::format("{}: cannot append a metrics row: {}", path_.string(), std::strerror(errno)));
}

void keep_first_rows(const std::filesystem::path& path, std::int64_t rows) {
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("{}: cannot open for reading", path.string()));
  std::string kept, line;
  std::int64_t n = 0;
  while (n < rows && std::getline(in, line)) {
    kept += line + "\n";
    ++n;
  }
  if (n < rows)
    throw IoError(fmt::format("{}: has {} metric rows, but the checkpoint recorded {}",
                              path.string(), n, rows));
  write_file_atomically(path, kept);
}

}  // namespace herd::run
