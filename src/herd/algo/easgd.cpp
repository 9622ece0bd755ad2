#include "herd/algo/easgd.hpp"

#include <string>
#include <vector>

#include "herd/algo/knobs.hpp"
#include "herd/algo/registry.hpp"
#include "herd/algo/sync_loop.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {

const Knobs<ElasticSettings>& ElasticSettings::knobs() {
  using S = ElasticSettings;
  static const auto k =
      Knobs<S>()
          .add(knobs::period(), &S::period)
          .add(number("algo.elastic_alpha", 0.0,
                      "Moving rate alpha = eta rho of the elastic pull, in [0, 1). Not set: 0.9 / "
                      "algo.workers (the authors' beta = K alpha = 0.9).")
                   .ge(0)
                   .lt(1),
               &S::elastic_alpha);
  return k;
}

void ElasticSettings::resolve(const JobContext& job) {
  if (!elastic_alpha) elastic_alpha = 0.9 / double(job.workers);
}

const Knobs<EamsgdSettings>& EamsgdSettings::knobs() {
  static const auto k = Knobs<EamsgdSettings>().include(ElasticSettings::knobs());
  return k;
}

void EamsgdSettings::resolve(const JobContext& job) {
  ElasticSettings::resolve(job);
  if (job.optimizer.rule != optim::Rule::nesterov || job.optimizer.momentum <= 0)
    throw InvalidInput(
        "algo.name = \"eamsgd\" takes Nesterov momentum steps locally: set optim.name = "
        "\"nesterov\" with optim.momentum > 0 (or use algo.name = \"easgd\")");
}

void Easgd::run(Worker& w) const {
  const ElasticSettings& s = settings_;
  const float alpha = float(*s.elastic_alpha);

  // Set-up, not the algorithm's traffic: with the usual common x_0 the mean is x_0 itself.
  std::vector<float> center(w.x);
  {
    comm::Unmetered quiet(w.comm);
    w.comm.allreduce(center, comm::ReduceOp::mean);
  }
  std::vector<float> difference(w.x.size());
  w.algo_state.add("center", center);

  auto report = [&](std::int64_t steps_done) {
    MetricsRow extra;
    extra.set("bytes_per_round", bytes_per_round(bytes_sent_by_all(w.comm), w.rounds));
    // The center is the same on every rank: rank 0's copy is everyone's.
    const ReportedModel models[] = {{"center", center, false, 0}, {"average", w.x}};
    w.monitor.evaluate(w, steps_done, models, extra);
  };

  auto step = [&](std::int64_t t) {
    w.compute_gradient(t);
    w.local_step(t);
    if ((t + 1) % s.period == 0) {
      sub(w.x, center, difference);
      w.comm.allreduce(difference, comm::ReduceOp::sum);  // sum_k (x_k - xt)
      pull_toward(w.x, center, alpha);
      axpy(alpha, difference, center);
      ++w.rounds;
    }
  };
  run_steps(w, step, report);
}

HERD_REGISTER_ALGORITHM(
    easgd, AlgorithmDef<ElasticSettings>{
               .name = "easgd",
               .summary = "Elastic Averaging SGD: every algo.period steps the workers and a shared "
                          "center pull toward each other.",
               .order = 40,
               .make = [](const ElasticSettings& s) { return std::make_unique<Easgd>(s); }});

HERD_REGISTER_ALGORITHM(
    eamsgd, AlgorithmDef<EamsgdSettings>{
                .name = "eamsgd",
                .summary = "EASGD with Nesterov momentum as the local rule (optim.name defaults to "
                           "nesterov).",
                .order = 50,
                .optim_name = "nesterov",
                .make = [](const EamsgdSettings& s) { return std::make_unique<Easgd>(s); }});

}  // namespace herd::algo
