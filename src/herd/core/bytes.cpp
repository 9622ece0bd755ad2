#include "herd/core/bytes.hpp"

#include "herd/core/error.hpp"

namespace herd {

ByteSpan ByteReader::get_bytes(std::size_t n) {
  need(n, "a block of bytes");
  const ByteSpan out = bytes_.subspan(pos_, n);
  pos_ += n;
  return out;
}

void ByteReader::corrupt(const std::string& what) const {
  throw IoError(std::string(source_) + ": corrupt or from an incompatible build (" + what + " at byte " +
                std::to_string(pos_) + ")");
}

std::size_t ByteReader::length(std::size_t element_bytes, const char* what) {
  const auto n = get<std::uint64_t>();
  if (n > (bytes_.size() - pos_) / element_bytes) corrupt(std::string("bad length of ") + what);
  return std::size_t(n);
}

}  // namespace herd
