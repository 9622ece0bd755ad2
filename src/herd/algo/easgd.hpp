#pragma once
#include <cstdint>
#include <optional>

#include "herd/algo/algorithm.hpp"
#include "herd/algo/settings.hpp"

namespace herd::algo {

// easgd and async_easgd. Values come from the options' declared defaults (knobs()).
struct ElasticSettings {
  std::int64_t period{};                // tau: local steps between exchanges
  std::optional<double> elastic_alpha;  // the moving rate; resolved: 0.9 / K when not set

  static const Knobs<ElasticSettings>& knobs();
  void resolve(const JobContext& job);
};

// eamsgd: EASGD whose local steps are Nesterov momentum steps.
struct EamsgdSettings : ElasticSettings {
  static const Knobs<EamsgdSettings>& knobs();
  // InvalidInput unless the local optimizer is Nesterov's with momentum > 0.
  void resolve(const JobContext& job);
};

// Elastic Averaging SGD (Zhang, Choromanska, LeCun, NeurIPS 2015),
// synchronous form. Every rank holds a replica of the center xt, which starts at the mean
// of the workers' starting points. Every tau = period local steps, with the values before
// the exchange,
//   x_k <- x_k - alpha (x_k - xt),   xt <- xt + alpha sum_k (x_k - xt),
// the sum being one allreduce of the differences (rank-ordered, hence the same bits on
// every rank and runtime). alpha = algo.elastic_alpha, by default 0.9 / K. Reports the
// center (models[0]) and the workers' average. EAMSGD is the same with a momentum
// optimizer, which it requires (EamsgdSettings).
class Easgd final : public Algorithm {
 public:
  explicit Easgd(const ElasticSettings& settings) : settings_(settings) {}
  void run(Worker& w) const override;

 private:
  ElasticSettings settings_;
};

// Asynchronous EASGD (easgd_async.cpp): a server on rank 0 holds the center, which starts
// at the mean of the workers' starting points. Worker k, every tau of its own steps, sends
// x_k and waits for e = alpha (x_k - xt), which the server has added to xt; then
// x_k <- x_k - e. The server reports the center; its step count is the mean local steps per
// worker.
class AsyncEasgd final : public Algorithm {
 public:
  explicit AsyncEasgd(const ElasticSettings& settings) : settings_(settings) {}
  void run(Worker& w) const override;

 private:
  ElasticSettings settings_;
};

}  // namespace herd::algo
