#pragma once
// CIFAR-10 reader, the binary version (cifar-10-binary.tar.gz): data_batch_1.bin ..
// data_batch_5.bin (50,000 training images) and test_batch.bin (10,000), each plain or .gz.
// A file is a sequence of 3073-byte records: one label byte (0-9), then the 3 x 32 x 32
// image channel-major (the 1024 red, then green, then blue pixels, each plane row-major).
#include <cstddef>
#include <string>
#include <vector>

#include "herd/data/dataset.hpp"

namespace herd::data {

inline constexpr std::size_t cifar10_image_bytes = 3 * 32 * 32;
inline constexpr std::size_t cifar10_record_bytes = 1 + cifar10_image_bytes;

// Reads the files in order into one dense Dataset of 3072 columns (channel-major, as the
// file), pixels scaled to [0, 1] (byte / 255), label v -> class v, 10 classes. InvalidInput
// starting with the file at fault, naming the record (0-based, within that file) where there
// is one: a size that is not a multiple of 3073 bytes (the record that is cut short), a label
// above 9, a file without records, a damaged gzip stream; a missing file or a directory is
// refused naming it, an unreadable one is an IoError.
Dataset read_cifar10(const std::vector<std::string>& paths);

// The standard files in `dir`: FILE, or FILE.gz when FILE is absent; InvalidInput naming both
// when neither exists.
std::vector<std::string> cifar10_train_files(const std::string& dir);  // data_batch_1..5.bin
std::string cifar10_test_file(const std::string& dir);                 // test_batch.bin

}  // namespace herd::data
