#include "herd/cli/plot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "herd/cli/plot_script.hpp"  // generated from tools/herd_plot.py
#include "herd/core/error.hpp"
#include "herd/core/text.hpp"

extern char** environ;

namespace herd::cli {
namespace {

namespace fs = std::filesystem;

template <class Choices>
bool is_one_of(std::string_view value, const Choices& choices) {
  return std::ranges::find(choices, value) != choices.end();
}

// Reads one metrics row, a JSON object, and names its top-level keys that hold finite
// numbers: the metrics a run can plot. Nested values are checked for form and skipped.
// Mirrors what the script's json.loads accepts (NaN and Infinity included, not plotted).
class RowScanner {
 public:
  explicit RowScanner(std::string_view text) : text_(text) {}

  std::set<std::string> numeric_keys() {
    std::set<std::string> keys;
    skip_space();
    expect('{');
    skip_space();
    if (!consume("}")) {
      for (;;) {
        skip_space();
        std::string key = read_string();
        skip_space();
        expect(':');
        skip_space();
        // A repeated key keeps its last value, as in Python.
        if (skip_value(0) == Kind::finite_number) {
          keys.insert(std::move(key));
        } else {
          keys.erase(key);
        }
        skip_space();
        if (consume("}")) break;
        expect(',');
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("text after the object");
    return keys;
  }

 private:
  enum class Kind { finite_number, other };
  static constexpr int max_depth = 64;

  Kind skip_value(int depth) {
    if (depth > max_depth) fail("values nested too deep");
    if (pos_ == text_.size()) fail("a value is missing");
    if (text_[pos_] == '"') {
      read_string();
      return Kind::other;
    }
    if (consume("{")) {
      skip_space();
      if (consume("}")) return Kind::other;
      for (;;) {
        skip_space();
        read_string();
        skip_space();
        expect(':');
        skip_space();
        skip_value(depth + 1);
        skip_space();
        if (consume("}")) return Kind::other;
        expect(',');
      }
    }
    if (consume("[")) {
      skip_space();
      if (consume("]")) return Kind::other;
      for (;;) {
        skip_space();
        skip_value(depth + 1);
        skip_space();
        if (consume("]")) return Kind::other;
        expect(',');
      }
    }
    for (std::string_view literal : {"null", "true", "false", "NaN", "Infinity", "-Infinity"}) {
      if (consume(literal)) return Kind::other;
    }
    return read_number();
  }

  Kind read_number() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) ||
            std::string_view("+-.eE").find(text_[pos_]) != std::string_view::npos)) {
      ++pos_;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    double value = 0;
    const auto [end, error] = std::from_chars(first, last, value);
    if (start == pos_ || end != last) {
      pos_ = start;
      fail("not a JSON value");
    }
    // 1e999 overflows to infinity in Python: there, and here, a value that is not plotted.
    if (error == std::errc::result_out_of_range || !std::isfinite(value)) return Kind::other;
    return Kind::finite_number;
  }

  std::string read_string() {
    expect('"');
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("a control character inside a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ == text_.size()) break;
      const char escaped = text_[pos_++];
      switch (escaped) {
        case '"':
        case '\\':
        case '/':
          out += escaped;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          append_utf8(read_hex4(), out);
          break;
        default:
          fail("an invalid escape in a string");
      }
    }
    fail("an unterminated string");
  }

  unsigned read_hex4() {
    unsigned code = 0;
    const char* first = text_.data() + pos_;
    const char* last = first + std::min<std::size_t>(4, text_.size() - pos_);
    const auto [end, error] = std::from_chars(first, last, code, 16);
    if (error != std::errc() || end != first + 4) fail("an invalid \\u escape");
    pos_ += 4;
    return code;
  }

