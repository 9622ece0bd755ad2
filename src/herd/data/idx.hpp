#pragma once
// IDX reader (the MNIST format: big-endian header, then raw unsigned bytes), plain or gzip.
#include <cstddef>
#include <string>
#include <utility>

#include "herd/data/dataset.hpp"

namespace herd::data {

// Reads an IDX3 unsigned-byte image file (magic 0x00000803, then n, rows, cols) and the
// matching IDX1 label file (magic 0x00000801, then n), each gzip-compressed or not, into a
// dense Dataset of n rows and rows * cols columns. Pixels are scaled to [0, 1] (byte / 255);
// label v becomes class v, with num_classes = max(10, largest label + 1). Every malformed
// input (bad magic, zero images, count mismatch, truncated or trailing data, damaged gzip)
// throws InvalidInput whose message starts with the path at fault; a missing file or a
// directory throws InvalidInput naming the path, an unreadable one IoError.
Dataset read_idx(const std::string& images_path, const std::string& labels_path);

// Splits a data set (dense or sparse) into its first `first_rows` rows and the rest, order
// kept, labels and class mapping copied to both; e.g. 8,000 training and 2,000 test rows of
// the MNIST test set. InvalidInput unless 0 < first_rows < data.rows.
std::pair<Dataset, Dataset> split_rows(const Dataset& data, std::size_t first_rows);

}  // namespace herd::data
