// The CIFAR-10 binary reader (data/cifar.hpp) on files the tests write.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cifar_files.hpp"
#include "herd/core/error.hpp"
#include "herd/data/cifar.hpp"

namespace herd::data {
namespace {

std::string read_error(const std::vector<std::string>& paths) {
  try {
    read_cifar10(paths);
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "";
}

TEST(ReadCifar10, ReadsRecordsOfPlainAndGzipFilesInOrder) {
  const TempDir dir;
  write_cifar_dir(dir, 3, 2);
  const std::vector<std::string> files = cifar10_train_files(dir.path(""));
  ASSERT_EQ(files.size(), 5u);
  EXPECT_EQ(files[0], dir.path("data_batch_1.bin"));
  EXPECT_EQ(files[1], dir.path("data_batch_2.bin.gz"));  // FILE.gz when FILE is absent
  const Dataset d = read_cifar10(files);
  EXPECT_EQ(d.rows, 15u);
  EXPECT_EQ(d.cols, 3072u);
  EXPECT_FALSE(d.sparse);
  ASSERT_EQ(d.val.size(), 15u * 3072u);
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.class_values.size(), 10u);
  // Batch b holds labels 2b, 2b + 1, 2b + 2 (mod 10).
  EXPECT_EQ(d.y, (std::vector<float>{2, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9, 0, 0, 1, 2}));
  // Batch 2 (gzipped), record 1, pixel 1000 (red plane, row 31, column 8):
  // (2 + 7 + 13000) % 256 = 209.
  EXPECT_EQ(d.val[4 * 3072 + 1000], 209.0f / 255.0f);
  EXPECT_EQ(d.val[0], 1.0f / 255.0f);  // batch 1, record 0, pixel 0: 1
  EXPECT_EQ(d.val[3071], float((1 + 13 * 3071) % 256) / 255.0f);
  const Dataset test = read_cifar10({cifar10_test_file(dir.path(""))});
  EXPECT_EQ(test.rows, 2u);
  EXPECT_EQ(test.name, dir.path("test_batch.bin"));
  EXPECT_EQ(test.y, (std::vector<float>{0, 1}));
}

TEST(ReadCifar10, BadFilesAreRefusedNamingTheFileAndTheRecord) {
  const TempDir dir;
  // 2 records and 100 bytes of a third: 6246 bytes.
  const std::string cut = dir.write("cut.bin", cifar_records(3).substr(0, 2 * 3073 + 100));
  std::string e = read_error({dir.write("good.bin", cifar_records(2)), cut});
  EXPECT_NE(e.find(cut + ": 6246 bytes is not a multiple of the 3073-byte"), std::string::npos)
      << e;
  EXPECT_NE(e.find("record 2 is cut short after 100 bytes"), std::string::npos) << e;
  // The same, compressed.
  const std::string cut_gz = dir.gzip("cut.bin.gz", cifar_records(1).substr(0, 3000));
  e = read_error({cut_gz});
  EXPECT_NE(e.find(cut_gz + ": 3000 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("record 0 is cut short"), std::string::npos) << e;
  // Label 10 in record 3.
  std::string bytes = cifar_records(5);
  bytes[3 * 3073] = char(10);
  const std::string label = dir.write("label.bin", bytes);
  e = read_error({label});
  EXPECT_EQ(e, label + ": record 3 (byte offset 9219) has label 10; CIFAR-10 labels are 0-9");
  const std::string empty = dir.write("empty.bin", "");
  EXPECT_EQ(read_error({empty}), empty + ": no CIFAR-10 records (an empty file)");
  e = read_error({dir.path("absent.bin")});
  EXPECT_NE(e.find(dir.path("absent.bin")), std::string::npos) << e;
  // A directory without test_batch.bin.
  try {
    cifar10_test_file(dir.path(""));
    ADD_FAILURE() << "a missing test_batch.bin was accepted";
  } catch (const InvalidInput& error) {
    EXPECT_NE(std::string(error.what()).find(dir.path("test_batch.bin")), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(cifar10_train_files(dir.path("")), InvalidInput);
}

}  // namespace
}  // namespace herd::data
