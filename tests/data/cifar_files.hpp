#pragma once
// Small CIFAR-10 binary files the tests write (no real CIFAR-10 on the test machines):
// records of 1 label byte + 3 x 32 x 32 pixel bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "temp_files.hpp"

namespace herd::data {

// n records; record r has label (first + r) % 10 and pixel p = (seed + 7 r + 13 p) % 256.
inline std::string cifar_records(std::size_t n, std::size_t first = 0, std::uint32_t seed = 0) {
  std::string bytes;
  for (std::size_t r = 0; r < n; ++r) {
    bytes.push_back(char((first + r) % 10));
    for (std::size_t p = 0; p < 3072; ++p) bytes.push_back(char((seed + 7 * r + 13 * p) % 256));
  }
  return bytes;
}

// data_batch_1..5.bin (batch b: `per_batch` records, labels from 2 b, pixels seeded b; batch 2
// gzipped) and test_batch.bin (`test` records) in dir.
inline void write_cifar_dir(const TempDir& dir, std::size_t per_batch, std::size_t test) {
  for (std::uint32_t b = 1; b <= 5; ++b) {
    const std::string name = "data_batch_" + std::to_string(b) + ".bin";
    const std::string bytes = cifar_records(per_batch, 2 * b, b);
    if (b == 2)
      dir.gzip(name + ".gz", bytes);
    else
      dir.write(name, bytes);
  }
  dir.write("test_batch.bin", cifar_records(test, 0, 99));
}

}  // namespace herd::data
