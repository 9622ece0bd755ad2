#include "herd/algo/lsgd.hpp"

#include <memory>
#include <string>
#include <vector>

#include "herd/algo/knobs.hpp"
#include "herd/algo/leader.hpp"
#include "herd/algo/registry.hpp"
#include "herd/algo/sync_loop.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

// One level of leadership: the ranks of `comm` choose their leader every `period` steps.
struct LeaderLevel {
  LeaderLevel() = default;  // a level that is not used
  LeaderLevel(comm::Communicator* c, float pull, std::int64_t every)
      : comm(c), lambda(pull), period(every) {}

  comm::Communicator* comm = nullptr;
  float lambda = 0;
  std::int64_t period = 1;
  std::vector<double> scores;
  std::vector<float> copy;  // the leader's x as of the last exchange
  int leader = -1;          // its rank in comm; -1 before the first exchange
  std::int64_t switches = 0;

  bool due(std::int64_t steps_done) const { return comm != nullptr && steps_done % period == 0; }
  bool pulls_me() const { return leader >= 0 && leader != comm->rank(); }
  // Allgather of the scores, then the leader's broadcast of its x into everyone's copy.
  void exchange(double score, CSpan x) {
    scores.resize(std::size_t(comm->size()));
    comm->allgather(std::span<const double>(&score, 1), scores);
    const int best = best_of(scores);
    if (leader >= 0 && best != leader) ++switches;
    leader = best;
    copy.resize(x.size());
    if (comm->rank() == leader) herd::copy(x, copy);
    comm->broadcast(copy, leader);
  }
};

// The once-per-communication pull toward the leaders of the levels that just exchanged
// (null otherwise): x <- x - lambda_a (x - a) - lambda_b (x - b), values before the exchange.
void pull_once(Span x, const LeaderLevel* a, const LeaderLevel* b) {
  if (a != nullptr && !a->pulls_me()) a = nullptr;
  if (b != nullptr && !b->pulls_me()) b = nullptr;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float before = x[i];
    float after = before;
    if (a != nullptr) after -= a->lambda * (before - a->copy[i]);
    if (b != nullptr) after -= b->lambda * (before - b->copy[i]);
    x[i] = after;
  }
}

}  // namespace

const Knobs<LeaderSettings>& LeaderSettings::knobs() {
  using S = LeaderSettings;
  static const auto k =
      Knobs<S>()
          .add(knobs::period(), &S::period)
          .add(knobs::pull(), &S::pull)
          .add(knobs::group_size(), &S::group_size)
          .add(knobs::global_period(), &S::global_period)
          .add(number("algo.global_pull", 0.1,
                      "With groups: lambda_G, the pull toward the global leader every "
                      "global_period steps, in [0, 1).")
                   .ge(0)
                   .lt(1),
               &S::global_pull)
          .add(knobs::leader_window(), &S::leader_window)
          .add(knobs::pull_every_step(), &S::pull_every_step);
  return k;
}

void LeaderSettings::resolve(const JobContext& job) {
  if (group_size > 0 && job.workers % group_size != 0)
    throw InvalidInput("algo.group_size = " + std::to_string(group_size) +
                       " does not divide algo.workers = " + std::to_string(job.workers) +
                       ": lsgd needs groups of equal size (or 0 for no groups)");
  knobs::resolve_global_period(period, group_size, global_period);
}

void Lsgd::run(Worker& w) const {
  const LeaderSettings& s = settings_;
  const int ranks = w.comm.size();
  LossWindow window(s.leader_window);

  std::unique_ptr<comm::Communicator> group;
  LeaderLevel local, global;
  if (s.group_size > 0) {
    group = w.comm.split(w.comm.rank() / s.group_size, w.comm.rank());
    local = LeaderLevel(group.get(), float(s.pull), s.period);
    global = LeaderLevel(&w.comm, float(s.global_pull), s.global_period);
  } else {
    global = LeaderLevel(&w.comm, float(s.pull), s.period);
  }

  w.algo_state.add("global_copy", global.copy)
      .add("global_leader", global.leader)
      .add("global_switches", global.switches);
  if (group)
    w.algo_state.add("local_copy", local.copy)
        .add("local_leader", local.leader)
        .add("local_switches", local.switches);
  window.keep_in(w.algo_state);

  std::vector<double> current_scores(static_cast<std::size_t>(ranks));
  auto report = [&](std::int64_t steps_done) {
    int leader = global.leader;
    if (leader < 0) {  // before the first global exchange: the best score right now
      comm::Unmetered quiet(w.comm);
      const double score = window.mean();
      w.comm.allgather(std::span<const double>(&score, 1), current_scores);
      leader = best_of(current_scores);
    }
    MetricsRow extra;
    extra.set("leader", std::int64_t(leader));
    extra.set("leader_switches", global.switches);
    extra.set("bytes_per_round", bytes_per_round(bytes_sent_by_all(w.comm), w.rounds));
    const ReportedModel models[] = {{"leader", w.x, false, leader}, {"average", w.x}};
    w.monitor.evaluate(w, steps_done, models, extra);
  };

  auto step = [&](std::int64_t t) {
    window.push(w.compute_gradient(t));
    if (s.pull_every_step)
      for (const LeaderLevel* level : {&local, &global})
        if (level->pulls_me()) add_pull(w.g, w.x, level->copy, level->lambda);
    w.local_step(t);

    const std::int64_t done = t + 1;
    const bool local_round = local.due(done), global_round = global.due(done);
    if (local_round || global_round) {
      const double score = window.mean();
      if (local_round) local.exchange(score, w.x);
      if (global_round) global.exchange(score, w.x);
      if (!s.pull_every_step)
        pull_once(w.x, local_round ? &local : nullptr, global_round ? &global : nullptr);
      ++w.rounds;
    }
  };
  run_steps(w, step, report);
}

HERD_REGISTER_ALGORITHM(
    lsgd,
    AlgorithmDef<LeaderSettings>{
        .name = "lsgd",
        .summary = "Leader SGD: every algo.period steps the workers are pulled toward the one "
                   "with the lowest recent loss (multi-leader with groups).",
        .order = 60,
        .make = [](const LeaderSettings& s) { return std::make_unique<Lsgd>(s); }});

}  // namespace herd::algo
