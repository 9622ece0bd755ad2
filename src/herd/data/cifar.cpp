#include "herd/data/cifar.hpp"

#include <array>
#include <filesystem>

#include "herd/core/error.hpp"
#include "herd/data/gz_file.hpp"

namespace herd::data {
namespace {

constexpr int cifar10_classes = 10;

// Appends the records of one file to `data`.
void read_records(const std::string& path, Dataset& data) {
  ByteFile in(path);
  std::array<unsigned char, cifar10_record_bytes> record{};
  std::size_t index = 0;
  for (;; ++index) {
    const std::size_t got = in.read(record.data(), record.size());
    if (got == 0) break;
    if (got < record.size())
      throw InvalidInput(path + ": " + std::to_string(in.offset()) +
                         " bytes is not a multiple of the " + std::to_string(cifar10_record_bytes) +
                         "-byte CIFAR-10 record (1 label byte + 3 x 32 x 32 pixels): record " +
                         std::to_string(index) + " is cut short after " + std::to_string(got) +
                         " bytes");
    if (record[0] >= cifar10_classes)
      throw InvalidInput(path + ": record " + std::to_string(index) + " (byte offset " +
                         std::to_string(in.offset() - got) + ") has label " +
                         std::to_string(record[0]) + "; CIFAR-10 labels are 0-9");
    data.y.push_back(float(record[0]));
    append_pixels(std::span(record).subspan(1), data.val);
  }
  if (index == 0) throw InvalidInput(path + ": no CIFAR-10 records (an empty file)");
}

std::string standard_file(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path plain = fs::path(dir) / name;
  std::error_code ec;
  if (fs::exists(plain, ec)) return plain.string();
  fs::path gz = plain;
  gz += ".gz";
  if (fs::exists(gz, ec)) return gz.string();
  throw InvalidInput(plain.string() + ": no such file (nor " + gz.filename().string() +
                     "): data.format = \"cifar10\" reads data_batch_1.bin .. data_batch_5.bin "
                     "and test_batch.bin from data.dir");
}

}  // namespace

Dataset read_cifar10(const std::vector<std::string>& paths) {
  if (paths.empty()) throw InvalidInput("CIFAR-10: no files to read");
  Dataset data;
  data.name = paths.size() == 1 ? paths.front()
                                : paths.front() + " .. " +
                                      std::filesystem::path(paths.back()).filename().string();
  data.cols = cifar10_image_bytes;
  for (const std::string& path : paths) read_records(path, data);
  data.rows = data.y.size();
  data.num_classes = cifar10_classes;
  for (int c = 0; c < cifar10_classes; ++c) data.class_values.push_back(c);
  data.label_mapping = "CIFAR-10 classes 0-9 (label v -> class v)";
  return data;
}

std::vector<std::string> cifar10_train_files(const std::string& dir) {
  std::vector<std::string> files;
  for (int b = 1; b <= 5; ++b)
    files.push_back(standard_file(dir, "data_batch_" + std::to_string(b) + ".bin"));
  return files;
}

std::string cifar10_test_file(const std::string& dir) {
  return standard_file(dir, "test_batch.bin");
}

}  // namespace herd::data
