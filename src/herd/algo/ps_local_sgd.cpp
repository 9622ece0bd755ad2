// Asynchronous Local SGD: each worker runs H local steps from the last model
// it received and sends the delta x_end - x_start; the server adds delta / K to x and
// returns the new x to that worker only.
#include <string>

#include "herd/algo/ps_policies.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

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
  explicit LocalSteps(const Worker& w)
      : period_(w.settings.period), start_(w.x.size()), delta_(w.x.size()) {
    if (period_ < 1)
      throw InvalidInput("algo.period = " + std::to_string(period_) +
                         ": async_local_sgd needs at least one local step");
  }
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

std::unique_ptr<ServerPolicy> make_async_local_sgd_policy(const ParameterServer& s) {
  return std::make_unique<AsyncLocalSgd>(s);
}
std::unique_ptr<WorkerTask> make_local_steps_task(const Worker& w) {
  return std::make_unique<LocalSteps>(w);
}

}  // namespace herd::algo
