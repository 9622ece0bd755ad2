#include "herd/study/claim.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "herd/core/error.hpp"
#include "herd/core/text.hpp"

namespace herd::study {

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
}

struct Expression::Node {
  enum class Kind { number, reference, unary_minus, binary, call } kind = Kind::number;
  double number = 0;
  // reference: a column and its selection (key, value as written; "max"/"min" for an axis)
  std::string column;
  std::vector<std::pair<std::string, std::string>> selection;
  char op = 0;                                    // binary: + - * /
  std::string function;                           // call
  std::vector<std::shared_ptr<const Node>> args;  // operands or arguments
  std::string key;                                // slope's KEY
};

namespace {

using Node = Expression::Node;
using NodePtr = std::shared_ptr<const Node>;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  NodePtr parse() {
    NodePtr n = sum();
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text");
    return n;
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw InvalidInput(fmt::format("claim \"{}\": {} at position {} (\"{}\")", text_, what,
                                   pos_ + 1, text_.substr(pos_)));
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(fmt::format("expected '{}'", c));
  }

  // One precedence level: operands from `next`, joined left to right by the operators `ops`.
  NodePtr level(std::string_view ops, NodePtr (Parser::*next)()) {
    NodePtr left = (this->*next)();
    for (;;) {
      skip_space();
      if (pos_ >= text_.size() || ops.find(text_[pos_]) == std::string_view::npos) return left;
      const char op = text_[pos_++];
      left = binary(op, left, (this->*next)());
    }
  }
  NodePtr sum() { return level("+-", &Parser::product); }
  NodePtr product() { return level("*/", &Parser::unary); }
  static NodePtr binary(char op, NodePtr a, NodePtr b) {
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::binary;
    n->op = op;
    n->args = {std::move(a), std::move(b)};
    return n;
  }
  NodePtr unary() {
    if (accept('-')) {
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::unary_minus;
      n->args = {unary()};
      return n;
    }
    return primary();
  }
  NodePtr primary() {
    skip_space();
    if (accept('(')) {
      NodePtr n = sum();
      expect(')');
      return n;
    }
    if (pos_ < text_.size() &&
        (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
      return number();
    const std::string name = identifier();
    if (name.empty()) fail("expected a number, a column or a function");
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '(') return call(name);
    return reference(name);
  }
  NodePtr number() {
    double v = 0;
    const char* begin = text_.data() + pos_;
    const auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), v);
    if (ec != std::errc{}) fail("expected a number");
    pos_ += std::size_t(end - begin);
    auto n = std::make_shared<Node>();
    n->number = v;
    return n;
  }
  // A column or key name: letters, digits, _ . : and a bracketed target suffix
  // (steps_to_target[train_loss<=0.6]).
  std::string identifier() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':') {
        ++pos_;
      } else if (c == '[' && pos_ > start) {
        const std::size_t close = text_.find(']', pos_);
        if (close == std::string_view::npos) fail("unclosed '['");
        pos_ = close + 1;
      } else {
        break;
      }
    }
    return std::string(text_.substr(start, pos_ - start));
  }
  NodePtr reference(const std::string& column) {
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::reference;
    n->column = column;
    if (!accept('{')) return n;
    for (;;) {
      const std::string key = identifier();
      if (key.empty()) fail("expected a key of the selection");
      expect('=');
      skip_space();
      std::string value;
      if (pos_ < text_.size() && text_[pos_] == '"') {  // "a label, with a comma"
        const std::size_t close = text_.find('"', pos_ + 1);
        if (close == std::string_view::npos) fail("unclosed '\"'");
        value = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
        pos_ = close + 1;
      } else {
        const std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}') ++pos_;
        value = std::string(trim(text_.substr(start, pos_ - start)));
      }
      if (value.empty()) fail(fmt::format("no value for {}", key));
      n->selection.emplace_back(key, value);
      if (accept('}')) return n;
      expect(',');
    }
  }
  NodePtr call(const std::string& name) {
    static const std::map<std::string, std::size_t, std::less<>> arity = {
        {"slope", 2}, {"abs", 1}, {"log", 1}, {"min", 2}, {"max", 2}};
    const auto it = arity.find(name);
    if (it == arity.end())
      fail(fmt::format("unknown function {} (slope, abs, log, min, max)", name));
    expect('(');
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::call;
    n->function = name;
    if (name == "slope") {
      n->args.push_back(sum());
      if (n->args[0]->kind != Node::Kind::reference)
        fail("slope's first argument is a column reference");
      expect(',');
      n->key = identifier();
      if (n->key.empty()) fail("slope's second argument is a swept key");
    } else {
      for (std::size_t a = 0; a < it->second; ++a) {
        if (a > 0) expect(',');
        n->args.push_back(sum());
      }
    }
    expect(')');
    return n;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// The rows of one point of the sweep (its seeds) that a reference selects, with `free_key`
// (slope's KEY) left free.
struct Selected {
  std::vector<std::size_t> rows;
};

std::size_t column_of(const ClaimTable& t, const std::string& name, const std::string& where) {
  const auto c = t.table->find(name);
  if (!c)
    throw InvalidInput(fmt::format("claim \"{}\": the table has no column {}; it has {}", where,
                                   name, join(t.table->columns, ", ")));
  return *c;
}

// The value an axis selection means: "max"/"min" over the table, else as written.
std::string resolve(const ClaimTable& t, std::size_t column, const std::string& value) {
  if (value != "max" && value != "min") return value;
  std::optional<std::size_t> best;
  for (std::size_t r = 0; r < t.table->value.size(); ++r) {
    const double v = t.table->value[r][column];
    if (std::isnan(v)) continue;
    if (!best ||
        (value == "max" ? v > t.table->value[*best][column] : v < t.table->value[*best][column]))
      best = r;
  }
  return best ? t.table->text[*best][column] : value;
}

std::vector<std::size_t> select(const ClaimTable& t, const Node& ref, const std::string& free_key,
                                const std::string& where) {
  std::vector<std::pair<std::size_t, std::string>> wanted;
  for (const auto& [key, value] : ref.selection) {
    if (std::find(t.axes.begin(), t.axes.end(), key) == t.axes.end() && key != "seed")
      throw InvalidInput(fmt::format("claim \"{}\": {} is not a swept key; the keys are {}", where,
                                     key, join(t.axes, ", ")));
    const std::size_t c = column_of(t, key, where);
    wanted.emplace_back(c, resolve(t, c, value));
  }
  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < t.table->text.size(); ++r) {
    const bool match = std::all_of(wanted.begin(), wanted.end(), [&](const auto& w) {
      return t.table->text[r][w.first] == w.second;
    });
    if (match) rows.push_back(r);
  }
  if (rows.empty())
    throw InvalidInput(fmt::format("claim \"{}\": no run matches {}{{{}}}", where, ref.column, [&] {
      std::vector<std::string> s;
      for (const auto& [k, v] : ref.selection) s.push_back(k + "=" + v);
      return join(s, ", ");
    }()));
  // One point up to its seed (and free_key): every other axis takes one value. Zipped keys
  // move together, so only the entry needs fixing there.
  for (const std::string& axis : t.axes) {
    if (axis == free_key || (t.zip && axis != "entry")) continue;
    const std::size_t c = column_of(t, axis, where);
    for (std::size_t r : rows)
      if (t.table->text[r][c] != t.table->text[rows[0]][c])
        throw InvalidInput(fmt::format(
            "claim \"{}\": {} selects runs with different {} ({} and {}); name it in {{...}}",
            where, ref.column, axis, t.table->text[rows[0]][c], t.table->text[r][c]));
  }
  return rows;
}

