#pragma once
// Files that are either complete or absent: written to a temporary name in the same
// directory, synced, and renamed over the target, so that a crash, a full disk or a kill
// leaves the old file or the new one, never half of one.
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "herd/core/bytes.hpp"

namespace herd {

// A file written in pieces and put in place by commit(); destroyed without commit() it
// leaves the target untouched and removes its temporary. Keeps the running crc32 of what
// was written (checksummed formats append it before committing). IoError names the file.
class DurableFile {
 public:
  explicit DurableFile(std::filesystem::path target);
  ~DurableFile();
  DurableFile(const DurableFile&) = delete;
  DurableFile& operator=(const DurableFile&) = delete;

  void write(ByteSpan bytes);
  void write(std::string_view text);
  std::uint32_t crc32() const { return crc_; }
  // Syncs the data, renames it over the target and syncs the directory (where the file
  // system can).
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what) const;
  std::filesystem::path target_, temp_;
  int fd_ = -1;
  std::uint32_t crc_ = 0;
};

// The CRC-32 (zlib's) of `bytes`: what DurableFile::crc32() is after writing them.
std::uint32_t checksum(ByteSpan bytes);

// The whole of `text` as `path`, durably.
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace herd
