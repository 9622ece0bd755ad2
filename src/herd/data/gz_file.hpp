#pragma once
// A data file read through zlib, which passes plain files through unchanged, so one code
// path serves plain and gzip input. Shared by the LIBSVM, IDX and CIFAR-10 readers.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

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

// A binary data file (plain or gzip) read as bytes with its position counted, for the
// binary readers (IDX, CIFAR-10). Every problem is an InvalidInput whose message starts with
// the path: a damaged compressed stream, a file that ends inside what the caller expects.
class ByteFile {
 public:
  explicit ByteFile(const std::string& path) : file_(path) {}
  const std::string& path() const { return file_.path(); }
  std::uint64_t offset() const { return offset_; }  // uncompressed bytes read so far

  // Fills out[0, n) unless the file ends first; returns how many bytes were read.
  std::size_t read(unsigned char* out, std::size_t n);
  // Reads exactly n bytes of `what`; a shorter file is truncated.
  void read_exact(unsigned char* out, std::size_t n, const std::string& what);
  std::uint32_t read_u32_be(const std::string& what);  // big-endian
  // Refuses bytes after the `declared` ones ("trailing bytes after the N bytes ...").
  void expect_end(const std::string& declared);

 private:
  GzFile file_;
  std::uint64_t offset_ = 0;
};

// Image bytes as floats in [0, 1] (byte / 255), appended to out: the pixel scale of the
// image readers (IDX, CIFAR-10).
void append_pixels(std::span<const unsigned char> bytes, std::vector<float>& out);

}  // namespace herd::data
