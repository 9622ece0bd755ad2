#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "expect_dataset.hpp"
#include "herd/core/error.hpp"
#include "herd/data/idx.hpp"
#include "temp_files.hpp"

namespace herd::data {
namespace {

namespace fs = std::filesystem;

const fs::path mnist_dir = fs::path(HERD_DATA_DIR) / "mnist";
const std::string mnist_images = (mnist_dir / "t10k-images-idx3-ubyte.gz").string();
const std::string mnist_labels = (mnist_dir / "t10k-labels-idx1-ubyte.gz").string();

#define REQUIRE_MNIST()                                                       \
  if (!fs::exists(mnist_images) || !fs::exists(mnist_labels))                 \
  GTEST_SKIP() << "real MNIST test set is absent from " << mnist_dir.string() \
               << " (HERD_DATA_DIR = " << HERD_DATA_DIR << ")"

// A fresh directory per test, removed afterwards.

std::string big_endian(std::uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

std::string idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols,
                       const std::vector<unsigned char>& pixels) {
  return big_endian(0x803) + big_endian(n) + big_endian(rows) + big_endian(cols) +
         std::string(pixels.begin(), pixels.end());
}

std::string idx_labels(const std::vector<unsigned char>& labels) {
  return big_endian(0x801) + big_endian(std::uint32_t(labels.size())) +
         std::string(labels.begin(), labels.end());
}

// Three 2 x 3 images with every pixel value class represented (0, 255, in between).
const std::vector<unsigned char> pixels = {0,  255, 1,  2,   128, 254, 10, 20, 30,
                                           40, 50,  60, 255, 0,   7,   99, 1,  0};
const std::vector<unsigned char> labels = {7, 0, 9};

// The message of the InvalidInput that reading the pair throws ("" when nothing is thrown).
std::string read_error(const std::string& images, const std::string& labels_path) {
  try {
    read_idx(images, labels_path);
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "";
}

TEST(ReadIdx, MnistTestSetHasKnownShapeAndLabelCounts) {
  REQUIRE_MNIST();
  const Dataset d = read_idx(mnist_images, mnist_labels);
  EXPECT_EQ(d.name, mnist_images);
  EXPECT_EQ(d.rows, 10000u);
  EXPECT_EQ(d.cols, 784u);
  EXPECT_FALSE(d.sparse);
  ASSERT_EQ(d.val.size(), 10000u * 784u);
  ASSERT_EQ(d.y.size(), 10000u);
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.class_values, (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(d.label_mapping, "digits 0-9 (label d -> class d)");
  EXPECT_EQ(d.y[0], 7.0f);

  std::array<int, 10> counts{};
  for (const float label : d.y) {
    ASSERT_TRUE(label >= 0 && label <= 9 && label == float(int(label))) << label;
    ++counts[std::size_t(label)];
  }
  EXPECT_EQ(counts, (std::array<int, 10>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));

  const auto [lo, hi] = std::minmax_element(d.val.begin(), d.val.end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
}

TEST(SplitRows, MnistSplitKeepsOrderAndSizes) {
  REQUIRE_MNIST();
  const Dataset d = read_idx(mnist_images, mnist_labels);
  const auto [train, test] = split_rows(d, 8000);
  EXPECT_EQ(train.rows, 8000u);
  EXPECT_EQ(test.rows, 2000u);
  EXPECT_EQ(train.cols, 784u);
  EXPECT_EQ(test.cols, 784u);
  const auto w = std::ptrdiff_t(d.cols);
  EXPECT_TRUE(
      std::equal(train.val.begin(), train.val.end(), d.val.begin(), d.val.begin() + 8000 * w));
  EXPECT_TRUE(std::equal(test.val.begin(), test.val.end(), d.val.begin() + 8000 * w, d.val.end()));
  EXPECT_TRUE(std::equal(train.y.begin(), train.y.end(), d.y.begin(), d.y.begin() + 8000));
  EXPECT_TRUE(std::equal(test.y.begin(), test.y.end(), d.y.begin() + 8000, d.y.end()));
  EXPECT_EQ(train.y[0], 7.0f);
  for (const Dataset* part : {&train, &test}) {
    EXPECT_EQ(part->num_classes, 10);
    EXPECT_EQ(part->class_values, d.class_values);
    EXPECT_EQ(part->label_mapping, d.label_mapping);
  }
  EXPECT_EQ(train.name, mnist_images + " [rows 0, 8000)");
  EXPECT_EQ(test.name, mnist_images + " [rows 8000, 10000)");
}

TEST(ReadIdx, HandWrittenFilesRoundTripPlainAndGzip) {
  TempDir dir;
  const std::string images_bytes = idx_images(3, 2, 3, pixels);
  const std::string labels_bytes = idx_labels(labels);
  const std::string images = dir.write("images", images_bytes);
  const std::string labels_path = dir.write("labels", labels_bytes);
  const std::string images_gz = dir.gzip("images.gz", images_bytes);
  const std::string labels_gz = dir.gzip("labels.gz", labels_bytes);

  const Dataset d = read_idx(images, labels_path);
  EXPECT_EQ(d.rows, 3u);
  EXPECT_EQ(d.cols, 6u);
  EXPECT_FALSE(d.sparse);
  ASSERT_EQ(d.val.size(), pixels.size());
  for (std::size_t i = 0; i < pixels.size(); ++i) EXPECT_EQ(d.val[i], float(pixels[i]) / 255.0f);
  EXPECT_EQ(d.val[0], 0.0f);
  EXPECT_EQ(d.val[1], 1.0f);
  EXPECT_EQ(d.y, (std::vector<float>{7, 0, 9}));
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.class_values.size(), 10u);
  EXPECT_EQ(d.label_mapping, "digits 0-9 (label d -> class d)");
  EXPECT_TRUE(d.source.empty());
  // row_dot sees the layout: row 1 is pixels 6..11.
  const std::vector<double> ones(6, 1.0);
  EXPECT_DOUBLE_EQ(d.row_dot(1, std::span<const double>(ones)),
                   double(10.f / 255) + double(20.f / 255) + double(30.f / 255) +
                       double(40.f / 255) + double(50.f / 255) + double(60.f / 255));

  expect_same_dataset(d, read_idx(images_gz, labels_gz));
  expect_same_dataset(d, read_idx(images_gz, labels_path));
  expect_same_dataset(d, read_idx(images, labels_gz));
  EXPECT_EQ(read_idx(images_gz, labels_gz).name, images_gz);
}

TEST(ReadIdx, LabelsAboveNineWidenTheClasses) {
  TempDir dir;
  const Dataset d = read_idx(dir.write("i", idx_images(3, 2, 3, pixels)),
                             dir.write("l", idx_labels({12, 0, 255})));
  EXPECT_EQ(d.num_classes, 256);
  EXPECT_EQ(d.class_values.size(), 256u);
  EXPECT_EQ(d.class_values.back(), 255.0);
  EXPECT_EQ(d.y, (std::vector<float>{12, 0, 255}));
  EXPECT_EQ(d.label_mapping, "labels 0-255 (label v -> class v; labels above 9 present)");
}

TEST(SplitRows, SparseRowsAndSourcesAreRebased) {
  Dataset d;
  d.name = "s";
  d.rows = 3;
  d.cols = 4;
  d.sparse = true;
  d.row_ptr = {0, 2, 2, 5};
  d.col = {0, 3, 0, 1, 2};
  d.val = {1, 2, 3, 4, 5};
  d.y = {1, 0, 1};
  d.num_classes = 2;
  d.class_values = {-1, 1};
  d.label_mapping = "-1 -> 0, 1 -> 1";
  d.source = {0, 0, 1};
  const auto [a, b] = split_rows(d, 1);
  EXPECT_EQ(a.rows, 1u);
  EXPECT_EQ(a.row_ptr, (std::vector<std::uint64_t>{0, 2}));
  EXPECT_EQ(a.col, (std::vector<Index>{0, 3}));
  EXPECT_EQ(a.val, (std::vector<float>{1, 2}));
  EXPECT_EQ(a.source, (std::vector<Index>{0}));
  EXPECT_EQ(b.rows, 2u);
  EXPECT_EQ(b.cols, 4u);
  EXPECT_EQ(b.row_ptr, (std::vector<std::uint64_t>{0, 0, 3}));
  EXPECT_EQ(b.col, (std::vector<Index>{0, 1, 2}));
  EXPECT_EQ(b.val, (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(b.y, (std::vector<float>{0, 1}));
  EXPECT_EQ(b.source, (std::vector<Index>{0, 1}));
  EXPECT_EQ(b.class_values, d.class_values);
  EXPECT_EQ(b.nnz(), 3u);
}

TEST(SplitRows, RejectsAnEmptyPart) {
  Dataset d;
  d.name = "tiny";
  d.rows = 2;
  d.cols = 1;
  d.val = {0, 1};
  d.y = {0, 1};
  EXPECT_THROW(split_rows(d, 0), InvalidInput);
  EXPECT_THROW(split_rows(d, 2), InvalidInput);
  EXPECT_THROW(split_rows(d, 3), InvalidInput);
  EXPECT_EQ(split_rows(d, 1).second.val, (std::vector<float>{1}));
}

struct Malformed {
  const char* what;
  std::string images, labels;  // file contents
  bool at_fault_is_labels = false;
  const char* expected;  // part of the message
};

TEST(ReadIdx, MalformedFilesNameThePathAndTheProblem) {
  const std::string good_images = idx_images(3, 2, 3, pixels);
  const std::string good_labels = idx_labels(labels);
  std::string bad_magic_images = good_images;
  bad_magic_images[2] = 0x0d;  // float data, not unsigned bytes
  std::string bad_magic_labels = good_labels;
  bad_magic_labels[3] = 0x02;
  const std::vector<Malformed> cases = {
      {"bad magic on images", bad_magic_images, good_labels, false,
       "bad magic number: expected 0x00000803 (IDX3 unsigned-byte images), found 0x00000d03"},
      {"bad magic on labels", good_images, bad_magic_labels, true,
       "bad magic number: expected 0x00000801 (IDX1 unsigned-byte labels), found 0x00000802"},
      {"swapped", good_labels, good_images, false,
       "found 0x00000801 (a label file: are images and labels swapped?)"},
      {"count mismatch", good_images, idx_labels({7, 0}), false, "holds 3 images but"},
      {"truncated images", good_images.substr(0, good_images.size() - 1), good_labels, false,
       "truncated: the file ends after 33 bytes, inside the 3 images of 2 x 3 pixels"},
      {"truncated header", good_images.substr(0, 10), good_labels, false,
       "truncated: the file ends after 10 bytes, inside the row count"},
      {"truncated labels", good_images, good_labels.substr(0, 9), true,
       "truncated: the file ends after 9 bytes, inside the 3 labels"},
      {"trailing bytes", good_images + "x", good_labels, false,
       "trailing bytes after the 34 bytes the header declares"},
      {"zero images", idx_images(0, 2, 3, {}), idx_labels({}), false,
       "the header declares zero images"},
      {"empty images", idx_images(3, 0, 3, {}), good_labels, false,
       "the header declares empty images (0 x 3)"},
  };
  TempDir dir;
  for (const Malformed& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string images = dir.write("images", c.images);
    const std::string labels_path = dir.write("labels", c.labels);
    const std::string message = read_error(images, labels_path);
    const std::string& at_fault = c.at_fault_is_labels ? labels_path : images;
    EXPECT_TRUE(message.starts_with(at_fault + ": ")) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

// The peak resident memory of this process so far, in MiB.
long peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

// Found by fuzz/fuzz_idx.cpp (fuzz/corpus/idx/crash_labels_declared_not_held, in its format:
// two bytes of label-file length, the label file, the image file): headers declaring
// 4,294,967,295 labels and images in files of a few bytes. The reader allocated the labels
// the header declared before reading any (4 GiB, out of memory under the fuzzer); it must
// fail on the truncation having allocated about what the files hold.
TEST(ReadIdx, CountsDeclaredButNotHeldFailAsTruncatedWithoutAllocatingThem) {
  std::ifstream in(std::string(HERD_SOURCE_DIR) + "/fuzz/corpus/idx/crash_labels_declared_not_held",
                   std::ios::binary);
  const std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(input.size(), 2u);
  const std::size_t label_bytes =
      std::min<std::size_t>(std::uint8_t(input[0]) | std::uint8_t(input[1]) << 8, input.size() - 2);
  TempDir dir;
  const std::string labels_path = dir.write("labels", input.substr(2, label_bytes));
  const std::string images = dir.write("images", input.substr(2 + label_bytes));
  const long before = peak_rss_mib();
  const std::string message = read_error(images, labels_path);
  EXPECT_TRUE(message.starts_with(labels_path + ": truncated")) << message;
  EXPECT_NE(message.find("inside the 4294967295 labels the header declares"), std::string::npos)
      << message;
  EXPECT_LT(peak_rss_mib() - before, 512) << "MiB allocated for a file of a few bytes";
}

TEST(ReadIdx, CountMismatchNamesBothFiles) {
  TempDir dir;
  const std::string images = dir.write("images", idx_images(3, 2, 3, pixels));
  const std::string labels_path = dir.write("labels", idx_labels({7, 0}));
  EXPECT_EQ(read_error(images, labels_path),
            images + ": holds 3 images but " + labels_path + " holds 2 labels");
}

TEST(ReadIdx, TruncatedAndCorruptGzipAreReported) {
  TempDir dir;
  // Incompressible-looking pixels so the compressed stream is long enough to cut.
  std::vector<unsigned char> noise(600 * 6);
  std::uint32_t state = 12345;
  for (auto& b : noise) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<unsigned char>(state >> 24);
  }
  const std::string labels_path = dir.write("labels", idx_labels(std::vector<unsigned char>(600)));
  const std::string whole = dir.gzip("whole.gz", idx_images(600, 2, 3, noise));
  ASSERT_NO_THROW(read_idx(whole, labels_path));
  std::ifstream in(whole, std::ios::binary);
  const std::string gz((std::istreambuf_iterator<char>(in)), {});

  const std::string cut = dir.write("cut.gz", gz.substr(0, gz.size() / 2));
  EXPECT_EQ(read_error(cut, labels_path),
            cut + ": truncated gzip file (the compressed stream ends early)");

  std::string damaged = gz;
  damaged[damaged.size() - 6] ^= 0x55;  // inside the CRC-32 trailer
  const std::string corrupt = dir.write("corrupt.gz", damaged);
  const std::string message = read_error(corrupt, labels_path);
  EXPECT_TRUE(message.starts_with(corrupt + ": corrupt gzip data (")) << message;
}

TEST(ReadIdx, MissingFileAndDirectoryAreNamed) {
  TempDir dir;
  const std::string images = dir.write("images", idx_images(3, 2, 3, pixels));
  const std::string labels_path = dir.write("labels", idx_labels(labels));
  const std::string missing = dir.path("no-such-file.gz");
  EXPECT_EQ(read_error(missing, labels_path), missing + ": no such file");
  EXPECT_EQ(read_error(images, missing), missing + ": no such file");
  const std::string folder = dir.path("");
  EXPECT_EQ(read_error(images, folder), folder + ": is a directory, not a data file");
  EXPECT_EQ(read_error(folder, labels_path), folder + ": is a directory, not a data file");
}

}  // namespace
}  // namespace herd::data
