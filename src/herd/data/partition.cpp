#include "herd/data/partition.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>
#include <span>

#include "herd/core/error.hpp"

namespace herd::data {
namespace {

using Parts = std::vector<std::vector<Index>>;

// Dirichlet draws that leave a worker empty are redrawn (as in Li et al.'s NIID-Bench); this
// many attempts are made before the partition is declared impossible.
constexpr int dirichlet_attempts = 100;

class Partitioner {
 public:
  Partitioner(const Dataset& data, int workers, const PartitionSpec& spec, Rng& rng)
      : data_(data), workers_(std::size_t(workers)), spec_(spec), rng_(rng) {
    if (workers < 1) fail("needs at least one worker, got " + std::to_string(workers));
    if (data.rows < workers_) {
      fail(std::to_string(data.rows) + " rows cannot give each of " + std::to_string(workers) +
           " workers a row (more workers than rows)");
    }
    const std::size_t m = spec.min_shard;
    const bool shared = spec.kind == PartitionKind::full;  // every shard is the whole data set
    if (m > 0 && (shared ? data.rows < m : m > data.rows / workers_)) {
      fail("data.min_shard = " + std::to_string(m) + " needs " +
           (shared ? std::to_string(m)
                   : std::to_string(m) + " x " + std::to_string(workers) + " = " +
                         std::to_string(m * workers_)) +
           " rows, but there are " + std::to_string(data.rows) +
           "; lower data.min_shard or algo.workers");
    }
  }

  Parts run() {
    Parts parts;
    switch (spec_.kind) {
      case PartitionKind::iid:
        parts = iid();
        break;
      case PartitionKind::shards:
        parts = shards();
        break;
      case PartitionKind::dirichlet:
        parts = dirichlet();
        break;
      case PartitionKind::source:
        parts = by_source();
        break;
      case PartitionKind::full:
        parts.assign(workers_, std::vector<Index>(data_.rows));
        for (auto& part : parts) std::iota(part.begin(), part.end(), Index(0));
        break;
    }
    for (std::size_t k = 0; k < workers_; ++k) {
      if (parts[k].empty()) {
        fail("worker " + std::to_string(k) + " received no rows" +
             (spec_.kind == PartitionKind::source
                  ? " (no row has source " + std::to_string(k) + ": use as many workers as sources)"
                  : std::string()));
      }
      if (parts[k].size() < spec_.min_shard) {
        fail("worker " + std::to_string(k) + " received " + std::to_string(parts[k].size()) +
             " rows, fewer than data.min_shard = " + std::to_string(spec_.min_shard) + " (" +
             partition_kind_name(spec_.kind) +
             " fixes the shard sizes; only dirichlet moves rows to meet data.min_shard)");
      }
      std::sort(parts[k].begin(), parts[k].end());  // a shard is a set; keep it in file order
    }
    return parts;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InvalidInput("partition of '" + data_.name + "' (" + partition_kind_name(spec_.kind) +
                       "): " + what);
  }

  std::vector<Index> shuffled_rows() {
    std::vector<Index> order(data_.rows);
    std::iota(order.begin(), order.end(), Index(0));
    rng_.shuffle(std::span<Index>(order));
    return order;
  }

  Index label(Index row) const { return Index(data_.y[row]); }

  void require_classes() const {
    if (data_.num_classes < 1) {
      fail("needs class labels, but '" + data_.name +
           "' is a regression data set (use iid or source)");
    }
  }

  // Worker k gets order[k n / K, (k + 1) n / K).
  Parts iid() {
    const std::vector<Index> order = shuffled_rows();
    Parts parts(workers_);
    const std::size_t n = order.size();
    for (std::size_t k = 0; k < workers_; ++k) {
      parts[k].assign(order.begin() + std::ptrdiff_t(k * n / workers_),
                      order.begin() + std::ptrdiff_t((k + 1) * n / workers_));
    }
    return parts;
  }

