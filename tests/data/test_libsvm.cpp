#include <gtest/gtest.h>

#include <unistd.h>
#include <zlib.h>
#include "expect_dataset.hpp"
#include "temp_files.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/data/libsvm.hpp"

namespace herd::data {
namespace {

namespace fs = std::filesystem;

const fs::path libsvm_dir = fs::path(HERD_DATA_DIR) / "libsvm";

#define REQUIRE_DATA(file)                                  \
  if (!fs::exists(libsvm_dir / (file)))                     \
  GTEST_SKIP() << "real data set " << (libsvm_dir / (file)) \
               << " is absent (HERD_DATA_DIR = " << HERD_DATA_DIR << ")"

// A fresh directory per test, removed afterwards.

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The message of the InvalidInput that reading `path` throws ("" when nothing is thrown).
std::string read_error(const std::string& path, const LibsvmOptions& options = {}) {
  try {
    read_libsvm(path, options);
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "";
}

struct RealFile {
  const char* file;
  std::size_t rows, cols, nnz;
  const char* mapping;
  std::size_t class1;  // rows of class 1
  double value_sum;
};

class RealFiles : public ::testing::TestWithParam<RealFile> {};

TEST_P(RealFiles, LoadWithTheReadmeCounts) {
  const RealFile& f = GetParam();
  REQUIRE_DATA(f.file);
  const auto start = std::chrono::steady_clock::now();
  const Dataset d = read_libsvm((libsvm_dir / f.file).string());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("load_seconds", std::to_string(seconds));

  EXPECT_EQ(d.rows, f.rows);
  EXPECT_EQ(d.cols, f.cols);
  EXPECT_TRUE(d.sparse);
  EXPECT_EQ(d.nnz(), f.nnz);
  ASSERT_EQ(d.row_ptr.size(), d.rows + 1);
  EXPECT_EQ(d.row_ptr.back(), f.nnz);
  EXPECT_EQ(d.y.size(), d.rows);
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_EQ(d.label_mapping, f.mapping);
  EXPECT_EQ(std::count(d.y.begin(), d.y.end(), 1.0f), std::ptrdiff_t(f.class1));
  EXPECT_EQ(std::count(d.y.begin(), d.y.end(), 0.0f), std::ptrdiff_t(f.rows - f.class1));
  const double sum = std::accumulate(d.val.begin(), d.val.end(), 0.0);
  EXPECT_NEAR(sum, f.value_sum, 1e-6 * f.value_sum);
  for (std::size_t i = 0; i < d.rows; ++i) {
    for (std::uint64_t p = d.row_ptr[i]; p + 1 < d.row_ptr[i + 1]; ++p) {
      ASSERT_LT(d.col[p], d.col[p + 1]) << "row " << i;
    }
  }
}

// Counts from /work/shared/data/README.md; nnz and value sums counted independently.
INSTANTIATE_TEST_SUITE_P(
    Libsvm, RealFiles,
    ::testing::Values(RealFile{"a9a", 32561, 123, 451592, "-1 -> 0, +1 -> 1", 7841, 451592},
                      RealFile{"a9a.t", 16281, 123, 225732, "-1 -> 0, +1 -> 1", 3846, 225731},
                      RealFile{"a8a", 22696, 123, 314815, "-1 -> 0, +1 -> 1", 5506, 314815},
                      RealFile{"w8a", 49749, 300, 579586, "-1 -> 0, +1 -> 1", 1479, 579586},
                      RealFile{"mushrooms", 8124, 112, 170604, "1 -> 0, 2 -> 1", 4208, 170604},
                      RealFile{"phishing", 11055, 68, 331650, "0 -> 0, 1 -> 1", 6157,
                               60549.34049968832}),
    [](const auto& p) {
      std::string name = p.param.file;
      for (char& c : name) {
        if (c == '.') c = '_';
      }
      return name;
    });

TEST(Libsvm, A9aFirstRowIsExact) {
  REQUIRE_DATA("a9a");
  const Dataset d = read_libsvm((libsvm_dir / "a9a").string());
  // "-1 3:1 11:1 14:1 19:1 39:1 42:1 55:1 64:1 67:1 73:1 75:1 76:1 80:1 83:1"
  const std::vector<Index> cols{2, 10, 13, 18, 38, 41, 54, 63, 66, 72, 74, 75, 79, 82};
  ASSERT_EQ(d.row_ptr[1], cols.size());
  EXPECT_EQ(std::vector<Index>(d.col.begin(), d.col.begin() + 14), cols);
  EXPECT_EQ(std::vector<float>(d.val.begin(), d.val.begin() + 14), std::vector<float>(14, 1.0f));
  EXPECT_EQ(d.y[0], 0.0f);
  EXPECT_EQ(d.class_values, (std::vector<double>{-1.0, 1.0}));
}

TEST(Libsvm, TestFileReadWithTrainingMapping) {
  REQUIRE_DATA("a9a");
  REQUIRE_DATA("a9a.t");
  const Dataset train = read_libsvm((libsvm_dir / "a9a").string());
  const Dataset test =
      read_libsvm((libsvm_dir / "a9a.t").string(),
                  {.num_features = train.cols, .class_values = train.class_values});
  EXPECT_EQ(test.cols, train.cols);
  EXPECT_EQ(test.class_values, train.class_values);
  EXPECT_EQ(test.label_mapping, train.label_mapping);
  EXPECT_EQ(std::count(test.y.begin(), test.y.end(), 1.0f), 3846);
}

TEST(Libsvm, GzipCopyIsIdentical) {
  TempDir dir;
  for (const char* file : {"a9a", "mushrooms"}) {  // mushrooms lacks the final newline
    REQUIRE_DATA(file);
    const std::string plain = (libsvm_dir / file).string();
    const std::string gz = gzip_file(dir.path(std::string(file) + ".gz"), slurp(plain));
    const Dataset a = read_libsvm(plain), b = read_libsvm(gz);
    EXPECT_EQ(b.name, gz);
    expect_same_dataset(a, b);
  }
}

TEST(Libsvm, AcceptsCommentsBlankLinesQidTabsCrlfAndNoFinalNewline) {
  TempDir dir;
  const std::string text =
      "# a header comment\n"
      "\n"
      "+1 qid:3 1:0.5 4:-2e-1   # trailing comment\n"
      "   \t\n"
      "-1\t2:1\t3:0\r\n"
      "-1 # a row without features\n"
      "+1 qid:4 5:7";
  const std::string plain = dir.write("ok.svm", text);
  const Dataset d = read_libsvm(plain);
  EXPECT_EQ(d.rows, 4u);
  EXPECT_EQ(d.cols, 5u);
  EXPECT_EQ(d.row_ptr, (std::vector<std::uint64_t>{0, 2, 4, 4, 5}));
  EXPECT_EQ(d.col, (std::vector<Index>{0, 3, 1, 2, 4}));
  EXPECT_EQ(d.val, (std::vector<float>{0.5f, -0.2f, 1.0f, 0.0f, 7.0f}));  // explicit 0 kept
  EXPECT_EQ(d.y, (std::vector<float>{1, 0, 0, 1}));
  EXPECT_EQ(d.label_mapping, "-1 -> 0, +1 -> 1");
  EXPECT_EQ(d.name, plain);
  expect_same_dataset(d, read_libsvm(gzip_file(dir.path("ok.svm.gz"), text)));
}

TEST(Libsvm, BinaryConventionsBecomeClassesZeroAndOne) {
  TempDir dir;
  const struct {
    const char* text;
    const char* mapping;
  } cases[] = {{"1 1:1\n-1 1:2\n", "-1 -> 0, 1 -> 1"},
               {"1 1:1\n0 1:2\n", "0 -> 0, 1 -> 1"},
               {"2 1:1\n1 1:2\n", "1 -> 0, 2 -> 1"}};
  for (const auto& c : cases) {
    const Dataset d = read_libsvm(dir.write("b.svm", c.text));
    EXPECT_EQ(d.num_classes, 2);
    EXPECT_EQ(d.y, (std::vector<float>{1, 0})) << c.text;
    EXPECT_EQ(d.label_mapping, c.mapping);
  }
}

TEST(Libsvm, MultiClassLabelsAreKept) {
  TempDir dir;
  const Dataset d = read_libsvm(dir.write("m.svm", "3 1:1\n1 2:1\n7 1:1\n3 3:1\n-2 1:1\n"));
  EXPECT_EQ(d.num_classes, 4);
  EXPECT_EQ(d.class_values, (std::vector<double>{-2, 1, 3, 7}));
  EXPECT_EQ(d.y, (std::vector<float>{2, 1, 3, 2, 0}));
  EXPECT_EQ(d.label_mapping, "-2 -> 0, 1 -> 1, 3 -> 2, 7 -> 3");
}

TEST(Libsvm, LabelTaskDecidesBetweenClassesAndTargets) {
  TempDir dir;
  const std::string fractional = dir.write("f.svm", "0.5 1:1\n-1.25 1:1\n0.5 1:2\n");
  const Dataset auto_reg = read_libsvm(fractional);
  EXPECT_EQ(auto_reg.num_classes, 0);
  EXPECT_TRUE(auto_reg.class_values.empty());
  EXPECT_EQ(auto_reg.y, (std::vector<float>{0.5f, -1.25f, 0.5f}));

  const Dataset forced = read_libsvm(fractional, {.task = LabelTask::classification});
  EXPECT_EQ(forced.num_classes, 2);
  EXPECT_EQ(forced.y, (std::vector<float>{1, 0, 1}));

  const std::string integral = dir.write("i.svm", "1 1:1\n-1 1:1\n");
  const Dataset reg = read_libsvm(integral, {.task = LabelTask::regression});
  EXPECT_EQ(reg.num_classes, 0);
  EXPECT_EQ(reg.y, (std::vector<float>{1, -1}));

  // More than max_auto_classes distinct integers: regression under auto.
  std::string many;
  for (std::size_t i = 0; i <= max_auto_classes; ++i) many += std::to_string(i) + " 1:1\n";
  const std::string many_path = dir.write("many.svm", many);
  EXPECT_EQ(read_libsvm(many_path).num_classes, 0);
  EXPECT_EQ(read_libsvm(many_path, {.task = LabelTask::classification}).num_classes,
            int(max_auto_classes + 1));
  many.erase(many.rfind("1000 1:1\n"));
  EXPECT_EQ(read_libsvm(dir.write("thousand.svm", many)).num_classes, int(max_auto_classes));

  EXPECT_EQ(parse_label_task("auto"), LabelTask::automatic);
  EXPECT_EQ(parse_label_task("classification"), LabelTask::classification);
  EXPECT_EQ(parse_label_task("regression"), LabelTask::regression);
  EXPECT_THROW(parse_label_task("binary"), InvalidInput);
}

TEST(Libsvm, TrainingMappingAppliesToTestFile) {
  TempDir dir;
  const Dataset train = read_libsvm(dir.write("train", "-1 1:1\n+1 2:1\n"));
  const Dataset test = read_libsvm(dir.write("test", "+1 1:1\n+1 3:1\n"),
                                   {.num_features = 4, .class_values = train.class_values});
  EXPECT_EQ(test.num_classes, 2);
  EXPECT_EQ(test.y, (std::vector<float>{1, 1}));
  EXPECT_EQ(test.cols, 4u);
  EXPECT_EQ(test.label_mapping, "-1 -> 0, +1 -> 1");
  // Alone, the test file would have a single class.
  EXPECT_EQ(read_libsvm(dir.path("test")).num_classes, 1);

  const std::string unseen = dir.write("unseen", "+1 1:1\n# c\n2 1:1\n");
  const std::string message = read_error(unseen, {.class_values = train.class_values});
  EXPECT_EQ(message.rfind(unseen + ":3: ", 0), 0u) << message;
  EXPECT_NE(message.find("'2'"), std::string::npos) << message;

  const std::string wide = dir.write("wide", "+1 1:1 5:1\n");
  const std::string too_wide = read_error(wide, {.num_features = 4});
  EXPECT_EQ(too_wide.rfind(wide + ":1: ", 0), 0u) << too_wide;
  EXPECT_NE(too_wide.find("num_features = 4"), std::string::npos) << too_wide;

  // Fractional class values from a forced-classification training file stay classes.
  const Dataset halves =
      read_libsvm(dir.write("halves", "0.5 1:1\n"), {.class_values = {0.5, 1.5}});
  EXPECT_EQ(halves.num_classes, 2);
  EXPECT_EQ(halves.y, (std::vector<float>{0}));
  EXPECT_THROW(read_libsvm(wide, {.class_values = {1.0, -1.0}}), InvalidInput);
  EXPECT_THROW(read_libsvm(wide, {.task = LabelTask::regression, .class_values = {-1.0, 1.0}}),
               InvalidInput);
}

struct Malformed {
  const char* name;
  const char* text;
  int line;  // 0: the message names the file but no line
  const char* says;
};

class MalformedInput : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedInput, ThrowsInvalidInputNamingFileAndLine) {
  const Malformed& m = GetParam();
  TempDir dir;
  for (const bool gz : {false, true}) {
    const std::string path = gz ? gzip_file(dir.path("bad.gz"), m.text) : dir.write("bad", m.text);
    const std::string message = read_error(path);
    const std::string prefix = path + (m.line > 0 ? ":" + std::to_string(m.line) + ": " : ": ");
    EXPECT_EQ(message.rfind(prefix, 0), 0u)
        << "expected prefix '" << prefix << "', got '" << message << "'";
    EXPECT_NE(message.find(m.says), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Libsvm, MalformedInput,
    ::testing::Values(
        Malformed{"index_zero", "1 1:1\n-1 0:1\n", 2, "index 0"},
        Malformed{"negative_index", "1 -3:1\n", 1, "negative feature index '-3'"},
        Malformed{"decreasing_index", "1 1:1\n\n1 5:1 3:1\n", 3, "strictly increasing"},
        Malformed{"repeated_index", "1 2:1 2:1\n", 1, "feature index 2 repeated"},
        Malformed{"non_numeric_index", "1 a:1\n", 1, "'a' is not a positive integer"},
        Malformed{"fractional_index", "1 1.5:1\n", 1, "'1.5' is not a positive integer"},
        Malformed{"index_too_large", "1 4294967296:1\n", 1, "too large"},
        Malformed{"non_numeric_value", "1 1:1\n1 2:abc\n", 2, "'abc' is not a number"},
        Malformed{"nan_value", "1 2:nan\n", 1, "'nan' is not finite"},
        Malformed{"inf_value", "1 2:-inf\n", 1, "'-inf' is not finite"},
        Malformed{"value_beyond_float", "1 2:1e39\n", 1, "out of float range"},
        Malformed{"value_out_of_range", "1 2:1e999\n", 1, "out of range"},
        Malformed{"nan_label", "nan 1:1\n", 1, "label 'nan' is not finite"},
        Malformed{"inf_label", "1 1:1\ninf 1:1\n", 2, "label 'inf' is not finite"},
        Malformed{"non_numeric_label", "yes 1:1\n", 1, "label 'yes' is not a number"},
        Malformed{"double_sign_label", "+-1 1:1\n", 1, "label '+-1' is not a number"},
        Malformed{"missing_label", "1 1:1\n2:1 3:1\n", 2, "missing label"},
        Malformed{"missing_colon", "1 1:1 3\n", 1, "missing colon in '3'"},
        Malformed{"missing_index", "1 :1\n", 1, "missing feature index"},
        Malformed{"empty_value", "1 3:\n", 1, "empty value for feature 3"},
        Malformed{"trailing_garbage", "1 1:1 3:1 junk\n", 1, "unexpected text 'junk'"},
        Malformed{"garbage_after_value", "1 3:1.5x\n", 1, "'1.5x' is not a number"},
        Malformed{"double_colon", "1 3:1:2\n", 1, "'1:2' is not a number"},
        Malformed{"after_comments_and_crlf", "# c\r\n\r\n1 1:1\r\n1 2:1 2:3\r\n", 4, "repeated"},
        Malformed{"no_final_newline", "1 1:1\n1 1:x", 2, "'x' is not a number"},
        Malformed{"empty_file", "", 0, "no data rows"},
        Malformed{"only_comments", "# one\n\n   # two\n", 0, "no data rows"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(Libsvm, MissingFileAndDirectoryAreInvalidInput) {
  TempDir dir;
  const std::string missing = dir.path("no_such_file");
  EXPECT_EQ(read_error(missing), missing + ": no such file");
  const std::string folder = dir.path("folder");
  fs::create_directory(folder);
  const std::string message = read_error(folder);
  EXPECT_EQ(message.rfind(folder + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("directory"), std::string::npos) << message;
}

std::string numbered_rows(int rows) {
  std::string text;
  for (int i = 0; i < rows; ++i) {
    text += std::to_string(i % 2) + " " + std::to_string(1 + i % 50) + ":" +
            std::to_string(i * 0.001) + " 77:" + std::to_string(i) + "\n";
  }
  return text;
}

TEST(Libsvm, TruncatedGzipIsReported) {
  TempDir dir;
  const std::string gz = slurp(gzip_file(dir.path("whole.gz"), numbered_rows(20000)));
  ASSERT_GT(gz.size(), 1000u);
  for (const std::size_t keep : {gz.size() / 2, gz.size() - 4, std::size_t(12)}) {
    const std::string path = dir.write("cut.gz", gz.substr(0, keep));
    const std::string message = read_error(path);
    EXPECT_EQ(message.rfind(path + ":", 0), 0u) << message;
    EXPECT_NE(message.find("truncated gzip file"), std::string::npos) << message;
  }
}

TEST(Libsvm, CorruptGzipIsReported) {
  TempDir dir;
  const std::string gz = slurp(gzip_file(dir.path("whole.gz"), numbered_rows(20000)));
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] = char(bad_crc[gz.size() - 6] ^ 0xff);  // the CRC-32 trailer
  const std::string crc_path = dir.write("crc.gz", bad_crc);
  const std::string crc_message = read_error(crc_path);
  EXPECT_EQ(crc_message.rfind(crc_path + ":", 0), 0u) << crc_message;
  EXPECT_NE(crc_message.find("corrupt gzip data"), std::string::npos) << crc_message;

  // Damage inside the deflate stream may surface as garbage text first: the stream is still
  // what gets blamed.
  for (const std::size_t at : {gz.size() / 3, gz.size() / 2}) {
    std::string bad = gz;
    for (std::size_t i = at; i < at + 64; ++i) bad[i] = char(bad[i] ^ 0x5a);
    const std::string path = dir.write("bad.gz", bad);
    const std::string message = read_error(path);
    EXPECT_EQ(message.rfind(path + ":", 0), 0u) << message;
    EXPECT_TRUE(message.find("corrupt gzip data") != std::string::npos ||
                message.find("truncated gzip file") != std::string::npos)
        << message;
  }
}

TEST(Libsvm, LongLinesCrossTheReadBuffer) {
  TempDir dir;
  std::string text = "1";
  for (int j = 1; j <= 300000; ++j) {  // ~3 MB on one line
    text += ' ';
    text += std::to_string(j);
    text += ":0.25";
  }
  text += "\n-1 2:1\n";
  const Dataset d = read_libsvm(dir.write("long.svm", text));
  EXPECT_EQ(d.rows, 2u);
  EXPECT_EQ(d.cols, 300000u);
  EXPECT_EQ(d.row_ptr, (std::vector<std::uint64_t>{0, 300000, 300001}));
  EXPECT_EQ(d.col.back(), 1u);
}

}  // namespace
}  // namespace herd::data