// The mean of the column over the rows (+inf when one is +inf); NaN when one of them has no
// number.
double mean_of(const ClaimTable& t, std::size_t column, const std::vector<std::size_t>& rows) {
  double sum = 0;
  for (std::size_t r : rows) {
    const double v = t.table->value[r][column];
    if (std::isnan(v)) return nan;
    sum += v;
  }
  return sum / double(rows.size());
}

double slope(const ClaimTable& t, const Node& call, const std::string& where) {
  const Node& ref = *call.args[0];
  if (std::find(t.axes.begin(), t.axes.end(), call.key) == t.axes.end())
    throw InvalidInput(fmt::format("claim \"{}\": slope's {} is not a swept key; the keys are {}",
                                   where, call.key, join(t.axes, ", ")));
  const std::size_t y = column_of(t, ref.column, where), x = column_of(t, call.key, where);
  const std::vector<std::size_t> rows = select(t, ref, call.key, where);
  std::map<double, std::vector<std::size_t>> by_x;
  bool numeric = true;
  for (std::size_t r : rows) {
    numeric = numeric && !std::isnan(t.table->value[r][x]);
    if (numeric) by_x[t.table->value[r][x]].push_back(r);
  }
  if (by_x.size() < 2 || !numeric)
    throw InvalidInput(
        fmt::format("claim \"{}\": slope needs two or more numeric values of {}", where, call.key));
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [xv, point] : by_x) {
    const double yv = mean_of(t, y, point);
    if (!(yv > 0) || !std::isfinite(yv) || !(xv > 0)) return nan;
    const double lx = std::log(xv), ly = std::log(yv);
    sx += lx;
    sy += ly;
    sxx += lx * lx;
    sxy += lx * ly;
  }
  const double n = double(by_x.size());
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

