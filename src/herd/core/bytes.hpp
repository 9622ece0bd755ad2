#pragma once
// A little-endian byte codec: how herd writes structured state (checkpoints, message
// headers) into bytes and reads it back. Every value has a fixed width (integers as they
// are, floats as their IEEE bits), strings and vectors carry a 64-bit length prefix.
// Running out of bytes, or a length prefix larger than what is left, is a corrupt input:
// ByteReader throws IoError naming its source.
#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace herd {

using Bytes = std::vector<unsigned char>;
using ByteSpan = std::span<const unsigned char>;

class ByteWriter {
 public:
  template <class T>
  requires std::is_integral_v<T>
  void put(T v) {
    using U = std::make_unsigned_t<T>;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      bytes.push_back(static_cast<unsigned char>(U(v) >> (8 * i)));
  }
  void put(bool v) { put(std::uint8_t(v ? 1 : 0)); }
  void put(float v) { put(std::bit_cast<std::uint32_t>(v)); }
  void put(double v) { put(std::bit_cast<std::uint64_t>(v)); }
  void put(const std::string& s) {
    put(std::uint64_t(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  template <class T>
  void put(const std::vector<T>& v) {
    put(std::uint64_t(v.size()));
    for (const T& x : v) put(x);
  }
  void put(const char*) = delete;  // a string literal would silently become a bool
  // Raw bytes without a length prefix.
  void append(ByteSpan raw) { bytes.insert(bytes.end(), raw.begin(), raw.end()); }

  Bytes bytes;
};

class ByteReader {
 public:
  // `source` names the input in error messages ("checkpoint runs/x/checkpoint.bin").
  ByteReader(ByteSpan bytes, std::string source) : bytes_(bytes), source_(std::move(source)) {}

  template <class T>
  T get() {
    if constexpr (std::is_same_v<T, bool>) {
      return get<std::uint8_t>() != 0;
    } else if constexpr (std::is_same_v<T, float>) {
      return std::bit_cast<float>(get<std::uint32_t>());
    } else if constexpr (std::is_same_v<T, double>) {
      return std::bit_cast<double>(get<std::uint64_t>());
    } else if constexpr (std::is_same_v<T, std::string>) {
      const std::size_t n = length(1, "a string");
      std::string s(bytes_.begin() + std::ptrdiff_t(pos_),
                    bytes_.begin() + std::ptrdiff_t(pos_ + n));
      pos_ += n;
      return s;
    } else {
      static_assert(std::is_integral_v<T>, "ByteReader::get: no encoding for this type");
      using U = std::make_unsigned_t<T>;
      need(sizeof(T), "an integer");
      U v = 0;
      for (std::size_t i = 0; i < sizeof(T); ++i) v = U(v | U(U(bytes_[pos_ + i]) << (8 * i)));
      pos_ += sizeof(T);
      return T(v);
    }
  }
  template <class T>
  std::vector<T> get_vector() {
    std::vector<T> v(length(std::is_same_v<T, bool> ? 1 : sizeof(T), "a vector"));
    for (auto&& x : v) x = get<T>();
    return v;
  }
  template <class T>
  void get_into(T& v) {
    v = get<T>();
  }
  // In place where the lengths agree: whoever holds a span of v keeps a valid one.
  template <class T>
  void get_into(std::vector<T>& v) {
    const std::vector<T> saved = get_vector<T>();
    v.assign(saved.begin(), saved.end());
  }
  // n raw bytes.
  ByteSpan get_bytes(std::size_t n);

  bool at_end() const { return pos_ == bytes_.size(); }
  std::size_t position() const { return pos_; }
  const std::string& source() const { return source_; }
  // IoError: "<source>: corrupt or from an incompatible build (<what> at byte N)".
  [[noreturn]] void corrupt(const std::string& what) const;
  // corrupt() unless every byte was read.
  void expect_end(const std::string& what) const {
    if (!at_end()) corrupt("trailing bytes after " + what);
  }

 private:
  void need(std::size_t n, const char* what) const;
  // A length prefix, checked against what is left so that a bad one cannot allocate wildly.
  std::size_t length(std::size_t element_bytes, const char* what);

  ByteSpan bytes_;
  std::size_t pos_ = 0;
  std::string source_;
};

}  // namespace herd
