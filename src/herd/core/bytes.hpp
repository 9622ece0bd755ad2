#pragma once
// A little-endian byte codec: how herd writes structured state (checkpoints, message
// headers) into bytes and reads it back. Every value has a fixed width (integers as they
// are, floats as their IEEE bits), strings and vectors carry a 64-bit length prefix.
// Running out of bytes, or a length prefix larger than what is left, is a corrupt input:
// ByteReader throws IoError naming its source.
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace herd {

using Bytes = std::vector<unsigned char>;
using ByteSpan = std::span<const unsigned char>;

// At most N bytes in place, for short encodings written often (message headers): no heap.
template <std::size_t N>
class InlineBytes {
 public:
  void push_back(unsigned char b) {
    if (size_ == N) throw std::length_error("InlineBytes: more than " + std::to_string(N));
    bytes_[size_++] = b;
  }
  void insert_end(ByteSpan raw) {
    if (raw.size() > N - size_)
      throw std::length_error("InlineBytes: more than " + std::to_string(N));
    std::memcpy(bytes_.data() + size_, raw.data(), raw.size());
    size_ += raw.size();
  }
  operator ByteSpan() const { return {bytes_.data(), size_}; }  // NOLINT: a view of it
  std::size_t size() const { return size_; }

 private:
  std::array<unsigned char, N> bytes_{};
  std::size_t size_ = 0;
};

// The encoder; Buffer is Bytes (growing) or InlineBytes<N>.
template <class Buffer>
class BasicByteWriter {
 public:
  template <class T>
  requires std::is_integral_v<T>
  void put(T v) {
    if constexpr (std::endian::native == std::endian::little) {
      unsigned char raw[sizeof(T)];
      std::memcpy(raw, &v, sizeof(T));
      append(ByteSpan(raw, sizeof(T)));
    } else {
      using U = std::make_unsigned_t<T>;
      for (std::size_t i = 0; i < sizeof(T); ++i)
        bytes.push_back(static_cast<unsigned char>(U(v) >> (8 * i)));
    }
  }
  void put(bool v) { put(std::uint8_t(v ? 1 : 0)); }
  void put(float v) { put(std::bit_cast<std::uint32_t>(v)); }
  void put(double v) { put(std::bit_cast<std::uint64_t>(v)); }
  void put(const std::string& s) {
    put(std::uint64_t(s.size()));
    append(ByteSpan(reinterpret_cast<const unsigned char*>(s.data()), s.size()));
  }
  template <class T>
  void put(const std::vector<T>& v) {
    put(std::uint64_t(v.size()));
    for (const T& x : v) put(x);
  }
  void put(const char*) = delete;  // a string literal would silently become a bool
  // Raw bytes without a length prefix.
  void append(ByteSpan raw) {
    if constexpr (std::is_same_v<Buffer, Bytes>)
      bytes.insert(bytes.end(), raw.begin(), raw.end());
    else
      bytes.insert_end(raw);
  }

  Buffer bytes;
};
using ByteWriter = BasicByteWriter<Bytes>;

class ByteReader {
 public:
  // `source` names the input in error messages ("checkpoint runs/x/checkpoint.bin"); like
  // the bytes, it must outlive the reader.
  ByteReader(ByteSpan bytes, std::string_view source) : bytes_(bytes), source_(source) {}

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
      need(sizeof(T), "an integer");
      using U = std::make_unsigned_t<T>;
      U v = 0;
      if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
      } else {
        for (std::size_t i = 0; i < sizeof(T); ++i) v = U(v | U(U(bytes_[pos_ + i]) << (8 * i)));
      }
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
  std::string_view source() const { return source_; }
  // IoError: "<source>: corrupt or from an incompatible build (<what> at byte N)".
  [[noreturn]] void corrupt(const std::string& what) const;
  // corrupt() unless every byte was read.
  void expect_end(std::string_view what) const {
    if (!at_end()) corrupt("trailing bytes after " + std::string(what));
  }

 private:
  void need(std::size_t n, const char* what) const {
    if (bytes_.size() - pos_ < n) corrupt(std::string("truncated: ") + what);
  }
  // A length prefix, checked against what is left so that a bad one cannot allocate wildly.
  std::size_t length(std::size_t element_bytes, const char* what);

  ByteSpan bytes_;
  std::size_t pos_ = 0;
  std::string_view source_;
};

}  // namespace herd
