#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/data/sampler.hpp"

namespace herd::data {
namespace {

std::vector<Index> shard_of(std::size_t n, Index first = 100) {
  std::vector<Index> shard(n);
  std::iota(shard.begin(), shard.end(), first);
  return shard;
}

std::vector<Index> draw(BatchSampler& s, std::size_t batches) {
  std::vector<Index> all;
  for (std::size_t b = 0; b < batches; ++b) {
    const auto batch = s.next();
    EXPECT_EQ(batch.size(), s.batch());
    all.insert(all.end(), batch.begin(), batch.end());
  }
  return all;
}

TEST(Sampler, WithReplacementIsUniformOverTheShard) {
  BatchSampler s(shard_of(10), 7, Sampling::with_replacement, Rng(11, 0));
  const std::vector<Index> all = draw(s, 10000);
  std::map<Index, double> count;
  for (const Index i : all) count[i] += 1;
  ASSERT_EQ(count.size(), 10u);
  EXPECT_EQ(count.begin()->first, 100u);
  EXPECT_EQ(count.rbegin()->first, 109u);
  // Pearson's chi-square with 9 degrees of freedom; 27.9 is its 0.999 quantile.
  const double expected = 70000.0 / 10.0;
  double chi2 = 0.0;
  for (const auto& [i, c] : count) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 27.9);
  EXPECT_DOUBLE_EQ(s.epochs(), 7000.0);
}

TEST(Sampler, WithReplacementRepeatsWithinAnEpoch) {
  BatchSampler s(shard_of(50), 50, Sampling::with_replacement, Rng(3, 0));
  std::vector<Index> batch = draw(s, 1);
  std::sort(batch.begin(), batch.end());
  // 50 draws from 50 items are all distinct with probability 50! / 50^50 ~ 3e-21.
  EXPECT_NE(std::adjacent_find(batch.begin(), batch.end()), batch.end());
}

TEST(Sampler, ShuffledEpochsSeeEveryIndexOncePerEpoch) {
  for (const std::size_t batch : {1, 3, 10, 23}) {  // 23 > shard size: batches span epochs
    SCOPED_TRACE("batch " + std::to_string(batch));
    const std::size_t n = 10, epochs = 12;
    BatchSampler s(shard_of(n), batch, Sampling::shuffled_epochs, Rng(5, 2));
    const std::size_t batches = epochs * n / std::gcd(n, batch);  // whole epochs in all
    const std::vector<Index> all = draw(s, batches);
    ASSERT_EQ(all.size() % n, 0u);
    std::set<std::vector<Index>> orders;
    for (std::size_t e = 0; e * n < all.size(); ++e) {
      std::vector<Index> epoch(all.begin() + std::ptrdiff_t(e * n),
                               all.begin() + std::ptrdiff_t((e + 1) * n));
      orders.insert(epoch);
      std::sort(epoch.begin(), epoch.end());
      ASSERT_EQ(epoch, shard_of(n)) << "epoch " << e;
    }
    EXPECT_GT(orders.size(), all.size() / n - 2);  // a fresh permutation each epoch
    EXPECT_DOUBLE_EQ(s.epochs(), double(all.size()) / double(n));
  }
}

TEST(Sampler, DeterministicByRngSeedAndStream) {
  for (const auto mode : {Sampling::with_replacement, Sampling::shuffled_epochs}) {
    BatchSampler a(shard_of(37), 5, mode, Rng(21, 4)), b(shard_of(37), 5, mode, Rng(21, 4));
    BatchSampler c(shard_of(37), 5, mode, Rng(21, 5)), d(shard_of(37), 5, mode, Rng(22, 4));
    const std::vector<Index> first = draw(a, 40);
    EXPECT_EQ(draw(b, 40), first);
    EXPECT_NE(draw(c, 40), first);
    EXPECT_NE(draw(d, 40), first);
    EXPECT_EQ(a.rng().state().counter, b.rng().state().counter);
    EXPECT_GT(a.rng().state().counter, 0u);
  }
}

TEST(Sampler, SingleRowShardAndBadArguments) {
  BatchSampler one({42}, 4, Sampling::shuffled_epochs, Rng(1, 0));
  EXPECT_EQ(draw(one, 2), std::vector<Index>(8, 42));
  EXPECT_DOUBLE_EQ(one.epochs(), 8.0);
  EXPECT_THROW(BatchSampler({}, 4, Sampling::with_replacement, Rng(1, 0)), InvalidInput);
  EXPECT_THROW(BatchSampler({1, 2}, 0, Sampling::with_replacement, Rng(1, 0)), InvalidInput);
}

TEST(Sampler, StateRestoresTheSameDrawsMidEpoch) {
  for (const auto mode : {Sampling::with_replacement, Sampling::shuffled_epochs}) {
    BatchSampler a(shard_of(23), 5, mode, Rng(8, 1));
    draw(a, 7);  // 35 samples: 12 into the second permutation
    BatchSampler b(shard_of(23), 5, mode, Rng(99, 7));
    b.restore(a.state());
    EXPECT_EQ(b.state(), a.state());
    EXPECT_EQ(b.state().drawn, 35u);
    EXPECT_EQ(b.state().position, mode == Sampling::shuffled_epochs ? 12u : 0u);
    EXPECT_EQ(draw(b, 30), draw(a, 30));
    EXPECT_DOUBLE_EQ(b.epochs(), 185.0 / 23.0);
  }
  // A permutation of another shard, or one for a sampler with replacement, is refused.
  BatchSampler shuffled(shard_of(23), 5, Sampling::shuffled_epochs, Rng(8, 1));
  draw(shuffled, 1);
  BatchSampler other_shard(shard_of(23, 0), 5, Sampling::shuffled_epochs, Rng(8, 1));
  EXPECT_THROW(other_shard.restore(shuffled.state()), InvalidInput);
  BatchSampler with_replacement(shard_of(23), 5, Sampling::with_replacement, Rng(8, 1));
  EXPECT_THROW(with_replacement.restore(shuffled.state()), InvalidInput);
}

TEST(Sampler, ModeNamesRoundTrip) {
  for (const auto mode : {Sampling::with_replacement, Sampling::shuffled_epochs}) {
    EXPECT_EQ(parse_sampling(sampling_name(mode)), mode);
  }
  EXPECT_THROW(parse_sampling("epochs"), InvalidInput);
}

}  // namespace
}  // namespace herd::data
