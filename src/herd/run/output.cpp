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
    : path_(path),
      fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
                 0644)) {
  if (fd_ < 0)
    throw IoError(
        fmt::format("{}: cannot open for writing: {}", path.string(), std::strerror(errno)));
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  complete_ = end > 0 ? std::uint64_t(end) : 0;
}

JsonlSink::~JsonlSink() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlSink::record(const algo::MetricsRow& row) {
  const std::string line = to_json(row) + "\n";
  for (std::size_t done = 0; done < line.size();) {
    const ssize_t wrote = ::write(fd_, line.data() + done, line.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      const int error = wrote < 0 ? errno : ENOSPC;
      // Only whole rows stay: `herd plot` and a resume read every line.
      if (::ftruncate(fd_, off_t(complete_)) != 0) {
        // Nothing more can be done; the error below is the one that matters.
      }
      throw IoError(
          fmt::format("{}: cannot append a metrics row: {} (the file keeps the rows "
                      "before it)",
                      path_.string(), std::strerror(error)));
    }
    done += std::size_t(wrote);
  }
  complete_ += line.size();
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
  const bool lock_existed = fs::exists(lock, ec);
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw IoError(fmt::format("{}: cannot create: {}", lock.string(), std::strerror(errno)));
  // A resume often follows a crash at once, while the crashed processes still end (an mpi
  // job's rank 0 outlives mpirun by a moment): it waits up to two seconds for their lock.
  bool locked = ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  for (int wait = 0; !locked && mode == Mode::resume && wait < 200; ++wait) {
    ::usleep(10'000);
    locked = ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  }
  if (!locked) {
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
    if (!lock_existed) fs::remove(lock, ec);  // a refused directory is left as it was
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