double eval(const Node& n, const ClaimTable& t, const std::string& where) {
  switch (n.kind) {
    case Node::Kind::number:
      return n.number;
    case Node::Kind::reference:
      return mean_of(t, column_of(t, n.column, where), select(t, n, "", where));
    case Node::Kind::unary_minus:
      return -eval(*n.args[0], t, where);
    case Node::Kind::binary: {
      const double a = eval(*n.args[0], t, where), b = eval(*n.args[1], t, where);
      switch (n.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        default:
          return b == 0 ? nan : a / b;
      }
    }
    case Node::Kind::call:
      break;
  }
  if (n.function == "slope") return slope(t, n, where);
  const double a = eval(*n.args[0], t, where);
  if (n.function == "abs") return std::abs(a);
  if (n.function == "log") return a > 0 ? std::log(a) : nan;
  const double b = eval(*n.args[1], t, where);
  if (std::isnan(a) || std::isnan(b)) return nan;
  return n.function == "min" ? std::min(a, b) : std::max(a, b);
}

}  // namespace

Expression Expression::parse(std::string_view text) {
  Expression e;
  e.text_ = std::string(trim(text));
  if (e.text_.empty()) throw InvalidInput("claim: the value expression is empty");
  e.root_ = Parser(e.text_).parse();
  return e;
}

double Expression::evaluate(const ClaimTable& table) const {
  return eval(*root_, table, text_);
}

std::vector<std::string> Expression::columns() const {
  std::vector<std::string> out;
  const auto add = [&](const std::string& name) {
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  std::vector<const Node*> pending = {root_.get()};
  while (!pending.empty()) {
    const Node* n = pending.back();
    pending.pop_back();
    if (n->kind == Node::Kind::reference) add(n->column);
    for (const auto& [key, value] : n->selection) add(key);
    add(n->key);
    for (const auto& a : n->args) pending.push_back(a.get());
  }
  return out;
}

std::string Check::bound_text() const {
  if (at_least && at_most) return fmt::format("{:g} <= value <= {:g}", *at_least, *at_most);
  if (at_least) return fmt::format("value >= {:g}", *at_least);
  if (at_most) return fmt::format("value <= {:g}", *at_most);
  return "";
}

bool Check::holds(double measured) const {
  if (std::isnan(measured)) return false;
  return (!at_least || measured >= *at_least) && (!at_most || measured <= *at_most);
}

}  // namespace herd::study
