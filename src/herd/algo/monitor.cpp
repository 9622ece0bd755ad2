#include "herd/algo/monitor.hpp"

#include <cmath>

#include "herd/algo/worker.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {

void Monitor::evaluate(Worker& w, std::int64_t steps_done, std::span<const ReportedModel> models,
                       const MetricsRow& extra) {
  comm::Communicator& c = w.comm;
  comm::Unmetered quiet(c);
  const double started = c.now();

  // Job-wide counters: gradients and bytes summed over ranks.
  std::vector<double> totals{double(w.gradients), double(c.traffic().bytes_sent)};
  c.allreduce(std::span<double>(totals), comm::ReduceOp::sum);

  MetricsRow row;
  bool stop = false;
  for (std::size_t m = 0; m < models.size(); ++m) {
    const ReportedModel& model = models[m];
    buffer_.assign(model.x.begin(), model.x.end());
    if (model.average_over_ranks)
      c.allreduce(buffer_, comm::ReduceOp::mean);
    else
      c.broadcast(buffer_, model.rank);
    double consensus = 0;
    if (m == 0) {  // spread of the workers around the evaluated model
      std::vector<double> spread{dist2(w.x, buffer_)};
      c.allreduce(std::span<double>(spread), comm::ReduceOp::mean);
      consensus = spread[0];
    }
    if (c.rank() != 0) continue;

    const model::Evaluation e = shared_.problem->evaluate(buffer_);
    const bool has_subopt = shared_.f_star.has_value();
    const double subopt = has_subopt ? e.train_loss - shared_.f_star.value() : 0.0;
    if (m == 0) {
      if (!std::isfinite(e.train_loss))
        throw Diverged("diverged: the training loss of the " + model.name + " model is " +
                       std::to_string(e.train_loss) + " at step " + std::to_string(steps_done) +
                       "; lower algo.lr");
      row.set("time", started - eval_seconds_);
      row.set("step", std::int64_t(steps_done));
      if (shared_.train_rows > 0) row.set("epoch", totals[0] / double(shared_.train_rows));
      row.set("grads", std::int64_t(totals[0]));
      row.set("rounds", std::int64_t(w.rounds));
      row.set("bytes", std::int64_t(totals[1]));
      row.set("train_loss", e.train_loss);
      if (e.train_acc) row.set("train_acc", *e.train_acc);
      if (e.test_loss) row.set("test_loss", *e.test_loss);
      if (e.test_acc) row.set("test_acc", *e.test_acc);
      row.set("grad_norm2", e.grad_norm2);
      if (has_subopt) row.set("suboptimality", subopt);
      row.set("consensus", consensus);
      row.set("model", model.name);
      const StopRule& s = shared_.stop;
      if (s.target_loss > 0 && e.train_loss <= s.target_loss)
        stop = true, stop_reason_ = "target_loss";
      else if (s.target_suboptimality > 0 && has_subopt && subopt <= s.target_suboptimality)
        stop = true, stop_reason_ = "target_suboptimality";
      else if (s.max_time > 0 && started - eval_seconds_ >= s.max_time)
        stop = true, stop_reason_ = "time";
      else if (steps_done >= s.max_steps)
        stop_reason_ = "steps";
    } else {
      row.set(model.name + "_loss", e.train_loss);
      if (has_subopt) row.set(model.name + "_suboptimality", subopt);
    }
  }
  if (c.rank() == 0) {
    for (const auto& field : extra.fields) row.fields.push_back(field);
    if (shared_.sink != nullptr) shared_.sink->record(row);
    last_row_ = row;
  }
  std::vector<double> decision{stop ? 1.0 : 0.0};
  c.broadcast(std::span<double>(decision), 0);
  stopped_ = decision[0] != 0.0;
  eval_seconds_ += c.now() - started;
}

}  // namespace herd::algo
