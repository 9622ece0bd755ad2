#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "herd/core/rng.hpp"

namespace herd {
namespace {

TEST(Philox, KnownAnswerVectors) {
  // Known-answer tests of Random123 (kat_vectors, philox4x32_10).
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (std::array<std::uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(
      philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
      (std::array<std::uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(
      philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
      (std::array<std::uint32_t, 4>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Rng, StreamsAreReproducibleAndDistinct) {
  Rng a(42, 0), b(42, 0), c(42, 1), d(43, 0);
  int same_c = 0, same_d = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto va = a.next_u32();
    EXPECT_EQ(va, b.next_u32());
    same_c += va == c.next_u32();
    same_d += va == d.next_u32();
  }
  EXPECT_LT(same_c, 3);
  EXPECT_LT(same_d, 3);
}

TEST(Rng, ResumesFromSavedStateMidBlock) {
  Rng a(7, 3);
  for (int i = 0; i < 6; ++i) a.next_u32();  // stop inside the second block
  Rng b(a.state());
  EXPECT_EQ(b.state(), a.state());
  EXPECT_EQ(a.state().counter, 2u);
  EXPECT_EQ(a.state().used, 2u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.next_u32(), b.next_u32());
  EXPECT_EQ(b.state(), a.state());
}

TEST(Rng, MomentsOfUniformNormalGamma) {
  Rng r(1, 0);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0, sg = 0;
  for (int i = 0; i < n; ++i) {
    su += r.uniform();
    const double z = r.normal();
    sn += z, sn2 += z * z;
    sg += r.gamma(0.5);
  }
  // Standard errors: uniform 0.29/sqrt(n), normal 1/sqrt(n), gamma(0.5) sqrt(0.5)/sqrt(n).
  EXPECT_NEAR(su / n, 0.5, 5 * 0.29 / std::sqrt(n));
  EXPECT_NEAR(sn / n, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(sn2 / n, 1.0, 5 * std::sqrt(2.0) / std::sqrt(n));
  EXPECT_NEAR(sg / n, 0.5, 5 * std::sqrt(0.5) / std::sqrt(n));
}

TEST(Rng, BelowIsUniformAndShuffleIsAPermutation) {
  Rng r(9, 0);
  std::vector<int> count(7, 0);
  const int n = 70000;
  for (int i = 0; i < n; ++i) ++count[r.below(7)];
  for (int c : count) EXPECT_NEAR(c, n / 7, 5 * std::sqrt(n / 7.0));
  std::vector<int> v(100);
  std::iota(v.begin(), v.end(), 0);
  r.shuffle(std::span<int>(v));
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(v, sorted);
}

}  // namespace
}  // namespace herd
