#pragma once
#include "herd/algo/algorithm.hpp"

namespace herd::algo {

// Elastic Averaging SGD (Zhang, Choromanska, LeCun, NeurIPS 2015),
// synchronous form. Every rank holds a replica of the center xt, which starts at the mean
// of the workers' starting points. Every tau = period local steps, with the values before
// the exchange,
//   x_k <- x_k - alpha (x_k - xt),   xt <- xt + alpha sum_k (x_k - xt),
// the sum being one allreduce of the differences (rank-ordered, hence the same bits on
// every rank and runtime). alpha = algo.elastic_alpha, by default 0.9 / K. Reports the
// center (models[0]) and the workers' average. EAMSGD is the same with a momentum
// optimizer, which it requires.
class Easgd final : public Algorithm {
 public:
  explicit Easgd(bool momentum) : momentum_(momentum) {}
  void run(Worker& w) override;

 private:
  bool momentum_;
};

// Asynchronous EASGD (easgd_async.cpp): a server on rank 0 holds the center, which starts
// at the mean of the workers' starting points. Worker k, every tau of its own steps, sends
// x_k and waits for e = alpha (x_k - xt), which the server has added to xt; then
// x_k <- x_k - e. The server reports the center; its step count is the mean local steps per
// worker.
class AsyncEasgd final : public Algorithm {
 public:
  bool needs_server() const override { return true; }
  void run(Worker& w) override;
};

}  // namespace herd::algo
