#pragma once
// What the harnesses share: the fuzzer's bytes as a file the real readers open by path (an
// anonymous in-memory file, /proc/self/fd/N, reused across inputs), and the rule that a
// herd error of an expected kind is a correct answer to bad input while anything else (any
// other exception, a crash, a leak, undefined behaviour, a hang) is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "herd/core/error.hpp"

namespace herd::fuzz {

class MemFile {
 public:
  explicit MemFile(const char* name) : fd_(::memfd_create(name, 0)) {
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  ~MemFile() { ::close(fd_); }

  // Replaces the file's contents; returns its path.
  const std::string& hold(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0) std::abort();
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::pwrite(fd_, data + done, size - done, off_t(done));
      if (n <= 0) std::abort();
      done += std::size_t(n);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

// Runs f; an herd::Error of one of the expected kinds is swallowed, any other escapes (and
// libFuzzer reports the uncaught exception as a crash).
template <class F>
void expect_only(std::initializer_list<ErrorKind> kinds, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    for (const ErrorKind k : kinds)
      if (e.kind() == k) return;
    throw;
  }
}

// A finding that is not a crash by itself: a broken invariant of a reader.
#define HERD_FUZZ_CHECK(condition)                                                           \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

}  // namespace herd::fuzz
