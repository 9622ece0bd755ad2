#include "herd/data/gz_file.hpp"

#include <algorithm>
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

}  // namespace herd::data