  Parts shards() {
    require_classes();
    const std::size_t count = 2 * workers_;
    if (data_.rows < count) {
      fail("needs at least 2 rows per worker (" + std::to_string(count) +
           " shards), but there are " + std::to_string(data_.rows) + " rows");
    }
    // Shuffled first, so that a shard holds random rows of its class, not a run of the file.
    std::vector<Index> order = shuffled_rows();
    std::stable_sort(order.begin(), order.end(),
                     [this](Index a, Index b) { return label(a) < label(b); });
    std::vector<std::size_t> shard(count);
    std::iota(shard.begin(), shard.end(), std::size_t(0));
    rng_.shuffle(std::span<std::size_t>(shard));
    Parts parts(workers_);
    const std::size_t n = order.size();
    for (std::size_t k = 0; k < workers_; ++k) {
      for (const std::size_t s : {shard[2 * k], shard[2 * k + 1]}) {
        parts[k].insert(parts[k].end(), order.begin() + std::ptrdiff_t(s * n / count),
                        order.begin() + std::ptrdiff_t((s + 1) * n / count));
      }
    }
    return parts;
  }

  Parts dirichlet() {
    require_classes();
    if (!(spec_.alpha > 0.0 && std::isfinite(spec_.alpha))) {
      fail("alpha must be finite and > 0, got " + std::to_string(spec_.alpha));
    }
    std::vector<std::vector<Index>> of_class(std::size_t(data_.num_classes));
    for (const Index row : shuffled_rows()) of_class[label(row)].push_back(row);

    if (spec_.min_shard > 0) {  // one draw, then the small shards filled up
      Parts parts = dirichlet_draw(of_class);
      top_up(parts);
      return parts;
    }
    for (int attempt = 0; attempt < dirichlet_attempts; ++attempt) {
      Parts parts = dirichlet_draw(of_class);
      if (std::none_of(parts.begin(), parts.end(), [](const auto& w) { return w.empty(); })) {
        return parts;
      }
    }
    fail("every one of " + std::to_string(dirichlet_attempts) +
         " draws with alpha = " + std::to_string(spec_.alpha) + " left a worker without rows (" +
         std::to_string(data_.num_classes) + " classes over " + std::to_string(workers_) +
         " workers); use a larger alpha, fewer workers, or data.min_shard >= 1 (which fills "
         "small shards instead of redrawing)");
  }

  // One draw: per class, proportions p ~ Dirichlet(alpha) over the workers, and the class's
  // rows (in shuffled order) cut at round(n_c * (p_0 + ... + p_k)) (cumulative rounding).
  Parts dirichlet_draw(const std::vector<std::vector<Index>>& of_class) {
    std::vector<double> p(workers_);
    Parts parts(workers_);
    for (const auto& rows : of_class) {
      draw_dirichlet(p);
      const double n = double(rows.size());
      double cumulative = 0.0;
      std::size_t begin = 0;
      for (std::size_t k = 0; k < workers_; ++k) {
        cumulative += p[k];
        const std::size_t end =
            k + 1 == workers_ ? rows.size()
                              : std::min(rows.size(), std::size_t(std::llround(n * cumulative)));
        if (end > begin) {
          parts[k].insert(parts[k].end(), rows.begin() + std::ptrdiff_t(begin),
                          rows.begin() + std::ptrdiff_t(end));
          begin = end;
        }
      }
    }
    return parts;
  }

