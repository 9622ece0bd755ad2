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
#include "herd/algo/registry.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

// rescaled_asgd. Values come from the options' declared defaults (knobs()).
struct RescaledAsgdSettings {
  bool estimate_tau{};      // estimate tau_i online instead of using the known ones
  double tau_ema{};         // weight of the newest inter-arrival time in the estimate
  std::vector<double> tau;  // the known compute times (the job's worker_tau)

  static const Knobs<RescaledAsgdSettings>& knobs() {
    using S = RescaledAsgdSettings;
    static const auto k =
        Knobs<S>()
            .add(choice("algo.rescale_tau", {"known", "estimated"}, "known",
                        "Rescale with the known compute times of [cluster] or with times "
                        "estimated online from each worker's inter-arrival times."),
                 &S::estimate_tau, "estimated")
            .add(number("algo.tau_ema", 0.1,
                        "With rescale_tau = estimated: weight of the newest inter-arrival time "
                        "in the moving average.")
                     .gt(0)
                     .le(1),
                 &S::tau_ema);
    return k;
  }
  // Known compute times: one per worker, each positive.
  void resolve(const JobContext& job) {
    if (estimate_tau) return;
    tau.assign(job.worker_tau.begin(), job.worker_tau.end());
    if (tau.empty())
      throw InvalidInput(
          "algo.name = \"rescaled_asgd\" with algo.rescale_tau = \"known\" needs "
          "the workers' compute times: set cluster.compute_times (or "
          "algo.rescale_tau = \"estimated\")");
    if (tau.size() != std::size_t(job.workers))
      throw InvalidInput("rescaled_asgd with known compute times needs one per worker: got " +
                         std::to_string(tau.size()) + " for " + std::to_string(job.workers) +
                         " workers (cluster.compute_times, or algo.rescale_tau = \"estimated\")");
    for (double t : tau)
      if (!(t > 0))
        throw InvalidInput("rescaled_asgd: compute times must be positive, got " +
                           std::to_string(t) + " (cluster.compute_times)");
  }
};

// ringmaster_asgd.
struct RingmasterSettings {
  std::int64_t delay_threshold{};  // R; resolved: 0 means K
  bool ringmaster_restart{};       // stop-and-restart instead of discard

  static const Knobs<RingmasterSettings>& knobs() {
    using S = RingmasterSettings;
    static const auto k =
        Knobs<S>()
            .add(integer("algo.delay_threshold", 0,
                         "Arrivals with delay >= R are discarded; 0 = R = workers.")
                     .ge(0),
                 &S::delay_threshold)
            .add(choice("algo.ringmaster_mode", {"discard", "restart"}, "discard",
                        "Discard stale arrivals, or stop and restart a worker as soon as its "
                        "delay reaches R."),
                 &S::ringmaster_restart, "restart");
    return k;
  }
  void resolve(const JobContext& job) {
    if (delay_threshold == 0) delay_threshold = job.workers;
  }
};

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
  RescaledAsgd(const ParameterServer& s, const RescaledAsgdSettings& settings)
      : tau_(settings.tau) {
    double inverse_sum = 0;
    for (double t : tau_) inverse_sum += 1 / t;
    harmonic_ = double(s.workers()) / inverse_sum;
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
  EstimatedRescaledAsgd(const ParameterServer& s, const RescaledAsgdSettings& settings)
      : weight_(settings.tau_ema),
        estimate_(std::size_t(s.workers()), 0.0),
        last_arrival_(std::size_t(s.workers()), s.start_time()),
        unknown_(s.workers()) {}

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
  explicit RingmasterAsgd(const RingmasterSettings& settings)
      : threshold_(settings.delay_threshold), restart_(settings.ringmaster_restart) {}

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

HERD_REGISTER_ALGORITHM(
    asgd,
    AlgorithmDef<NoSettings>{
        .name = "asgd",
        .summary = "Asynchronous SGD: the server applies each gradient as it arrives.",
        .order = 90,
        .needs_server = true,
        .make = [](const NoSettings&) {
          return gradient_algorithm([](const ParameterServer&) -> std::unique_ptr<ServerPolicy> {
            return std::make_unique<Asgd>();
          });
        }});

HERD_REGISTER_ALGORITHM(
    rescaled_asgd,
    AlgorithmDef<RescaledAsgdSettings>{
        .name = "rescaled_asgd",
        .summary = "ASGD with worker i's step scaled by tau_i over the harmonic mean of the "
                   "compute times (known or estimated).",
        .order = 100,
        .needs_server = true,
        .make = [](const RescaledAsgdSettings& settings) {
          return gradient_algorithm(
              [settings](const ParameterServer& s) -> std::unique_ptr<ServerPolicy> {
                if (settings.estimate_tau)
                  return std::make_unique<EstimatedRescaledAsgd>(s, settings);
                return std::make_unique<RescaledAsgd>(s, settings);
              });
        }});

HERD_REGISTER_ALGORITHM(delay_adaptive_asgd,
                        AlgorithmDef<NoSettings>{
                            .name = "delay_adaptive_asgd",
                            .summary = "ASGD with the step size gamma min(1, K / delay).",
                            .order = 110,
                            .needs_server = true,
                            .make = [](const NoSettings&) {
                              return gradient_algorithm(
                                  [](const ParameterServer&) -> std::unique_ptr<ServerPolicy> {
                                    return std::make_unique<DelayAdaptiveAsgd>();
                                  });
                            }});

HERD_REGISTER_ALGORITHM(
    ringmaster_asgd,
    AlgorithmDef<RingmasterSettings>{
        .name = "ringmaster_asgd",
        .summary = "ASGD that discards gradients with delay >= R, or restarts their workers.",
        .order = 120,
        .needs_server = true,
        .make = [](const RingmasterSettings& settings) {
          return gradient_algorithm(
              [settings](const ParameterServer&) -> std::unique_ptr<ServerPolicy> {
                return std::make_unique<RingmasterAsgd>(settings);
              });
        }});

}  // namespace herd::algo
