#include "herd/data/idx.hpp"

#include "herd/data/gz_file.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <span>
#include <vector>

#include "herd/core/error.hpp"

namespace herd::data {
namespace {

constexpr std::uint32_t images_magic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr std::uint32_t labels_magic = 0x00000801;  // unsigned byte, 1 dimension

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

void check_magic(ByteFile& in, std::uint32_t expected, const char* kind) {
  const std::uint32_t found = in.read_u32_be("the magic number");
  if (found == expected) return;
  std::string hint;
  if (found == images_magic) hint = " (an image file: are images and labels swapped?)";
  if (found == labels_magic) hint = " (a label file: are images and labels swapped?)";
  throw InvalidInput(in.path() + ": bad magic number: expected " + hex(expected) + " (" + kind +
                     "), found " + hex(found) + hint);
}

// `count` bytes of `what`, read in chunks and each passed to `use`, so that a header claiming
// more than the file holds fails on truncation rather than on an enormous allocation.
template <class Use>
void read_chunks(ByteFile& in, std::uint64_t count, const std::string& what, Use use) {
  constexpr std::size_t chunk = 1u << 16;
  std::vector<unsigned char> bytes(std::size_t(std::min<std::uint64_t>(count, chunk)));
  for (std::uint64_t done = 0; done < count;) {
    const auto n = std::size_t(std::min<std::uint64_t>(chunk, count - done));
    in.read_exact(bytes.data(), n, what);
    use(std::span<const unsigned char>(bytes.data(), n));
    done += n;
  }
}

// The most elements reserved up front on the word of a header (the rest grows as read).
constexpr std::uint64_t reserve_ahead = 16u << 20;

// The pixel payload, appended as floats scaled to [0, 1].
void read_pixels(ByteFile& in, std::uint64_t count, const std::string& what,
                 std::vector<float>& out) {
  out.reserve(std::size_t(std::min(count, reserve_ahead)));
  read_chunks(in, count, what,
              [&](std::span<const unsigned char> bytes) { append_pixels(bytes, out); });
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path) {
  ByteFile images(images_path), labels(labels_path);
  check_magic(images, images_magic, "IDX3 unsigned-byte images");
  const std::uint32_t n = images.read_u32_be("the image count");
  const std::uint32_t height = images.read_u32_be("the row count");
  const std::uint32_t width = images.read_u32_be("the column count");
  check_magic(labels, labels_magic, "IDX1 unsigned-byte labels");
  const std::uint32_t n_labels = labels.read_u32_be("the label count");

  if (n == 0) throw InvalidInput(images_path + ": the header declares zero images");
  if (height == 0 || width == 0) {
    throw InvalidInput(images_path + ": the header declares empty images (" +
                       std::to_string(height) + " x " + std::to_string(width) + ")");
  }
  const std::uint64_t pixels = std::uint64_t(height) * width;
  if (pixels > std::numeric_limits<Index>::max()) {
    throw InvalidInput(images_path + ": images of " + std::to_string(height) + " x " +
                       std::to_string(width) + " pixels are too large");
  }
  if (n_labels != n) {
    throw InvalidInput(images_path + ": holds " + std::to_string(n) + " images but " + labels_path +
                       " holds " + std::to_string(n_labels) + " labels");
  }

  // Read like the pixels: a header may declare up to 4 billion labels in a file of a few bytes.
  std::vector<unsigned char> label_bytes;
  label_bytes.reserve(std::size_t(std::min<std::uint64_t>(n, reserve_ahead)));
  read_chunks(labels, n, "the " + std::to_string(n) + " labels the header declares",
              [&](std::span<const unsigned char> bytes) {
                label_bytes.insert(label_bytes.end(), bytes.begin(), bytes.end());
              });
  labels.expect_end("the header declares");

  Dataset data;
  data.name = images_path;
  data.rows = n;
  data.cols = std::size_t(pixels);
  data.sparse = false;
  read_pixels(images, std::uint64_t(n) * pixels,
              "the " + std::to_string(n) + " images of " + std::to_string(height) + " x " +
                  std::to_string(width) + " pixels the header declares",
              data.val);
  images.expect_end("the header declares");

  const unsigned char largest = *std::max_element(label_bytes.begin(), label_bytes.end());
  data.num_classes = std::max(10, int(largest) + 1);
  data.y.assign(label_bytes.begin(), label_bytes.end());
  for (int c = 0; c < data.num_classes; ++c) data.class_values.push_back(c);
  data.label_mapping = data.num_classes == 10 ? "digits 0-9 (label d -> class d)"
                                              : "labels 0-" + std::to_string(data.num_classes - 1) +
                                                    " (label v -> class v; labels above 9 present)";
  return data;
}

std::pair<Dataset, Dataset> split_rows(const Dataset& data, std::size_t first_rows) {
  if (first_rows == 0 || first_rows >= data.rows) {
    throw InvalidInput(data.name + ": cannot split " + std::to_string(data.rows) +
                       " rows after row " + std::to_string(first_rows) +
                       " (both parts must be non-empty)");
  }
  const auto part = [&](std::size_t begin, std::size_t end) {
    Dataset p;
    p.name = data.name + " [rows " + std::to_string(begin) + ", " + std::to_string(end) + ")";
    p.rows = end - begin;
    p.cols = data.cols;
    p.sparse = data.sparse;
    const auto b = std::ptrdiff_t(begin), e = std::ptrdiff_t(end);
    if (data.sparse) {
      const std::uint64_t first = data.row_ptr[begin], last = data.row_ptr[end];
      for (std::size_t i = begin; i <= end; ++i) p.row_ptr.push_back(data.row_ptr[i] - first);
      p.col.assign(data.col.begin() + std::ptrdiff_t(first),
                   data.col.begin() + std::ptrdiff_t(last));
      p.val.assign(data.val.begin() + std::ptrdiff_t(first),
                   data.val.begin() + std::ptrdiff_t(last));
    } else {
      const auto w = std::ptrdiff_t(data.cols);
      p.val.assign(data.val.begin() + b * w, data.val.begin() + e * w);
    }
    p.y.assign(data.y.begin() + b, data.y.begin() + e);
    p.num_classes = data.num_classes;
    p.label_mapping = data.label_mapping;
    p.class_values = data.class_values;
    if (!data.source.empty()) p.source.assign(data.source.begin() + b, data.source.begin() + e);
    return p;
  };
  return {part(0, first_rows), part(first_rows, data.rows)};
}

}  // namespace herd::data
