#pragma once
// The one error hierarchy at herd's library boundary. Every failure a user can cause or meet
// is one of these four kinds; the CLI maps each kind to its own exit code (see exit_code()).
// Programming errors are assertions, not exceptions of this hierarchy.
#include <stdexcept>
#include <string>

namespace herd {

enum class ErrorKind { invalid_input, io, communication, divergence };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// Bad configuration, malformed data file, impossible parameter.
class InvalidInput : public Error {
 public:
  explicit InvalidInput(const std::string& m) : Error(ErrorKind::invalid_input, m) {}
};
// A file that cannot be opened, read or written.
class IoError : public Error {
 public:
  explicit IoError(const std::string& m) : Error(ErrorKind::io, m) {}
};
// A peer that failed, died or aborted the job.
class CommError : public Error {
 public:
  explicit CommError(const std::string& m) : Error(ErrorKind::communication, m) {}
};
// A run whose loss or parameters became non-finite.
class Diverged : public Error {
 public:
  explicit Diverged(const std::string& m) : Error(ErrorKind::divergence, m) {}
};

// Process exit codes, stable because scripts test them.
namespace exit_codes {
inline constexpr int ok = 0;
inline constexpr int internal = 1;       // a bug: an unexpected exception
inline constexpr int invalid_input = 2;  // configuration, data or command line at fault
inline constexpr int io = 3;
inline constexpr int communication = 4;
inline constexpr int diverged = 5;
}  // namespace exit_codes

inline int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input:
      return exit_codes::invalid_input;
    case ErrorKind::io:
      return exit_codes::io;
    case ErrorKind::communication:
      return exit_codes::communication;
    case ErrorKind::divergence:
      return exit_codes::diverged;
  }
  return exit_codes::internal;
}

}  // namespace herd
