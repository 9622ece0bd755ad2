#include "herd/data/gz_file.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "herd/core/error.hpp"

namespace herd::data {

GzFile::GzFile(const std::string& path) : path_(path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) throw InvalidInput(path + ": no such file");
  if (st.type() == fs::file_type::directory)
    throw InvalidInput(path + ": is a directory, not a data file");
  file_ = gzopen(path.c_str(), "rb");
  if (file_ == nullptr) throw IoError(path + ": cannot open: " + std::strerror(errno));
  gzbuffer(file_, 1u << 18);
}

GzFile::~GzFile() {
  gzclose(file_);
}

std::size_t GzFile::read(void* out, std::size_t n, std::optional<std::string>& problem) {
  std::size_t got = 0;
  while (got < n) {
    const auto want = unsigned(std::min<std::size_t>(n - got, 1u << 30));
    const int k = gzread(file_, static_cast<char*>(out) + got, want);
    if (k > 0) {
      got += std::size_t(k);
      continue;
    }
    int err = Z_OK;
    const char* message = gzerror(file_, &err);
    if (k == 0 && err == Z_OK) break;  // end of file
    if (err == Z_BUF_ERROR) {
      problem = "truncated gzip file (the compressed stream ends early)";
    } else if (err == Z_DATA_ERROR) {
      std::string what = message;
      if (what.starts_with(path_ + ": ")) what.erase(0, path_.size() + 2);
      problem = "corrupt gzip data (" + what + ")";
    } else if (err == Z_ERRNO) {
      throw IoError(path_ + ": read failed: " + std::strerror(errno));
    } else {
      throw IoError(path_ + ": read failed: " + message);
    }
    break;
  }
  return got;
}

std::size_t ByteFile::read(unsigned char* out, std::size_t n) {
  std::optional<std::string> problem;
  const std::size_t got = file_.read(out, n, problem);
  if (problem) throw InvalidInput(path() + ": " + *problem);
  offset_ += got;
  return got;
}

void ByteFile::read_exact(unsigned char* out, std::size_t n, const std::string& what) {
  const std::uint64_t start = offset_;
  const std::size_t got = read(out, n);
  if (got < n)
    throw InvalidInput(path() + ": truncated: the file ends after " + std::to_string(start + got) +
                       " bytes, inside " + what);
}

std::uint32_t ByteFile::read_u32_be(const std::string& what) {
  std::array<unsigned char, 4> b{};
  read_exact(b.data(), b.size(), what);
  return std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
}

void ByteFile::expect_end(const std::string& declared) {
  unsigned char extra = 0;
  if (read(&extra, 1) != 0)
    throw InvalidInput(path() + ": trailing bytes after the " + std::to_string(offset_ - 1) +
                       " bytes " + declared);
}

void append_pixels(std::span<const unsigned char> bytes, std::vector<float>& out) {
  static const std::array<float, 256> scaled = [] {
    std::array<float, 256> t{};
    for (std::size_t v = 0; v < t.size(); ++v) t[v] = float(v) / 255.0f;
    return t;
  }();
  for (const unsigned char b : bytes) out.push_back(scaled[b]);
}

}  // namespace herd::data
