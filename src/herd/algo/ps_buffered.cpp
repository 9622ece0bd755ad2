// The parameter-server algorithms that step with a table or a buffer of gradients instead of
// the arriving gradient alone: IA2SGD, Malenia SGD, Rennala SGD and
// Ringleader ASGD.
#include <algorithm>
#include <vector>

#include "herd/algo/ps_policies.hpp"
#include "herd/algo/registry.hpp"

namespace herd::algo {
namespace {

// The latest gradient of every worker and their sum, kept in double so that replacing
// entries millions of times does not drift. Entries start at zero. Memory K * d.
class GradientTable {
 public:
  GradientTable(int workers, std::size_t dim)
      : workers_(workers), dim_(dim), rows_(std::size_t(workers) * dim, 0.0f), sum_(dim, 0.0) {}
  void replace(int k, CSpan g) {
    Span row = Span(rows_).subspan(std::size_t(k) * dim_, dim_);
    for (std::size_t j = 0; j < dim_; ++j) {
      sum_[j] += double(g[j]) - double(row[j]);
      row[j] = g[j];
    }
  }
  void mean(Span out) const {
    for (std::size_t j = 0; j < dim_; ++j) out[j] = float(sum_[j] / double(workers_));
  }
  void keep_in(AlgoState& state) { state.add("table", rows_).add("table_sum", sum_); }

 private:
  int workers_;
  std::size_t dim_;
  std::vector<float> rows_;
  std::vector<double> sum_;
};

// malenia_sgd and rennala_sgd. Values come from the options' declared defaults (knobs()).
struct ServerBatchSettings {
  std::int64_t server_batch{};  // S: gradients per step; resolved: 0 means K

  static const Knobs<ServerBatchSettings>& knobs() {
    static const auto k = Knobs<ServerBatchSettings>().add(
        integer("algo.server_batch", 0, "S, gradients collected per step; 0 = S = workers.").ge(0),
        &ServerBatchSettings::server_batch);
    return k;
  }
  void resolve(const JobContext& job) {
    if (server_batch == 0) server_batch = job.workers;
  }
};

// Wang et al. 2024: on an arrival, replace the worker's entry and step with the mean of the
// table, x <- x - gamma (1/K) sum_i g_i. Workers not heard from yet count as zero.
class Ia2sgd final : public ServerPolicy {
 public:
  explicit Ia2sgd(const ParameterServer& s) : table_(s.workers(), s.dim()), direction_(s.dim()) {}
  bool on_arrival(ParameterServer& s, const Arrival& a) override {
    table_.replace(a.worker, a.payload);
    table_.mean(direction_);
    s.descend(direction_, s.gamma());
    return true;
  }
  void keep_in(AlgoState& state) override { table_.keep_in(state); }

 private:
  GradientTable table_;
  std::vector<float> direction_;
};

// Malenia and Rennala: every worker computes at the same x^k; the server keeps only
// gradients at x^k (others are dropped), and once it has enough, steps and restarts every
// worker at the new x (work in progress is dropped).
class SameModelPolicy : public ServerPolicy {
 public:
  explicit SameModelPolicy(const ParameterServer& s) : direction_(s.dim()) {}
  bool on_arrival(ParameterServer& s, const Arrival& a) override {
    if (a.delay != 0) return false;  // computed at a model already replaced
    accumulate(a.worker, a.payload);
    if (!enough()) return true;
    take_direction(direction_);
    s.descend(direction_, s.gamma());
    for (int k = 0; k < s.workers(); ++k) s.send_model(k);
    return true;
  }

 protected:
  virtual void accumulate(int worker, CSpan g) = 0;
  virtual bool enough() const = 0;
  // Writes the step direction and empties the buffers for the next x.
  virtual void take_direction(Span out) = 0;

