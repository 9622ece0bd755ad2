#include "herd/algo/monitor.hpp"

#include <algorithm>
#include <cmath>

#include "herd/algo/worker.hpp"
#include "herd/core/error.hpp"
#include "herd/core/interrupt.hpp"

namespace herd::algo {

Monitor::Records& Monitor::records() {
  if (!records_) records_ = std::make_unique<Records>();
  return *records_;
}

const std::string& Monitor::stop_reason() const {
  static const std::string none;
  return records_ ? records_->stop_reason : none;
}

const MetricsRow& Monitor::last_row() const {
  static const MetricsRow none;
  return records_ ? records_->last_row : none;
}

bool Monitor::assess(const Counters& at, std::span<const NamedModel> models,
                     std::optional<double> consensus, const MetricsRow& extra) {
  MetricsRow row;
  bool stop = false;
  for (std::size_t m = 0; m < models.size(); ++m) {
    const model::Evaluation e = shared_.problem->evaluate(models[m].x);
    const bool has_subopt = shared_.f_star.has_value();
    const double subopt = has_subopt ? e.train_loss - shared_.f_star.value() : 0.0;
    if (m > 0) {
      row.set(models[m].name + "_loss", e.train_loss);
      if (has_subopt) row.set(models[m].name + "_suboptimality", subopt);
      continue;
    }
    if (!std::isfinite(e.train_loss))
      throw Diverged("diverged: the training loss of the " + models[m].name + " model is " +
                     std::to_string(e.train_loss) + " at step " + std::to_string(at.steps) +
                     "; lower algo.lr");
    row.set("time", at.time);
    row.set("step", at.steps);
    if (shared_.train_rows > 0) row.set("epoch", double(at.grads) / double(shared_.train_rows));
    row.set("grads", std::int64_t(at.grads));
    row.set("rounds", at.rounds);
    row.set("bytes", std::int64_t(at.bytes));
    row.set("train_loss", e.train_loss);
    if (e.train_acc) row.set("train_acc", *e.train_acc);
    if (e.test_loss) row.set("test_loss", *e.test_loss);
    if (e.test_acc) row.set("test_acc", *e.test_acc);
    row.set("grad_norm2", e.grad_norm2);
    if (has_subopt) row.set("suboptimality", subopt);
    if (consensus) row.set("consensus", *consensus);
    row.set("model", models[m].name);
  }
  for (const auto& field : extra.fields) row.fields.push_back(field);
  const StopRule& s = shared_.stop;
  const auto met = std::find_if(s.targets.begin(), s.targets.end(),
                                [&](const StopTarget& t) { return t.target.met_by(row); });
  std::string& reason = records().stop_reason;
  if (interrupt_signal() != 0)  // Ctrl-C or kill: every rank stops here, together
    stop = true, reason = "interrupted";
  else if (met != s.targets.end())
    stop = true, reason = met->reason;
  else if (s.max_time > 0 && at.time >= s.max_time)
    stop = true, reason = "time";
  else if (at.steps >= s.max_steps)
    reason = "steps";
  if (shared_.sink != nullptr) shared_.sink->record(row);
  ++rows_recorded_;
  records().last_row = std::move(row);
  return stop;
}

void Monitor::evaluate(Worker& w, std::int64_t steps_done, std::span<const ReportedModel> models,
                       const MetricsRow& extra) {
  comm::Communicator& c = w.comm;
  comm::Unmetered quiet(c);
  const double started = c.now();

  // Job-wide counters: gradients and bytes summed over ranks.
  std::vector<double> totals{double(w.gradients), double(c.traffic().bytes_sent)};
  c.allreduce(std::span<double>(totals), comm::ReduceOp::sum);

  // Every model is combined on every rank (the collectives need everyone); rank 0 judges.
  std::vector<std::vector<float>>& buffers = records().buffers;
  buffers.resize(models.size());
  std::vector<NamedModel> combined;
  double consensus = 0;
  for (std::size_t m = 0; m < models.size(); ++m) {
    const ReportedModel& model = models[m];
    buffers[m].assign(model.x.begin(), model.x.end());
    if (model.average_over_ranks)
      c.allreduce(buffers[m], comm::ReduceOp::mean);
    else
      c.broadcast(buffers[m], model.rank);
    if (m == 0) {  // spread of the workers around the evaluated model
      std::vector<double> spread{dist2(w.x, buffers[m])};
      c.allreduce(std::span<double>(spread), comm::ReduceOp::mean);
      consensus = spread[0];
    }
    combined.push_back({model.name, buffers[m]});
  }
  bool stop = false;
  if (c.rank() == 0) {
    const Counters at{started - excluded_seconds_, steps_done, std::uint64_t(totals[0]), w.rounds,
                      std::uint64_t(totals[1])};
    stop = assess(at, combined, consensus, extra);
  }
  // 0: go on; 1: stop; 2: stopped by a signal (every rank records it, so that a resume
  // clears it on every rank alike).
  std::vector<double> decision{!stop ? 0.0 : stop_reason() == "interrupted" ? 2.0 : 1.0};
  c.broadcast(std::span<double>(decision), 0);
  stopped_ = decision[0] != 0.0;
  if (decision[0] == 2.0) records().stop_reason = "interrupted";
  excluded_seconds_ += c.now() - started;
}

bool Monitor::record(comm::Communicator& c, const Counters& counters, CSpan x,
                     const std::string& name, const MetricsRow& extra) {
  const double started = c.now();
  Counters at = counters;
  at.time = started - excluded_seconds_;
  const NamedModel model{name, x};
  stopped_ = assess(at, {&model, 1}, std::nullopt, extra) || stopped_;
  excluded_seconds_ += c.now() - started;
  return stopped_;
}

Monitor::State Monitor::save_state(const comm::Communicator& c) const {
  return {rows_recorded_, excluded_seconds_, c.now(), stopped_, stop_reason(), last_row()};
}

void Monitor::restore_state(const State& s, const comm::Communicator& c) {
  rows_recorded_ = s.rows_recorded;
  // Reported time = now() - excluded; the clock's jump (none where the runtime restored it)
  // counts as excluded time.
  excluded_seconds_ = s.excluded_seconds + (c.now() - s.clock);
  // A run stopped by a signal continues when resumed; other stops (a target, the time) hold.
  const bool interrupted = s.stop_reason == "interrupted";
  stopped_ = s.stopped && !interrupted;
  records().stop_reason = interrupted ? "" : s.stop_reason;
  records().last_row = s.last_row;
}

void Monitor::save(ByteWriter& out, const comm::Communicator& c) const {
  const State s = save_state(c);
  out.put(s.rows_recorded);
  out.put(s.excluded_seconds);
  out.put(s.clock);
  out.put(s.stopped);
  out.put(s.stop_reason);
  s.last_row.save(out);
}

void Monitor::load(ByteReader& in, const comm::Communicator& c) {
  State s;
  s.rows_recorded = in.get<std::int64_t>();
  s.excluded_seconds = in.get<double>();
  s.clock = in.get<double>();
  s.stopped = in.get<bool>();
  s.stop_reason = in.get<std::string>();
  s.last_row = MetricsRow::load(in);
  restore_state(s, c);
}

double bytes_sent_by_all(comm::Communicator& c) {
  comm::Unmetered quiet(c);
  std::vector<double> bytes{double(c.traffic().bytes_sent)};
  c.allreduce(std::span<double>(bytes), comm::ReduceOp::sum);
  return bytes[0];
}

}  // namespace herd::algo
