#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/core/kernels.hpp"

namespace herd {
namespace {

TEST(Kernels, AxpyScaleDotAndPull) {
  std::vector<float> x{1, 2, 3}, y{4, 5, 6};
  axpy(2.0f, x, y);
  EXPECT_EQ(y, (std::vector<float>{6, 9, 12}));
  EXPECT_DOUBLE_EQ(dot(x, y), 6 + 18 + 36);
  EXPECT_DOUBLE_EQ(norm2(x), 14);
  EXPECT_DOUBLE_EQ(dist2(x, y), 25 + 49 + 81);
  scale(y, 0.5f);
  EXPECT_EQ(y, (std::vector<float>{3, 4.5f, 6}));
  // A pull with lambda = 1 lands on the target, lambda = 0 leaves x alone.
  std::vector<float> z = x;
  pull_toward(z, y, 0.0f);
  EXPECT_EQ(z, x);
  pull_toward(z, y, 1.0f);
  EXPECT_EQ(z, y);
}

TEST(Kernels, MeanOfSumsInRankOrder) {
  // 1e8 + 1 - 1e8 in float depends on the order: the kernel must use k = 0, 1, 2.
  std::vector<float> a{1e8f}, b{1.0f}, c{-1e8f}, out(1);
  std::vector<CSpan> xs{a, b, c};
  mean_of(xs, out);
  EXPECT_EQ(out[0], ((1e8f + 1.0f) + -1e8f) / 3.0f * 1.0f);
  std::vector<float> p{2, 4}, q{4, 8}, m(2);
  std::vector<CSpan> pq{p, q};
  mean_of(pq, m);
  EXPECT_EQ(m, (std::vector<float>{3, 6}));
}

TEST(Kernels, AllFiniteDetectsNanAndInf) {
  std::vector<float> x{1, 2, 3};
  EXPECT_TRUE(all_finite(x));
  x[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(all_finite(x));
  x[1] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(all_finite(x));
}

TEST(Errors, EveryKindHasItsOwnExitCode) {
  EXPECT_EQ(exit_code(InvalidInput("x").kind()), exit_codes::invalid_input);
  EXPECT_EQ(exit_code(IoError("x").kind()), exit_codes::io);
  EXPECT_EQ(exit_code(CommError("x").kind()), exit_codes::communication);
  EXPECT_EQ(exit_code(Diverged("x").kind()), exit_codes::diverged);
  EXPECT_NE(exit_codes::invalid_input, exit_codes::io);
  EXPECT_NE(exit_codes::communication, exit_codes::diverged);
}

}  // namespace
}  // namespace herd
