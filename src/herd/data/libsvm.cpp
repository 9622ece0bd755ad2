#include "herd/data/libsvm.hpp"

#include <fmt/format.h>

#include "herd/data/gz_file.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "herd/core/error.hpp"

namespace herd::data {
namespace {

// Reads a file line by line through zlib, which passes plain files through unchanged, so one
// code path serves plain and gzip input.
class LineReader {
 public:
  explicit LineReader(const std::string& path) : path_(path), file_(path) { buf_.resize(1u << 20); }

  // The next line without its '\n'; false at the end of the file.
  bool next(std::string_view& line) {
    while (true) {
      const char* base = buf_.data();
      if (const void* nl = std::memchr(base + begin_, '\n', end_ - begin_)) {
        const std::size_t stop = std::size_t(static_cast<const char*>(nl) - base);
        line = std::string_view(base + begin_, stop - begin_);
        begin_ = stop + 1;
        ++line_;
        return true;
      }
      if (problem_) throw InvalidInput(path_ + ":" + std::to_string(line_ + 1) + ": " + *problem_);
      if (eof_) {
        if (begin_ == end_) return false;
        line = std::string_view(base + begin_, end_ - begin_);  // no newline after the last line
        begin_ = end_;
        ++line_;
        return true;
      }
      read_more();
    }
  }

  std::size_t line() const { return line_; }

  // Reads the rest of the file and says what is wrong with its compressed stream, if anything:
  // garbage from a corrupt .gz should be reported as such, not as a syntax error.
  std::optional<std::string> stream_problem() {
    if (file_.plain()) return std::nullopt;  // a plain file has no stream to damage
    while (!eof_ && !problem_) {
      begin_ = end_ = 0;
      read_more();
    }
    return problem_;
  }

 private:
  // Appends bytes after the unread rest of the buffer; sets eof_, or problem_ when the
  // compressed stream is damaged.
  void read_more() {
    const std::size_t rest = end_ - begin_;
    std::memmove(buf_.data(), buf_.data() + begin_, rest);
    begin_ = 0;
    end_ = rest;
    if (end_ == buf_.size()) buf_.resize(2 * buf_.size());  // a line longer than the buffer
    const std::size_t n = file_.read(buf_.data() + end_, buf_.size() - end_, problem_);
    end_ += n;
    if (n == 0 || problem_) eof_ = true;
  }

