#include "herd/core/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "herd/core/error.hpp"

namespace herd {

DurableFile::DurableFile(std::filesystem::path target)
    : target_(std::move(target)), temp_(target_.string() + ".tmp") {
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create " + temp_.string());
}

DurableFile::~DurableFile() {
  if (fd_ >= 0) ::close(fd_);
  std::error_code ignored;
  std::filesystem::remove(temp_, ignored);
}

void DurableFile::write(ByteSpan bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    // zlib takes uInt lengths: at most 1 GiB at a time.
    const std::size_t n = std::min<std::size_t>(bytes.size() - done, std::size_t(1) << 30);
    const ssize_t wrote = ::write(fd_, bytes.data() + done, n);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      fail("cannot write " + temp_.string());
    }
    crc_ = std::uint32_t(
        ::crc32(crc_, reinterpret_cast<const Bytef*>(bytes.data() + done), uInt(wrote)));
    done += std::size_t(wrote);
  }
}

void DurableFile::write(std::string_view text) {
  write(ByteSpan(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

void DurableFile::commit() {
  if (::fsync(fd_) != 0) fail("cannot sync " + temp_.string());
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot close " + temp_.string());
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec)
    throw IoError(target_.string() + ": cannot rename " + temp_.string() +
                  " into place: " + ec.message());
  // The rename itself is durable once the directory is synced (best effort: not every file
  // system can sync a directory).
  const std::filesystem::path dir =
      target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void DurableFile::fail(const std::string& what) const {
  throw IoError(target_.string() + ": " + what + ": " + std::strerror(errno));
}

std::uint32_t checksum(ByteSpan bytes) {
  std::uint32_t crc = 0;
  for (std::size_t done = 0; done < bytes.size();) {
    const std::size_t n = std::min<std::size_t>(bytes.size() - done, std::size_t(1) << 30);
    crc = std::uint32_t(::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), uInt(n)));
    done += n;
  }
  return crc;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  DurableFile out(path);
  out.write(text);
  out.commit();
}

}  // namespace herd
