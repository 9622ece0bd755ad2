#pragma once
// What the tests of the herd command share: fresh temporary directories, reading files back,
// and running the herd binary (HERD_BINARY, defined by the test's CMake target) for its exit
// code and stderr.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>
#include "support/temp_dir.hpp"

namespace herd::test {

namespace fs = std::filesystem;

// How many times slower than a Release build herd runs in this build: the tests that bound
// how long herd may take scale their limits by it. Sanitizer builds are instrumented Debug
// builds, and under AddressSanitizer LibTorch's start-up alone takes seconds.
#if defined(__SANITIZE_THREAD__)
inline constexpr int slowdown = 10;
#elif defined(__SANITIZE_ADDRESS__)
inline constexpr int slowdown = 5;
#else
inline constexpr int slowdown = 1;
#endif

// An empty path under the temporary directory, named after the test file and case.
inline fs::path fresh_dir(const std::string& prefix, const std::string& name) {
  const fs::path dir = herd::test::temp_dir() / (prefix + "_" + name);
  fs::remove_all(dir);
  return dir;
}

inline std::string read(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A string field of OUT/summary.json ("" when absent).
inline std::string summary_field(const fs::path& dir, const std::string& key) {
  const std::string text = read(dir / "summary.json");
  const std::string tag = "\"" + key + "\": \"";
  const auto at = text.find(tag);
  if (at == std::string::npos) return {};
  const auto begin = at + tag.size();
  return text.substr(begin, text.find('"', begin) - begin);
}

// The rows of OUT/metrics.jsonl without their wall time (the first field): what a run on any
// runtime must reproduce.
inline std::vector<std::string> rows_without_time(const fs::path& dir) {
  std::vector<std::string> rows;
  for (std::string line : lines_of(dir / "metrics.jsonl")) {
    const auto comma = line.find(", ");
    rows.push_back(line.substr(comma + 2));
  }
  return rows;
}

#ifdef HERD_BINARY
// The exit code of `herd ARGS` (stdout and stderr discarded); -1 when it did not exit.
inline int herd(const std::string& args) {
  const int status =
      std::system((std::string(HERD_BINARY) + " " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The exit code and stderr of `herd ARGS`.
inline std::pair<int, std::string> herd_stderr(const std::string& args) {
  // One file per test process: test programs of other checkouts may run at the same time.
  const fs::path err =
      herd::test::temp_dir() / ("herd_test_stderr_" + std::to_string(::getpid()) + ".txt");
  const int status = std::system(
      (std::string(HERD_BINARY) + " " + args + " >/dev/null 2>" + err.string()).c_str());
  std::string text = read(err);
  fs::remove(err);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::move(text)};
}
#endif

}  // namespace herd::test
