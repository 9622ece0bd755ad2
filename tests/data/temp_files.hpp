#pragma once
// Files the data tests write: a temporary directory per test, plain or gzipped contents.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include "support/temp_dir.hpp"

namespace herd::data {

// Writes `bytes` gzip-compressed to `path`; returns path.
inline std::string gzip_file(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  EXPECT_EQ(gzclose(f), Z_OK);
  return path;
}

// A fresh directory named after the running test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("herd_test_data_") + std::to_string(::getpid()) + "_" +
                       info->test_suite_name() + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    path_ = herd::test::temp_dir() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }
  std::string gzip(const std::string& name, const std::string& bytes) const {
    return gzip_file(path(name), bytes);
  }

 private:
  std::filesystem::path path_;
};

}  // namespace herd::data