  // data.min_shard = m for a Dirichlet draw: workers in order, every shard with fewer than m
  // rows receives rows one at a time until it has m. Each row is of the class the receiving
  // shard holds most of (lowest class on ties), taken from the largest shard with more than m
  // rows that holds that class (lowest worker on ties); an empty receiver, or one whose class
  // no such shard holds, takes a row of the most frequent class of the largest shard with
  // more than m rows. The row moved is the last of that class in the donor's shard (a random
  // one: rows of a class are in shuffled order). So exactly sum_k max(0, m - n_k) rows move,
  // the fewest possible; a small shard keeps the classes the draw gave it, and the donors are
  // the largest shards, whose label mix changes least. Deterministic, no draw is repeated,
  // and a draw whose shards all have m rows is kept as it is. The caller has checked that
  // m K <= rows, so a shard with more than m rows exists while one has fewer.
  void top_up(Parts& parts) const {
    const std::size_t m = spec_.min_shard;
    const std::size_t classes = std::size_t(data_.num_classes);
    if (std::all_of(parts.begin(), parts.end(), [m](const auto& w) { return w.size() >= m; }))
      return;
    // by_class[k][c]: worker k's rows of class c, in the order of the draw.
    std::vector<std::vector<std::vector<Index>>> by_class(workers_,
                                                          std::vector<std::vector<Index>>(classes));
    std::vector<std::size_t> size(workers_);
    for (std::size_t k = 0; k < workers_; ++k) {
      for (const Index row : parts[k]) by_class[k][label(row)].push_back(row);
      size[k] = parts[k].size();
    }
    const auto most_frequent = [&](std::size_t k) {
      std::size_t best = 0;
      for (std::size_t c = 1; c < classes; ++c)
        if (by_class[k][c].size() > by_class[k][best].size()) best = c;
      return best;
    };
    // The largest shard with more than m rows (holding class c when c < classes).
    const auto donor_of = [&](std::size_t c) {
      std::size_t donor = workers_;
      for (std::size_t k = 0; k < workers_; ++k)
        if (size[k] > m && (c >= classes || !by_class[k][c].empty()) &&
            (donor == workers_ || size[k] > size[donor]))
          donor = k;
      return donor;
    };
    for (std::size_t r = 0; r < workers_; ++r) {
      while (size[r] < m) {
        std::size_t c = size[r] > 0 ? most_frequent(r) : classes;
        std::size_t donor = c < classes ? donor_of(c) : workers_;
        if (donor == workers_) {
          donor = donor_of(classes);
          assert(donor < workers_ && "m K <= rows leaves a shard above m");
          c = most_frequent(donor);
        }
        by_class[r][c].push_back(by_class[donor][c].back());
        by_class[donor][c].pop_back();
        ++size[r];
        --size[donor];
      }
    }
    for (std::size_t k = 0; k < workers_; ++k) {
      parts[k].clear();
      for (const auto& rows : by_class[k])
        parts[k].insert(parts[k].end(), rows.begin(), rows.end());
    }
  }

  // p ~ Dirichlet(alpha, ..., alpha) through normalised Gamma(alpha) draws.
  void draw_dirichlet(std::vector<double>& p) {
    double sum = 0.0;
    for (double& v : p) sum += v = rng_.gamma(spec_.alpha);
    if (sum > 0.0) {
      for (double& v : p) v /= sum;
    } else {  // every draw underflowed (tiny alpha): the limit is a random vertex
      std::fill(p.begin(), p.end(), 0.0);
      p[rng_.below(p.size())] = 1.0;
    }
  }

  Parts by_source() {
    if (data_.source.size() != data_.rows) {
      fail("needs Dataset::source (the source of each row, as synthetic data has), and '" +
           data_.name + "' has none");
    }
    Parts parts(workers_);
    for (std::size_t i = 0; i < data_.rows; ++i) {
      const Index s = data_.source[i];
      if (s >= workers_) {
        fail("row " + std::to_string(i) + " comes from source " + std::to_string(s) +
             ", but there are only " + std::to_string(workers_) +
             " workers (use as many workers as sources)");
      }
      parts[s].push_back(Index(i));
    }
    return parts;
  }

  const Dataset& data_;
  std::size_t workers_;
  const PartitionSpec& spec_;
  Rng& rng_;
};

}  // namespace

std::vector<std::vector<Index>> partition(const Dataset& data, int workers,
                                          const PartitionSpec& spec, Rng& rng) {
  return Partitioner(data, workers, spec, rng).run();
}

const char* partition_kind_name(PartitionKind kind) {
  switch (kind) {
    case PartitionKind::iid:
      return "iid";
    case PartitionKind::shards:
      return "shards";
    case PartitionKind::dirichlet:
      return "dirichlet";
    case PartitionKind::source:
      return "source";
    case PartitionKind::full:
      return "full";
  }
  return "unknown";
}

PartitionKind parse_partition_kind(const std::string& name) {
  for (const auto kind : {PartitionKind::iid, PartitionKind::shards, PartitionKind::dirichlet,
                          PartitionKind::source, PartitionKind::full}) {
    if (name == partition_kind_name(kind)) return kind;
  }
  throw InvalidInput("unknown partition '" + name +
                     "' (expected iid, shards, dirichlet, source or full)");
}

}  // namespace herd::data
