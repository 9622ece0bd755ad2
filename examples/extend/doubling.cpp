// An algorithm of the application: local SGD whose averaging rounds come after steps 1, 2, 4,
// 8, ... (the period doubles), on every runtime herd has.
#include <herd/algo/registry.hpp>
#include <herd/algo/sync_loop.hpp>

#include <memory>

namespace {

using namespace herd;
using namespace herd::algo;

class DoublingSgd final : public Algorithm {
 public:
  void run(Worker& w) const override {
    auto report = [&](std::int64_t steps_done) {
      const ReportedModel models[] = {{"average", w.x}};
      w.monitor.evaluate(w, steps_done, models);
    };
    auto step = [&](std::int64_t t) {
      w.compute_gradient(t);
      w.local_step(t);
      if (((t + 1) & t) == 0) w.average(w.comm);  // t + 1 is a power of two: one round
    };
    run_steps(w, step, report);
  }
};

HERD_REGISTER_ALGORITHM(doubling_sgd,
                        AlgorithmDef<NoSettings>{
                            .name = "doubling_sgd",
                            .summary = "Local SGD averaging after steps 1, 2, 4, 8, ... "
                                       "(examples/extend).",
                            .order = 2000,
                            .make = [](const NoSettings&) {
                              return std::make_unique<DoublingSgd>();
                            }});

}  // namespace
