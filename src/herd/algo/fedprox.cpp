// FedProx (Li, Sahu, Zaheer, Sanjabi, Talwalkar, Smith, MLSys 2020): Local SGD whose local
// steps minimise F_k(x) + (mu / 2) ||x - x_r||^2, x_r being the average every worker started
// the round r from. The proximal term keeps the local iterates of workers with different
// data near the round's start, which bounds the client drift of Local SGD on heterogeneous
// data at the price of slower local progress. Every H = period steps the ranks average (one
// allreduce), and x_r becomes the new average. mu = 0 is Local SGD exactly.
#include <memory>
#include <vector>

#include "herd/algo/knobs.hpp"
#include "herd/algo/registry.hpp"
#include "herd/algo/sync_loop.hpp"

namespace herd::algo {
namespace {

struct FedProxSettings {
  std::int64_t period{};  // H: local steps between averaging rounds
  double mu{};            // the proximal weight

  static const Knobs<FedProxSettings>& knobs() {
    using S = FedProxSettings;
    static const auto k =
        Knobs<S>()
            .add(knobs::period(), &S::period)
            .add(number("algo.proximal_mu", 0.01,
                        "mu of the proximal term (mu / 2) ||x - x_r||^2 that keeps the local "
                        "steps near the round's starting average x_r; 0 = Local SGD.")
                     .ge(0),
                 &S::mu);
    return k;
  }
};

class FedProx final : public Algorithm {
 public:
  explicit FedProx(const FedProxSettings& s) : s_(s) {}

  void run(Worker& w) const override {
    std::vector<float> round_start(w.x);  // x_r
    w.algo_state.add("round_start", round_start);
    const ReportedModel model{"average", w.x};
    auto step = [&](std::int64_t t) {
      w.compute_gradient(t);
      add_pull(w.g, w.x, round_start, float(s_.mu));  // g += mu (x - x_r)
      w.local_step(t);
      if ((t + 1) % s_.period == 0) {
        w.average(w.comm);
        copy(w.x, round_start);
      }
    };
    run_steps(w, step, [&](std::int64_t done) { w.monitor.evaluate(w, done, {&model, 1}); });
  }

 private:
  FedProxSettings s_;
};

}  // namespace

HERD_REGISTER_ALGORITHM(
    fedprox,
    AlgorithmDef<FedProxSettings>{
        .name = "fedprox",
        .summary = "FedProx: Local SGD with a proximal term mu/2 ||x - x_r||^2 toward the round's "
                   "starting average.",
        .order = 25,
        .make = [](const FedProxSettings& s) { return std::make_unique<FedProx>(s); }});

}  // namespace herd::algo
