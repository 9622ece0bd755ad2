#pragma once
// What a run leaves in its output directory, written so that a crash never leaves a
// half-written file where a complete one is expected: config.toml and summary.json go to a
// temporary name and are renamed; metrics.jsonl is appended one complete, flushed line per
// evaluation.
#include <cstdio>
#include <filesystem>
#include <string>

#include "herd/algo/metrics.hpp"

namespace herd::run {

// Writes `text` to path atomically (temporary file in the same directory, then rename).
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

std::string to_json(const algo::MetricValue& v);
std::string to_json(const algo::MetricsRow& row);  // one line, no newline

// metrics.jsonl: one JSON object per evaluation.
class JsonlSink final : public algo::MetricsSink {
 public:
  explicit JsonlSink(const std::filesystem::path& path);
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;
  void record(const algo::MetricsRow& row) override;

 private:
  std::filesystem::path path_;
  std::FILE* file_;
};

}  // namespace herd::run
