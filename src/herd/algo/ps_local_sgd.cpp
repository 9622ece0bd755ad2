// Asynchronous Local SGD: each worker runs H local steps from the last model
// it received and sends the delta x_end - x_start; the server adds delta / K to x and
// returns the new x to that worker only.
#include <string>

#include "herd/algo/knobs.hpp"
#include "herd/algo/ps_policies.hpp"
#include "herd/algo/registry.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

// Values come from the options' declared defaults (knobs()).
struct AsyncLocalSgdSettings {
  std::int64_t period{};  // H: local steps per result

  static const Knobs<AsyncLocalSgdSettings>& knobs() {
    static const auto k =
        Knobs<AsyncLocalSgdSettings>().add(knobs::period(), &AsyncLocalSgdSettings::period);
    return k;
  }
};

class AsyncLocalSgd final : public ServerPolicy {
 public:
  explicit AsyncLocalSgd(const ParameterServer& s) : weight_(1.0f / float(s.workers())) {}
  bool on_arrival(ParameterServer& s, const Arrival& a) override {
    axpy(weight_, a.payload, s.x());
    s.commit();
    return true;
  }

 private:
  float weight_;
};

// H local optimizer steps (algo.period) with the worker's own step counter t for the
// schedule, as in synchronous Local SGD; the local optimizer's state persists across models.
class LocalSteps final : public WorkerTask {
 public:
  LocalSteps(const Worker& w, std::int64_t period)
      : period_(period), start_(w.x.size()), delta_(w.x.size()) {}
  std::optional<CSpan> run(Worker& w, std::int64_t, int interrupt_tag) override {
    copy(w.x, start_);
    for (std::int64_t h = 0; h < period_; ++h) {
      if (!w.compute_gradient_unless(t_, interrupt_tag)) {
        copy(start_, w.x);
        return std::nullopt;
      }
      w.local_step(t_++);
    }
    sub(w.x, start_, delta_);
    copy(start_, w.x);
    return CSpan(delta_);
  }
  // Every completed gradient was one local step.
  void resume(const Worker& w) override { t_ = std::int64_t(w.gradients / w.objective->batch()); }

 private:
  std::int64_t period_;
  std::int64_t t_ = 0;
  std::vector<float> start_, delta_;
};

}  // namespace

HERD_REGISTER_ALGORITHM(
    async_local_sgd,
    AlgorithmDef<AsyncLocalSgdSettings>{
        .name = "async_local_sgd",
        .summary = "Asynchronous Local SGD: each worker sends the change of algo.period local "
                   "steps; the server adds 1/K of it.",
        .order = 30,
        .needs_server = true,
        .make = [](const AsyncLocalSgdSettings& settings) {
          return std::make_unique<ParameterServerAlgorithm>(
              [](const ParameterServer& s) -> std::unique_ptr<ServerPolicy> {
                return std::make_unique<AsyncLocalSgd>(s);
              },
              [period = settings.period](const Worker& w) -> std::unique_ptr<WorkerTask> {
                return std::make_unique<LocalSteps>(w, period);
              });
        }});

}  // namespace herd::algo