  std::string path_;
  GzFile file_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0, line_ = 0;
  bool eof_ = false;
  std::optional<std::string> problem_;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// Splits the next whitespace-separated token off the front of s ("" when none is left).
std::string_view next_token(std::string_view& s) {
  std::size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  std::size_t j = i;
  while (j < s.size() && !is_space(s[j])) ++j;
  const std::string_view token = s.substr(i, j - i);
  s.remove_prefix(j);
  return token;
}

// A token for a message: at most 40 characters, and bytes that are not printable ASCII as
// \xNN, so that a binary or UTF-16 file does not write control bytes to the terminal.
std::string quoted(std::string_view token) {
  constexpr std::size_t shown = 40;
  std::string text = "'";  // built by appending: GCC 12 warns falsely on "'" + std::string
  for (const char c : token.substr(0, shown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f)
      text += c;
    else
      text += fmt::format("\\x{:02x}", byte);
  }
  if (token.size() > shown) text += "...";
  text += "'";
  return text;
}

std::string format_number(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string describe_mapping(const std::vector<double>& values,
                             const std::unordered_map<double, std::string>& spelled) {
  constexpr std::size_t listed = 20;
  std::string text;
  for (std::size_t c = 0; c < values.size() && c < listed; ++c) {
    const auto it = spelled.find(values[c]);
    if (c > 0) text += ", ";
    text +=
        (it != spelled.end() ? it->second : format_number(values[c])) + " -> " + std::to_string(c);
  }
  if (values.size() > listed) text += ", ... (" + std::to_string(values.size()) + " classes)";
  return text;
}

class Parser {
 public:
  Parser(const std::string& path, const LibsvmOptions& options)
      : path_(path), options_(options), task_(options.task), reader_(path) {
    const auto& given = options.class_values;
    if (!given.empty()) {
      if (options.task == LabelTask::regression) {
        throw InvalidInput(path + ": class_values given for a regression read");
      }
      task_ = LabelTask::classification;  // the training file already decided
      for (std::size_t c = 0; c < given.size(); ++c) {
        if (!std::isfinite(given[c]) || (c > 0 && !(given[c - 1] < given[c]))) {
          throw InvalidInput(path + ": class_values must be finite and strictly ascending");
        }
      }
    }
    track_classes_ = task_ != LabelTask::regression;
  }

  Dataset run() {
    data_.name = path_;
    data_.sparse = true;
    data_.row_ptr.push_back(0);
    std::string_view line;
    bool first = true;
    while (reader_.next(line)) {
      if (first) line = without_byte_order_mark(line);
      first = false;
      parse_line(line);
    }
    if (labels_.empty()) {
      throw InvalidInput(path_ +
                         ": no data rows (the file is empty or holds only blank lines and "
                         "comments)");
    }
    data_.rows = labels_.size();
    data_.cols = options_.num_features > 0 ? options_.num_features : max_index_;
    data_.col.shrink_to_fit();
    data_.val.shrink_to_fit();
    set_labels();
    return std::move(data_);
  }

 private:
  // A UTF-8 byte-order mark (editors on Windows write one) is skipped; UTF-16 text is refused
  // by name rather than read as garbage.
  std::string_view without_byte_order_mark(std::string_view line) {
    if (line.starts_with("\xEF\xBB\xBF")) return line.substr(3);
    if (line.starts_with("\xFF\xFE") || line.starts_with("\xFE\xFF"))
      fail(
          "the file is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as "
          "ASCII or UTF-8");
    return line;
  }

  [[noreturn]] void fail(const std::string& what) {
    const std::string where = path_ + ":" + std::to_string(reader_.line()) + ": ";
    if (const auto problem = reader_.stream_problem()) {
      throw InvalidInput(where + *problem + " (this line reads: " + what + ")");
    }
    throw InvalidInput(where + what);
  }

  // A whole token as a finite double; a leading '+' is allowed (from_chars rejects it).
  // `name()` says what the token is, and is only built for a message.
  template <class Name>
  double number(std::string_view token, const Name& name) {
    std::string_view digits = token;
    if (digits.size() > 1 && digits[0] == '+' && digits[1] != '+' && digits[1] != '-') {
      digits.remove_prefix(1);
    }
    double v = 0;
    const char* end = digits.data() + digits.size();
    const auto [stop, ec] = std::from_chars(digits.data(), end, v);
    const auto bad = [&](const char* why) { fail(name() + " " + quoted(token) + why); };
    if (ec == std::errc::result_out_of_range) bad(" is out of range");
    if (ec != std::errc() || stop != end) bad(" is not a number");
    if (!std::isfinite(v)) bad(" is not finite");
    if (std::fabs(v) > double(std::numeric_limits<float>::max())) bad(" is out of float range");
    return v;
  }

  void parse_line(std::string_view line) {
    if (const auto hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const std::string_view label_token = next_token(line);
    if (label_token.empty()) return;  // blank or comment-only line
    if (label_token.find(':') != std::string_view::npos) {
      fail("missing label: the line starts with " + quoted(label_token));
    }
    record_label(number(label_token, [] { return std::string("label"); }), label_token);

    std::uint64_t previous = 0;
    for (std::string_view token = next_token(line); !token.empty(); token = next_token(line)) {
      const auto colon = token.find(':');
      if (colon == std::string_view::npos) {
        double ignored = 0;
        const auto [stop, ec] = std::from_chars(token.data(), token.data() + token.size(), ignored);
        const bool numeric = ec == std::errc() && stop == token.data() + token.size();
        fail((numeric ? "missing colon in " : "unexpected text ") + quoted(token) +
             " (expected index:value)");
      }
      const std::string_view index_text = token.substr(0, colon);
      const std::string_view value_text = token.substr(colon + 1);
      if (index_text == "qid") continue;  // SVMlight query id: irrelevant here
      const std::uint64_t index = parse_index(index_text, token);
      if (index == previous) fail("feature index " + std::to_string(index) + " repeated");
      if (index < previous) {
        fail("feature index " + std::to_string(index) + " after " + std::to_string(previous) +
             " (indices must be strictly increasing)");
      }
      if (value_text.empty()) fail("empty value for feature " + std::to_string(index));
      const double value =
          number(value_text, [index] { return "value of feature " + std::to_string(index); });
      data_.col.push_back(Index(index - 1));
      data_.val.push_back(float(value));
      previous = index;
    }
    max_index_ = std::max<std::size_t>(max_index_, previous);
    data_.row_ptr.push_back(data_.col.size());
  }

  std::uint64_t parse_index(std::string_view text, std::string_view token) {
    if (text.empty()) fail("missing feature index in " + quoted(token));
    if (text[0] == '-') fail("negative feature index " + quoted(text));
    std::uint64_t index = 0;
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, index);
    constexpr std::uint64_t largest = std::numeric_limits<Index>::max();
    if (ec == std::errc::result_out_of_range || (ec == std::errc() && index > largest)) {
      fail("feature index " + quoted(text) + " is too large (at most " + std::to_string(largest) +
           ")");
    }
    if (ec != std::errc() || stop != end) {
      fail("feature index " + quoted(text) + " is not a positive integer");
    }
    if (index == 0) fail("feature index 0 (indices are 1-based)");
    if (options_.num_features > 0 && index > options_.num_features) {
      fail("feature index " + std::to_string(index) +
           " exceeds num_features = " + std::to_string(options_.num_features));
    }
    return index;
  }

  void record_label(double label, std::string_view token) {
    labels_.push_back(label);
    const auto& given = options_.class_values;
    if (!given.empty() && !std::binary_search(given.begin(), given.end(), label)) {
      fail("label " + quoted(token) + " is not one of the training labels (" +
           describe_mapping(given, spelled_) + ")");
    }
    if (!track_classes_ || (have_last_label_ && label == last_label_)) return;
    have_last_label_ = true;
    last_label_ = label;
    spelled_.try_emplace(label, token);
    if (task_ == LabelTask::automatic &&
        (std::floor(label) != label || spelled_.size() > max_auto_classes)) {
      track_classes_ = false;  // regression after all
      auto_regression_ = true;
    }
  }

  void set_labels() {
    data_.y.resize(labels_.size());
    if (task_ == LabelTask::regression || auto_regression_) {
      std::transform(labels_.begin(), labels_.end(), data_.y.begin(),
                     [](double v) { return float(v); });
      data_.num_classes = 0;
      data_.label_mapping = "none (regression: labels are targets)";
      return;
    }
    auto& values = data_.class_values;
    values = options_.class_values;
    if (values.empty()) {
      for (const auto& [value, text] : spelled_) values.push_back(value);
      std::sort(values.begin(), values.end());
    }
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      data_.y[i] =
          float(std::lower_bound(values.begin(), values.end(), labels_[i]) - values.begin());
    }
    data_.num_classes = int(values.size());
    data_.label_mapping = describe_mapping(values, spelled_);
  }

  const std::string& path_;
  const LibsvmOptions& options_;
  LabelTask task_;
  LineReader reader_;
  Dataset data_;
  std::vector<double> labels_;
  std::size_t max_index_ = 0;
  bool track_classes_ = true, auto_regression_ = false, have_last_label_ = false;
  double last_label_ = 0;
  std::unordered_map<double, std::string> spelled_;  // class value -> its first spelling
};

}  // namespace

LabelTask parse_label_task(const std::string& name) {
  if (name == "auto") return LabelTask::automatic;
  if (name == "classification") return LabelTask::classification;
  if (name == "regression") return LabelTask::regression;
  throw InvalidInput("unknown label task '" + name +
                     "' (expected auto, classification or regression)");
}

Dataset read_libsvm(const std::string& path, const LibsvmOptions& options) {
  return Parser(path, options).run();
}

}  // namespace herd::data
