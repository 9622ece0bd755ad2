#pragma once
// Image rows (C x H x W, channel-major, as the IDX and CIFAR-10 readers store them): the
// per-channel statistics for normalisation, and the training augmentation of the CIFAR
// experiments (random crop with zero padding, horizontal flip), drawn from a worker's RNG.
#include <cstddef>
#include <span>
#include <vector>

#include "herd/core/rng.hpp"
#include "herd/data/dataset.hpp"

namespace herd::data {

struct ImageShape {
  std::size_t channels = 1, height = 1, width = 1;
  std::size_t size() const { return channels * height * width; }
};

// Per-channel mean and standard deviation (population, over every pixel of every row).
struct ChannelStats {
  std::vector<double> mean, std;
};

// The statistics of a dense data set's rows read as images of `shape` (cols == shape.size()).
// InvalidInput for a sparse set, another width, or a channel of constant value (std 0).
ChannelStats channel_stats(const Dataset& d, ImageShape shape);

// images: n images of `shape` back to back; v <- (v - mean_c) / std_c.
void normalize_channels(std::span<float> images, ImageShape shape, const ChannelStats& stats);

// One training augmentation of one image (torchvision's RandomCrop(size, padding = pad)
// then RandomHorizontalFlip()): draws dy = below(2 pad + 1), dx = below(2 pad + 1),
// flip = below(2), in that order, and writes
//   out[c][i][j] = in[c][i + dy - pad][(flip ? W - 1 - j : j) + dx - pad]
// (0 outside the image: the zero padding). in and out must not overlap.
void crop_flip(std::span<const float> in, std::span<float> out, ImageShape shape, std::size_t pad,
               Rng& rng);

}  // namespace herd::data