 private:
  std::vector<float> direction_;
};

// Tyurin and Richtarik (NeurIPS 2023): per-worker sums G_i and counts B_i until every B_i >= 1
// and ((1/K) sum_i 1/B_i)^(-1) >= S / K; then x <- x - gamma (1/K) sum_i G_i / B_i.
class MaleniaSgd final : public SameModelPolicy {
 public:
  MaleniaSgd(const ParameterServer& s, const ServerBatchSettings& settings)
      : SameModelPolicy(s),
        workers_(s.workers()),
        dim_(s.dim()),
        target_(settings.server_batch),
        sums_(std::size_t(workers_) * dim_, 0.0f),
        counts_(std::size_t(workers_), 0) {}
  void report(MetricsRow& row) const override {
    row.set("server_batch", target_);
    row.set("batch", last_batch_);  // K times the harmonic mean of the last step's B_i (vs S)
  }
  void keep_in(AlgoState& state) override {
    state.add("sums", sums_)
        .add("counts", counts_)
        .add("contributing", contributing_)
        .add("inverse_sum", inverse_sum_)
        .add("last_batch", last_batch_);
  }

 private:
  void accumulate(int worker, CSpan g) override {
    axpy(1.0f, g, Span(sums_).subspan(std::size_t(worker) * dim_, dim_));
    std::int64_t& b = counts_[std::size_t(worker)];
    if (b == 0)
      ++contributing_;
    else
      inverse_sum_ -= 1.0 / double(b);
    ++b;
    inverse_sum_ += 1.0 / double(b);
  }
  bool enough() const override {
    // (K / sum_i 1/B_i) >= S / K, with room for the rounding of the running sum.
    const double K = double(workers_);
    return contributing_ == workers_ && K * K >= double(target_) * inverse_sum_ * (1 - 1e-12);
  }
  void take_direction(Span out) override {
    fill(out, 0.0f);
    for (std::size_t k = 0; k < counts_.size(); ++k)
      axpy(1.0f / (float(workers_) * float(counts_[k])), Span(sums_).subspan(k * dim_, dim_), out);
    last_batch_ = double(workers_) * double(workers_) / inverse_sum_;
    fill(sums_, 0.0f);
    std::fill(counts_.begin(), counts_.end(), 0);
    contributing_ = 0;
    inverse_sum_ = 0;
  }

  int workers_;
  std::size_t dim_;
  std::int64_t target_;
  std::vector<float> sums_;
  std::vector<std::int64_t> counts_;
  int contributing_ = 0;    // workers with B_i >= 1
  double inverse_sum_ = 0;  // sum_i 1 / B_i over them
  double last_batch_ = 0;
};

// Rennala SGD: one pooled sum; step when sum_i B_i >= S with x <- x - gamma G / B.
class RennalaSgd final : public SameModelPolicy {
 public:
  RennalaSgd(const ParameterServer& s, const ServerBatchSettings& settings)
      : SameModelPolicy(s), target_(settings.server_batch), sum_(s.dim(), 0.0f) {}
  void report(MetricsRow& row) const override { row.set("server_batch", target_); }
  void keep_in(AlgoState& state) override { state.add("sum", sum_).add("count", count_); }

 private:
  void accumulate(int, CSpan g) override {
    axpy(1.0f, g, sum_);
    ++count_;
  }
  bool enough() const override { return count_ >= target_; }
  void take_direction(Span out) override {
    copy(sum_, out);
    scale(out, 1.0f / float(count_));
    fill(sum_, 0.0f);
    count_ = 0;
  }

  std::int64_t target_;
  std::vector<float> sum_;
  std::int64_t count_ = 0;
};

// Maranjyan and Richtarik (ICLR 2026): a table of every
// worker's latest gradient; each round first collects until every worker has contributed
// (no update; arrivals are answered with the unchanged x), then makes exactly K updates
// x <- x - gamma mean_i(table_i), one for the next arrival of each worker (its gradient
// replaces its entry first; the arrival that completes the collection is the first), each
// such worker being sent the new x. Arrivals from workers already updated this round fill
// the next round's table.
class RingleaderAsgd final : public ServerPolicy {
 public:
  explicit RingleaderAsgd(const ParameterServer& s)
      : workers_(s.workers()),
        dim_(s.dim()),
        table_(workers_, dim_),
        next_(std::size_t(workers_) * dim_),
        filled_(std::size_t(workers_), 0),
        next_filled_(std::size_t(workers_), 0),
        updated_(std::size_t(workers_), 0),
        direction_(dim_) {}