  // Key names are compared with metric names only, so surrogate pairs need no joining.
  static void append_utf8(unsigned code, std::string& out) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           std::string_view(" \t\r\n").find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
    }
  }

  bool consume(std::string_view token) {
    if (!text_.substr(pos_).starts_with(token)) return false;
    pos_ += token.size();
    return true;
  }

  void expect(char c) {
    if (pos_ == text_.size() || text_[pos_] != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }

  [[noreturn]] void fail(std::string_view what) const {
    throw InvalidInput(fmt::format("column {}: {}", pos_ + 1, what));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

void check_request(const PlotRequest& request) {
  if (request.run_dirs.empty()) throw InvalidInput("herd plot needs at least one run directory");
  std::string extension = fs::path(request.output).extension().string();
  std::ranges::transform(extension, extension.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!is_one_of(extension, plot_formats)) {
    throw InvalidInput(fmt::format("cannot write the plot to '{}': the file name must end in {}",
                                   request.output, fmt::join(plot_formats, ", ")));
  }
  if (!is_one_of(request.x, plot_x_choices)) {
    throw InvalidInput(
        fmt::format("--x '{}' is not one of {}", request.x, fmt::join(plot_x_choices, ", ")));
  }
  if (request.y.empty()) throw InvalidInput("--y names no metric");
  if (!is_one_of(request.logy, plot_logy_choices)) {
    throw InvalidInput(fmt::format("--logy '{}' is not one of {}", request.logy,
                                   fmt::join(plot_logy_choices, ", ")));
  }
}

// The run directory exists, its metrics.jsonl is well formed, and some evaluation has both
// metrics (the script draws only such rows).
void check_run(const std::string& dir, const std::string& x, const std::string& y) {
  std::error_code ignored;
  if (!fs::is_directory(dir, ignored)) {
    throw InvalidInput(fmt::format("run directory '{}' does not exist", dir));
  }
  const fs::path metrics = fs::path(dir) / "metrics.jsonl";
  if (!fs::is_regular_file(metrics, ignored)) {
    throw InvalidInput(fmt::format("run directory '{}' has no metrics.jsonl", dir));
  }
  std::ifstream in(metrics);
  if (!in) throw IoError(fmt::format("cannot read {}: {}", metrics.string(), std::strerror(errno)));

  std::set<std::string> present;
  bool some_row_has_both = false;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::set<std::string> keys;
    try {
      keys = RowScanner(line).numeric_keys();
    } catch (const InvalidInput& e) {
      throw InvalidInput(fmt::format("{}:{}: {}", metrics.string(), number, e.what()));
    }
    some_row_has_both = some_row_has_both || (keys.contains(x) && keys.contains(y));
    present.merge(keys);
  }
  if (in.bad()) throw IoError(fmt::format("cannot read {}", metrics.string()));

  for (const std::string& metric : {x, y}) {
    if (!present.contains(metric)) {
      throw InvalidInput(
          fmt::format("run '{}' has no metric '{}' in metrics.jsonl; its metrics: {}", dir, metric,
                      present.empty() ? "none" : fmt::to_string(fmt::join(present, ", "))));
    }
  }
  if (!some_row_has_both) {
    throw InvalidInput(fmt::format("run '{}': no evaluation has both '{}' and '{}'", dir, x, y));
  }
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

struct ProcessResult {
  int spawn_error = 0;  // errno of a program that could not be started
  int exit_status = -1;
  int signal = 0;
  std::string error_output;  // its stderr
  bool succeeded() const { return spawn_error == 0 && signal == 0 && exit_status == 0; }
};

// Runs program with args, no shell in between; stdout is discarded, stderr captured.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args) {
  std::vector<std::string> argv_storage{program};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  // Close-on-exec, so that no other child started meanwhile inherits the pipe and holds it open.
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw IoError(fmt::format("cannot run {}: no pipe ({})", program, std::strerror(errno)));
  }
  FileDescriptor read_end(pipe_fds[0]), write_end(pipe_fds[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
  pid_t pid = 0;
  ProcessResult result;
  result.spawn_error =
      ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  write_end.reset();  // else the read below never sees the end of the child's stderr
  if (result.spawn_error != 0) return result;

  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n > 0) {
      result.error_output.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw IoError(fmt::format("cannot wait for {}: {}", program, std::strerror(errno)));
    }
  }
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

std::string_view last_line(std::string_view text) {
  text = trim(text, " \t\r\n");
  const std::size_t newline = text.rfind('\n');
  return newline == std::string_view::npos ? text : text.substr(newline + 1);
}

// One phrase for why a probe failed: "No module named 'matplotlib'" rather than the whole
// traceback.
std::string failure_reason(const ProcessResult& result) {
  if (result.spawn_error != 0) return std::strerror(result.spawn_error);
  if (result.signal != 0) return fmt::format("killed by signal {}", result.signal);
  std::string_view line = last_line(result.error_output);
  if (line.empty()) return fmt::format("exit status {}", result.exit_status);
  const std::size_t colon = line.find(": ");
  if (colon != std::string_view::npos && line.substr(0, colon).ends_with("Error")) {
    line.remove_prefix(colon + 2);
  }
  return std::string(line);
}

// A path to an executable file, or why there is none.
struct Executable {
  std::string path;
  std::string problem;
};

Executable find_executable(const std::string& name) {
  const auto usable = [](const std::string& path) {
    std::error_code ignored;
    return fs::is_regular_file(path, ignored) && ::access(path.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (usable(name)) return {name, {}};
    std::error_code ignored;
    return {{}, fs::exists(name, ignored) ? "not executable" : "not found"};
  }
  const char* path_variable = std::getenv("PATH");
  std::string_view dirs = path_variable != nullptr ? path_variable : "";
  for (;;) {
    const std::size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const std::string path = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
    if (usable(path)) return {path, {}};
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {{}, "not on PATH"};
}

}  // namespace

std::string_view plot_script() {
  return generated::plot_script;
}
std::string_view sweep_plot_script() {
  return generated::sweep_plot_script;
}

std::vector<std::string> python_candidates() {
  std::vector<std::string> candidates;
  if (const char* chosen = std::getenv("HERD_PYTHON"); chosen != nullptr && *chosen != '\0') {
    candidates.emplace_back(chosen);
  }
  for (const char* fallback : {"/usr/bin/python3", "python3", "python"}) {
    candidates.emplace_back(fallback);
  }
  return candidates;
}

std::string find_python(const std::vector<std::string>& candidates) {
  std::vector<std::string> tried;
  std::vector<std::string> probed;
  for (const std::string& name : candidates) {
    const Executable python = find_executable(name);
    if (python.path.empty()) {
      tried.push_back(fmt::format("{} ({})", name, python.problem));
      continue;
    }
    const std::string shown =
        python.path == name ? name : fmt::format("{} = {}", name, python.path);
    // python3 on PATH is often /usr/bin/python3 again.
    if (is_one_of(python.path, probed)) {
      tried.push_back(fmt::format("{} (tried above)", shown));
      continue;
    }
    probed.push_back(python.path);
    const ProcessResult probe = run_process(python.path, {"-c", "import matplotlib"});
    if (probe.succeeded()) return python.path;
    tried.push_back(fmt::format("{} ({})", shown, failure_reason(probe)));
  }
  throw IoError(fmt::format(
      "no python3 with matplotlib found; tried: {}; install Debian's python3-matplotlib, or set "
      "HERD_PYTHON to a Python that has matplotlib",
      tried.empty() ? "nothing" : fmt::to_string(fmt::join(tried, ", "))));
}

namespace {

// Runs an embedded plotting script with `args` under a Python that has matplotlib. The
// scripts report an error they foresaw as one line, "<prefix>: error: ...", with exit status
// 2 (invalid input) or 3 (I/O); anything else is a crash, reported whole.
void run_plot_script(std::string_view script, std::string_view name, std::string_view prefix,
                     std::vector<std::string> args, const std::string& output) {
  const std::string python = find_python(python_candidates());
  args.insert(args.begin(), {"-c", std::string(script)});
  const ProcessResult result = run_process(python, args);
  if (result.succeeded()) return;
  if (result.spawn_error != 0) {
    throw IoError(fmt::format("cannot start {}: {}", python, std::strerror(result.spawn_error)));
  }
  const std::string expected = fmt::format("{}: error: ", prefix);
  const std::string_view line = last_line(result.error_output);
  if (line.starts_with(expected) && (result.exit_status == 2 || result.exit_status == 3)) {
    const std::string message(line.substr(expected.size()));
    if (result.exit_status == 2) throw InvalidInput(message);
    throw IoError(message);
  }
  throw IoError(fmt::format("drawing {} failed: {} ran {} and {}:\n{}", output, python, name,
                            result.signal != 0
                                ? fmt::format("was killed by signal {}", result.signal)
                                : fmt::format("exited with status {}", result.exit_status),
                            trim(result.error_output, " \t\r\n")));
}

}  // namespace

void plot_runs(const PlotRequest& request) {
  check_request(request);
  for (const std::string& dir : request.run_dirs) check_run(dir, request.x, request.y);
  // --name=value keeps a value that starts with '-' a value; "--" does the same for run dirs.
  std::vector<std::string> args{"--output=" + request.output, "--x=" + request.x,
                                "--y=" + request.y,           "--logy=" + request.logy,
                                "--title=" + request.title,   "--"};
  args.insert(args.end(), request.run_dirs.begin(), request.run_dirs.end());
  run_plot_script(plot_script(), "tools/herd_plot.py", "herd plot", std::move(args),
                  request.output);
}

void plot_sweep(const SweepPlotRequest& request) {
  std::vector<std::string> args{"--output=" + request.output, "--x=" + request.x,
                                "--y=" + request.y, "--groups=" + join(request.groups, ",")};
  if (request.ideal_speedup) args.push_back("--ideal-speedup");
  for (const auto& [x, label] : request.marks)
    args.insert(args.end(), {"--mark", fmt::format("{}:{}", x, label)});
  args.push_back("--");
  args.push_back(request.csv);
  run_plot_script(sweep_plot_script(), "tools/herd_sweep_plot.py", "herd sweep", std::move(args),
                  request.output);
}

}  // namespace herd::cli
