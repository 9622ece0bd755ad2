#pragma once
// A data file read through zlib, which passes plain files through unchanged, so one code
// path serves plain and gzip input. Shared by the LIBSVM and IDX readers.
#include <zlib.h>

#include <cstddef>
#include <optional>
#include <string>

namespace herd::data {

class GzFile {
 public:
  // InvalidInput for a missing file or a directory, IoError when it cannot be opened.
  explicit GzFile(const std::string& path);
  ~GzFile();
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to n bytes into out; returns how many (0 at the end of the file). A damaged
  // compressed stream is not an exception here: `problem` receives what is wrong
  // ("truncated gzip file ...", "corrupt gzip data (...)") and the read returns what it had,
  // so the caller decides how to report it. Failing reads throw IoError.
  std::size_t read(void* out, std::size_t n, std::optional<std::string>& problem);
  // A plain (not compressed) file.
  bool plain() const { return gzdirect(file_) == 1; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

}  // namespace herd::data
