#pragma once
// LIBSVM / SVMlight reader: `label idx:val idx:val ... # comment`, plain or gzip.
#include <cstddef>
#include <string>
#include <vector>

#include "herd/data/dataset.hpp"

namespace herd::data {

enum class LabelTask {
  automatic,       // integral labels with at most max_auto_classes values are classes
  classification,  // every distinct label value is a class
  regression,      // labels are targets
};

inline constexpr std::size_t max_auto_classes = 1000;

LabelTask parse_label_task(const std::string& name);  // "auto" | "classification" | "regression"

struct LibsvmOptions {
  LabelTask task = LabelTask::automatic;
  // 0: the largest index in the file. Otherwise the column count, and a larger index is an
  // error (read a test file with the training file's cols).
  std::size_t num_features = 0;
  // Non-empty (strictly ascending): classify with this mapping, typically the training file's
  // Dataset::class_values; a label outside it is an error.
  std::vector<double> class_values{};
};

// Reads a LIBSVM/SVMlight file (gzip-compressed or not) into a CSR Dataset. Indices are
// 1-based in the file and 0-based in the result; explicit zeros are kept; `qid:N` tokens are
// ignored. Every malformed input throws InvalidInput whose message starts with "path:line:";
// a missing file or a directory throws InvalidInput naming the path, an unreadable one
// IoError.
Dataset read_libsvm(const std::string& path, const LibsvmOptions& options = {});

}  // namespace herd::data
