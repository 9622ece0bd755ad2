#include "herd/data/image.hpp"

#include <cmath>
#include <string>

#include "herd/core/error.hpp"

namespace herd::data {

ChannelStats channel_stats(const Dataset& d, ImageShape shape) {
  if (d.sparse || d.cols != shape.size() || d.rows == 0)
    throw InvalidInput(d.name + ": per-channel statistics need dense images of " +
                       std::to_string(shape.channels) + " x " + std::to_string(shape.height) +
                       " x " + std::to_string(shape.width) + " (" + std::to_string(shape.size()) +
                       " columns), not " + std::to_string(d.rows) + " rows of " +
                       std::to_string(d.cols) + (d.sparse ? " sparse" : "") + " columns");
  const std::size_t plane = shape.height * shape.width;
  ChannelStats s{std::vector<double>(shape.channels), std::vector<double>(shape.channels)};
  for (std::size_t c = 0; c < shape.channels; ++c) {
    // Two passes in double: the mean, then the squared deviations from it.
    double sum = 0;
    for (std::size_t i = 0; i < d.rows; ++i) {
      const float* p = d.val.data() + i * d.cols + c * plane;
      for (std::size_t j = 0; j < plane; ++j) sum += p[j];
    }
    const double n = double(d.rows) * double(plane);
    const double mean = sum / n;
    double sq = 0;
    for (std::size_t i = 0; i < d.rows; ++i) {
      const float* p = d.val.data() + i * d.cols + c * plane;
      for (std::size_t j = 0; j < plane; ++j) sq += (p[j] - mean) * (p[j] - mean);
    }
    s.mean[c] = mean;
    s.std[c] = std::sqrt(sq / n);
    if (!(s.std[c] > 0))
      throw InvalidInput(d.name + ": channel " + std::to_string(c) +
                         " has the same value everywhere (std 0): it cannot be normalised");
  }
  return s;
}

void normalize_channels(std::span<float> images, ImageShape shape, const ChannelStats& stats) {
  const std::size_t plane = shape.height * shape.width;
  for (std::size_t at = 0; at + shape.size() <= images.size(); at += shape.size())
    for (std::size_t c = 0; c < shape.channels; ++c) {
      const auto mean = float(stats.mean[c]);
      const auto inv = float(1.0 / stats.std[c]);
      float* p = images.data() + at + c * plane;
      for (std::size_t j = 0; j < plane; ++j) p[j] = (p[j] - mean) * inv;
    }
}

void crop_flip(std::span<const float> in, std::span<float> out, ImageShape shape, std::size_t pad,
               Rng& rng) {
  const auto dy = std::ptrdiff_t(rng.below(2 * pad + 1)) - std::ptrdiff_t(pad);
  const auto dx = std::ptrdiff_t(rng.below(2 * pad + 1)) - std::ptrdiff_t(pad);
  const bool flip = rng.below(2) == 1;
  const auto h = std::ptrdiff_t(shape.height), w = std::ptrdiff_t(shape.width);
  for (std::size_t c = 0; c < shape.channels; ++c) {
    const float* src = in.data() + c * shape.height * shape.width;
    float* dst = out.data() + c * shape.height * shape.width;
    for (std::ptrdiff_t i = 0; i < h; ++i)
      for (std::ptrdiff_t j = 0; j < w; ++j) {
        const std::ptrdiff_t si = i + dy, sj = (flip ? w - 1 - j : j) + dx;
        dst[i * w + j] = si >= 0 && si < h && sj >= 0 && sj < w ? src[si * w + sj] : 0.0f;
      }
  }
}

}  // namespace herd::data
