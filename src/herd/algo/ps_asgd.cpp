// Vanilla ASGD and its variants that apply each gradient on its own:
// x <- x - gamma * scale * g_i, where only the scale of an arrival, or whether it is used
// at all, differs between them.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "herd/algo/ps_policies.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

class SingleGradientPolicy : public ServerPolicy {
 public:
  bool on_arrival(ParameterServer& s, const Arrival& a) override {
    const std::optional<double> scale = step_scale(s, a);
    if (!scale) return false;
    s.descend(a.payload, s.gamma() * *scale);
    after_update(s, a);
    return true;
  }

 protected:
  // gamma_i / gamma for this arrival; nullopt discards it. Called once per arrival.
  virtual std::optional<double> step_scale(const ParameterServer& s, const Arrival& a) = 0;
  virtual void after_update(ParameterServer& s, const Arrival& a) { (void)s, (void)a; }
};

class Asgd final : public SingleGradientPolicy {
  std::optional<double> step_scale(const ParameterServer&, const Arrival&) override { return 1.0; }
};

// Mishchenko et al. 2022: gamma_k = gamma min(1, K / delta_k).
class DelayAdaptiveAsgd final : public SingleGradientPolicy {
  std::optional<double> step_scale(const ParameterServer& s, const Arrival& a) override {
    return a.delay <= s.workers() ? 1.0 : double(s.workers()) / double(a.delay);
  }
};

// Rescaled ASGD with known compute times: gamma_i = gamma tau_i / tau_H with the harmonic
// mean tau_H = K / sum_j 1 / tau_j, so every worker moves x by the same total step per unit
// of time.
class RescaledAsgd final : public SingleGradientPolicy {
 public:
  explicit RescaledAsgd(const ParameterServer& s) : tau_(s.settings().tau) {
    const int K = s.workers();
    if (tau_.size() != std::size_t(K))
      throw InvalidInput("rescaled_asgd with known compute times needs one per worker: got " +
                         std::to_string(tau_.size()) + " for " + std::to_string(K) +
                         " workers (cluster.compute_times, or algo.rescale_tau = \"estimated\")");
    double inverse_sum = 0;
    for (double t : tau_) {
      if (!(t > 0))
        throw InvalidInput("rescaled_asgd: compute times must be positive, got " +
                           std::to_string(t) + " (cluster.compute_times)");
      inverse_sum += 1 / t;
    }
    harmonic_ = double(K) / inverse_sum;
  }

 private:
  std::optional<double> step_scale(const ParameterServer&, const Arrival& a) override {
    return tau_[std::size_t(a.worker)] / harmonic_;
  }
  std::vector<double> tau_;
  double harmonic_ = 0;
};

// Rescaled ASGD with tau_i estimated online: an exponential moving average (weight
// algo.tau_ema on the newest) of worker i's inter-arrival times at the server, the first
// interval counted from the start. A worker not heard from yet counts with the time since
// the start, a lower bound on its tau that grows until it arrives.
class EstimatedRescaledAsgd final : public SingleGradientPolicy {
 public:
  explicit EstimatedRescaledAsgd(const ParameterServer& s)
      : weight_(s.settings().tau_ema),
        estimate_(std::size_t(s.workers()), 0.0),
        last_arrival_(std::size_t(s.workers()), s.start_time()),
        unknown_(s.workers()) {
    if (!(weight_ > 0 && weight_ <= 1))
      throw InvalidInput("algo.tau_ema must lie in (0, 1], got " + std::to_string(weight_));
  }

  void report(MetricsRow& row) const override {
    std::string s;
    for (std::size_t i = 0; i < estimate_.size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.6g", i > 0 ? "," : "", estimate_[i]);
      s += buf;
    }
    row.set("tau_estimates", s);
  }
  void keep_in(AlgoState& state) override {
    state.add("tau_estimates", estimate_)
        .add("last_arrivals", last_arrival_)
        .add("unknown", unknown_)
        .add("inverse_sum", inverse_sum_);
  }

 private:
  std::optional<double> step_scale(const ParameterServer& s, const Arrival& a) override {
    const std::size_t i = std::size_t(a.worker);
    const double now = s.now();
    const double interval = std::max(now - last_arrival_[i], min_interval);
    last_arrival_[i] = now;
    double& tau = estimate_[i];
    if (tau == 0) {
      --unknown_;
    } else {
      inverse_sum_ -= 1 / tau;
    }
    tau = tau == 0 ? interval : (1 - weight_) * tau + weight_ * interval;
    inverse_sum_ += 1 / tau;
    const double elapsed = std::max(now - s.start_time(), min_interval);
    const double harmonic = double(s.workers()) / (inverse_sum_ + double(unknown_) / elapsed);
    return tau / harmonic;
  }

  static constexpr double min_interval = 1e-12;  // seconds; keeps 1 / tau finite
  double weight_;
  std::vector<double> estimate_;  // 0: no arrival yet
  std::vector<double> last_arrival_;
  int unknown_;
  double inverse_sum_ = 0;  // over the workers with an estimate
};

// Maranjyan, Tyurin, Richtarik (ICML 2025): arrivals with delay >= R are discarded. With
// calculation stops, a worker whose model has become R updates old is restarted at the
// current x at once instead of finishing a gradient that would be discarded.
class RingmasterAsgd final : public SingleGradientPolicy {
 public:
  explicit RingmasterAsgd(const ParameterServer& s)
      : threshold_(s.settings().delay_threshold > 0 ? s.settings().delay_threshold : s.workers()),
        restart_(s.settings().ringmaster_restart) {}

  void on_sent(int worker, std::int64_t version) override {
    if (restart_) sent_.emplace_back(version, worker);
  }
  void report(MetricsRow& row) const override {
    row.set("delay_threshold", threshold_);
    row.set("restarts", restarts_);
  }
  // The versions in flight are not kept: a resumed server sends every worker a new model.
  void keep_in(AlgoState& state) override { state.add("restarts", restarts_); }

 private:
  std::optional<double> step_scale(const ParameterServer&, const Arrival& a) override {
    if (a.delay >= threshold_) return std::nullopt;
    return 1.0;
  }
  void after_update(ParameterServer& s, const Arrival& a) override {
    // Versions are sent in non-decreasing order, so the models that have just become R old
    // are at the front; entries a later send superseded are skipped.
    while (!sent_.empty() && s.step() - sent_.front().first >= threshold_) {
      const auto [version, worker] = sent_.front();
      sent_.pop_front();
      if (worker == a.worker || s.sent_version(worker) != version) continue;
      s.send_model(worker);
      ++restarts_;
    }
  }

  std::int64_t threshold_;
  bool restart_;
  std::deque<std::pair<std::int64_t, int>> sent_;  // (version, worker), in sending order
  std::int64_t restarts_ = 0;
};

}  // namespace

std::unique_ptr<ServerPolicy> make_asgd_policy(const ParameterServer&) {
  return std::make_unique<Asgd>();
}
std::unique_ptr<ServerPolicy> make_rescaled_asgd_policy(const ParameterServer& s) {
  if (s.settings().estimate_tau) return std::make_unique<EstimatedRescaledAsgd>(s);
  return std::make_unique<RescaledAsgd>(s);
}
std::unique_ptr<ServerPolicy> make_delay_adaptive_asgd_policy(const ParameterServer&) {
  return std::make_unique<DelayAdaptiveAsgd>();
}
std::unique_ptr<ServerPolicy> make_ringmaster_asgd_policy(const ParameterServer& s) {
  return std::make_unique<RingmasterAsgd>(s);
}

}  // namespace herd::algo
