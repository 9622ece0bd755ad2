#pragma once
// Partitions of a data set's rows across K workers.
#include <string>
#include <vector>

#include "herd/core/rng.hpp"
#include "herd/data/dataset.hpp"

namespace herd::data {

enum class PartitionKind {
  iid,        // shuffled, then equal contiguous pieces (sizes differ by at most one)
  shards,     // sorted by label, cut into 2K shards, each worker gets 2 (McMahan et al. 2017)
  dirichlet,  // per class, proportions over workers ~ Dirichlet(alpha) (Hsu et al. 2019)
  source,     // by Dataset::source (rows generated for worker k go to worker k)
  full,       // every worker samples the whole data set (shared storage, as in the LSGD paper)
};

struct PartitionSpec {
  PartitionKind kind = PartitionKind::iid;
  double alpha = 0.5;  // dirichlet concentration
  // data.min_shard: every worker gets at least this many rows (0 = off, the partitions as
  // without it). dirichlet draws its proportions once and then fills every shard below
  // min_shard from the largest shards (see partition.cpp); the other kinds fix their shard
  // sizes by their rule and are refused when a shard comes out smaller.
  std::size_t min_shard = 0;
};

// Every row goes to exactly one worker; every worker gets at least one row (and at least
// spec.min_shard), otherwise InvalidInput explains which worker came out short and why.
std::vector<std::vector<Index>> partition(const Dataset& data, int workers,
                                          const PartitionSpec& spec, Rng& rng);

PartitionKind parse_partition_kind(const std::string& name);  // InvalidInput on unknown names
const char* partition_kind_name(PartitionKind kind);          // the name parse_partition_kind reads

}  // namespace herd::data
