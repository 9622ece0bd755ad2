#pragma once
// What a run leaves in its output directory, written so that a crash never leaves a
// half-written file where a complete one is expected: config.toml and summary.json go to a
// temporary name, synced and renamed (core/durable_file.hpp); metrics.jsonl is appended one
// complete, flushed line per evaluation.
#include <cstdint>
#include <filesystem>
#include <string>

#include "herd/algo/metrics.hpp"
#include "herd/core/durable_file.hpp"  // write_file_atomically

namespace herd::run {

std::string to_json(const algo::MetricValue& v);
std::string to_json(const algo::MetricsRow& row);  // one line, no newline

// metrics.jsonl: one JSON object per evaluation; a resumed run appends to it. Each row is
// written whole or not at all: a failed write (a full disk) cuts the file back to the rows
// before it, then throws IoError naming the file.
class JsonlSink final : public algo::MetricsSink {
 public:
  explicit JsonlSink(const std::filesystem::path& path, bool append = false);
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;
  void record(const algo::MetricsRow& row) override;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t complete_ = 0;  // bytes of whole rows
};

// A run, comparison or sweep directory held for writing: created when missing, locked with
// flock on DIR/.herd.lock so that a second herd writing there is refused (the lock goes with
// the process, however it ends), and checked for what it holds. A fresh run is refused where
// the directory holds an earlier herd run (unless `force`: then its contents are removed) or
// anything else (always: herd does not write into a directory of other files); a resumed run
// needs the run it continues. InvalidInput naming the directory and the way out.
class OutputClaim {
 public:
  enum class Mode { fresh, resume };
  OutputClaim(const std::filesystem::path& dir, Mode mode, bool force);
  ~OutputClaim();
  OutputClaim(const OutputClaim&) = delete;
  OutputClaim& operator=(const OutputClaim&) = delete;

 private:
  int fd_ = -1;
};

// `preferred` when it does not exist or is empty, else the first of preferred-2, -3, ... that
// does not exist: the default output directory never replaces an earlier run.
std::filesystem::path unused_directory(const std::filesystem::path& preferred);

// Keeps the first `rows` lines of a metrics file (atomically): a resumed run continues after
// the rows its checkpoint had recorded. IoError when the file has fewer.
void keep_first_rows(const std::filesystem::path& path, std::int64_t rows);

}  // namespace herd::run
