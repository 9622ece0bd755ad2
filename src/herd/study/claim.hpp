#pragma once
// A study's claims, stated as computations on its measured table (sweep.csv): a value, a
// ratio, a log-log slope, with a threshold. The verdict comes from the numbers: nothing in a
// study says in advance whether it reproduces.
//
// An expression is arithmetic (+ - * / and parentheses) over numbers, references and
// functions. A reference is a column of the table, optionally with a selection of its rows:
//   steps_to_target{entry=Local SGD, algo.workers=max}
// is the mean over seeds of steps_to_target in the runs of entry "Local SGD" at the largest
// algo.workers (a value with a comma in double quotes: entry="ASGD, tuned"). `max`, `min`
// name an axis' largest and least value. The selection must fix
// every swept key but the seed (a reference is one point of the sweep). Functions:
//   slope(REF, KEY)   least-squares slope of log(REF) against log(KEY) over KEY's values
//                     (REF's selection fixes every other key): 1 for y proportional to x
//   abs(x), log(x), min(x, y), max(x, y)
// A counter to a target that a finished run never met is +inf (so "EASGD needs at least twice
// the time of LSGD" holds when EASGD never gets there). A reference to a point whose runs did
// not all give a number (a run that diverged or failed) is NaN, and a check with a NaN value
// does not hold.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/study/sweep.hpp"

namespace herd::study {

// What a claim's expression reads: the table's columns, and which columns are swept keys
// (with the values each takes, as written in the table).
struct ClaimTable {
  const SweepTable* table = nullptr;
  std::vector<std::string> axes;  // "entry" and the swept keys; "seed" is averaged over
  bool zip = false;               // the swept keys move together: one fixes the others
};

class Expression {
 public:
  // InvalidInput naming the text and the position for a syntax error, an unknown function or
  // a wrong argument count.
  static Expression parse(std::string_view text);
  // InvalidInput when a reference names a column or key the table does not have, or does not
  // select exactly one point up to its seed (checked on a table of the sweep's points, before
  // anything runs). NaN when a referenced number is missing.
  double evaluate(const ClaimTable& table) const;
  const std::string& text() const { return text_; }
  // The columns it references and the keys of their selections and of slope().
  std::vector<std::string> columns() const;

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
};

// One check of a study: the claim in words, its expression, and the interval it must fall in.
struct Check {
  std::string claim;
  Expression value;
  std::optional<double> at_least, at_most;
  // "value >= 0.8", "0.8 <= value <= 1.2"
  std::string bound_text() const;
  bool holds(double measured) const;
};

}  // namespace herd::study
