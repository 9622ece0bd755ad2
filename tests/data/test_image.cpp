// Image rows (data/image.hpp): per-channel statistics and normalisation, and the training
// augmentation (random crop with zero padding, horizontal flip) against hand-computed images.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/data/image.hpp"

namespace herd::data {
namespace {

TEST(ChannelStats, MeanAndStdPerChannelThenNormalised) {
  // Two images of 2 x 1 x 2: channel 0 holds 0, 1 | 1, 0; channel 1 holds 2, 2 | 4, 4.
  Dataset d;
  d.name = "two images";
  d.rows = 2;
  d.cols = 4;
  d.val = {0, 1, 2, 2, 1, 0, 4, 4};
  const ImageShape shape{2, 1, 2};
  const ChannelStats s = channel_stats(d, shape);
  EXPECT_EQ(s.mean, (std::vector<double>{0.5, 3.0}));
  EXPECT_EQ(s.std, (std::vector<double>{0.5, 1.0}));
  std::vector<float> images = d.val;
  normalize_channels(images, shape, s);
  EXPECT_EQ(images, (std::vector<float>{-1, 1, -1, -1, 1, -1, 1, 1}));
  d.val = {0, 1, 2, 2, 1, 0, 2, 2};  // channel 1 constant
  EXPECT_THROW(channel_stats(d, shape), InvalidInput);
  EXPECT_THROW(channel_stats(d, ImageShape{1, 2, 3}), InvalidInput);  // 6 columns, not 4
}

// Channel 0 of the 2 x 3 x 4 image holds 1..12 row by row, channel 1 the same + 100.
std::vector<float> image() {
  std::vector<float> v(24);
  std::iota(v.begin(), v.begin() + 12, 1.0f);
  std::iota(v.begin() + 12, v.end(), 101.0f);
  return v;
}

TEST(CropFlip, MatchesTheHandComputedCropAndFlipOfItsDraws) {
  const ImageShape shape{2, 3, 4};
  const std::vector<float> in = image();
  std::vector<float> out(in.size(), -1.0f);
  {
    // Seed 3, stream 3 draws dy = 0 - 1, dx = 2 - 1, flip = 1: out[i][j] = in[i - 1][4 - j].
    Rng rng(3, 3), copy(3, 3);
    EXPECT_EQ(copy.below(3), 0u);
    EXPECT_EQ(copy.below(3), 2u);
    EXPECT_EQ(copy.below(2), 1u);
    crop_flip(in, out, shape, 1, rng);
    EXPECT_EQ(rng.state(), copy.state());  // exactly three draws
    EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 0, 0, 4,   3,   2,   0, 8,   7,   6,  //
                                       0, 0, 0, 0, 0, 104, 103, 102, 0, 108, 107, 106}));
  }
  {
    // Seed 4: dy = 1 - 1, dx = 0 - 1, no flip: out[i][j] = in[i][j - 1].
    Rng rng(4, 3);
    crop_flip(in, out, shape, 1, rng);
    EXPECT_EQ(out, (std::vector<float>{0, 1,   2,   3,   0, 5,   6,   7,   0, 9,   10,  11,  //
                                       0, 101, 102, 103, 0, 105, 106, 107, 0, 109, 110, 111}));
  }
  {
    // Padding 0: only the flip is random (dy and dx are draws below 1).
    Rng rng(3, 3), check(3, 3);
    check.below(1);
    check.below(1);
    const bool flip = check.below(2) == 1;
    crop_flip(in, out, shape, 0, rng);
    EXPECT_EQ(out[0], flip ? 4.0f : 1.0f);
    EXPECT_EQ(out[12 + 11], flip ? 109.0f : 112.0f);
  }
}

}  // namespace
}  // namespace herd::data