  bool on_arrival(ParameterServer& s, const Arrival& a) override {
    const std::size_t k = std::size_t(a.worker);
    if (n_filled_ < workers_) {  // collecting
      table_.replace(a.worker, a.payload);
      if (!filled_[k]) filled_[k] = true, ++n_filled_;
      if (n_filled_ == workers_) update(s, a.worker);
    } else if (!updated_[k]) {
      table_.replace(a.worker, a.payload);
      update(s, a.worker);
    } else {
      copy(a.payload, Span(next_).subspan(k * dim_, dim_));
      next_filled_[k] = true;
    }
    return true;
  }
  void report(MetricsRow& row) const override { row.set("ringleader_rounds", rounds_); }
  void keep_in(AlgoState& state) override {
    table_.keep_in(state);
    state.add("next", next_)
        .add("filled", filled_)
        .add("next_filled", next_filled_)
        .add("updated", updated_)
        .add("n_filled", n_filled_)
        .add("n_updated", n_updated_)
        .add("rounds", rounds_);
  }

 private:
  void update(ParameterServer& s, int worker) {
    table_.mean(direction_);
    s.descend(direction_, s.gamma());
    updated_[std::size_t(worker)] = true;
    if (++n_updated_ < workers_) return;
    // The round is over: what arrived early is the new round's collection.
    ++rounds_;
    n_filled_ = n_updated_ = 0;
    for (int j = 0; j < workers_; ++j) {
      const std::size_t i = std::size_t(j);
      if (next_filled_[i]) table_.replace(j, CSpan(next_).subspan(i * dim_, dim_));
      filled_[i] = next_filled_[i];
      n_filled_ += filled_[i] ? 1 : 0;
      next_filled_[i] = updated_[i] = false;
    }
  }

  int workers_;
  std::size_t dim_;
  GradientTable table_;
  std::vector<float> next_;
  std::vector<std::int64_t> filled_, next_filled_, updated_;  // flags (0 or 1) per worker
  int n_filled_ = 0, n_updated_ = 0;
  std::int64_t rounds_ = 0;
  std::vector<float> direction_;
};

}  // namespace

HERD_REGISTER_ALGORITHM(
    ia2sgd,
    AlgorithmDef<NoSettings>{
        .name = "ia2sgd",
        .summary = "The server steps with the mean of every worker's latest gradient.",
        .order = 130,
        .needs_server = true,
        .make = [](const NoSettings&) {
          return gradient_algorithm([](const ParameterServer& s) -> std::unique_ptr<ServerPolicy> {
            return std::make_unique<Ia2sgd>(s);
          });
        }});

HERD_REGISTER_ALGORITHM(
    malenia_sgd,
    AlgorithmDef<ServerBatchSettings>{
        .name = "malenia_sgd",
        .summary = "Gradients at the current x only, averaged per worker, until their harmonic "
                   "batch reaches S; then one step.",
        .order = 140,
        .needs_server = true,
        .make = [](const ServerBatchSettings& settings) {
          return gradient_algorithm(
              [settings](const ParameterServer& s) -> std::unique_ptr<ServerPolicy> {
                return std::make_unique<MaleniaSgd>(s, settings);
              });
        }});

HERD_REGISTER_ALGORITHM(
    rennala_sgd,
    AlgorithmDef<ServerBatchSettings>{
        .name = "rennala_sgd",
        .summary = "Gradients at the current x only, pooled until S have arrived; then one step.",
        .order = 150,
        .needs_server = true,
        .make = [](const ServerBatchSettings& settings) {
          return gradient_algorithm(
              [settings](const ParameterServer& s) -> std::unique_ptr<ServerPolicy> {
                return std::make_unique<RennalaSgd>(s, settings);
              });
        }});

HERD_REGISTER_ALGORITHM(
    ringleader_asgd,
    AlgorithmDef<NoSettings>{
        .name = "ringleader_asgd",
        .summary = "Rounds of a gradient table: collect from every worker, then K updates, one "
                   "per worker's next arrival.",
        .order = 160,
        .needs_server = true,
        .make = [](const NoSettings&) {
          return gradient_algorithm([](const ParameterServer& s) -> std::unique_ptr<ServerPolicy> {
            return std::make_unique<RingleaderAsgd>(s);
          });
        }});

}  // namespace herd::algo
