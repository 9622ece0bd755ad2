#include "herd/run/output.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <vector>

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

namespace {

namespace fs = std::filesystem;
constexpr const char* lock_name = ".herd.lock";

// What a directory holds, the lock file aside.
std::vector<fs::path> contents(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename() != lock_name) out.push_back(entry.path());
  return out;
}

bool holds_herd_output(const fs::path& dir) {
  for (const char* name : {"config.toml", "metrics.jsonl", "summary.json", "sweep.json"})
    if (fs::exists(dir / name)) return true;
  return false;
}

}  // namespace

OutputClaim::OutputClaim(const fs::path& dir, Mode mode, bool force) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw IoError(
        fmt::format("{}: cannot create the output directory: {}", dir.string(), ec.message()));
  const fs::path lock = dir / lock_name;
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw IoError(fmt::format("{}: cannot create: {}", lock.string(), std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw InvalidInput(fmt::format(
        "{}: another herd is writing to this directory now; wait for it, or choose another "
        "--out",
        dir.string()));
  }
  if (mode == Mode::resume) return;
  const auto held = contents(dir);
  if (held.empty()) return;
  try {
    if (!holds_herd_output(dir))
      throw InvalidInput(fmt::format(
          "{}: the directory is not empty and holds no herd run (it holds {}{}); herd writes "
          "runs into new or empty directories: choose another --out",
          dir.string(), held.front().filename().string(),
          held.size() > 1 ? fmt::format(" and {} more", held.size() - 1) : ""));
    if (!force)
      throw InvalidInput(fmt::format(
          "{}: holds an earlier run; choose another --out, replace it with --force, or (if it "
          "has a checkpoint) continue it with herd run --resume",
          dir.string()));
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
  for (const fs::path& p : held) fs::remove_all(p);  // --force: the earlier run goes
}

OutputClaim::~OutputClaim() {
  if (fd_ >= 0) ::close(fd_);
}

fs::path unused_directory(const fs::path& preferred) {
  if (!fs::exists(preferred) || contents(preferred).empty()) return preferred;
  for (int i = 2;; ++i) {
    fs::path candidate = preferred;
    candidate += fmt::format("-{}", i);
    if (!fs::exists(candidate)) return candidate;
  }
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
