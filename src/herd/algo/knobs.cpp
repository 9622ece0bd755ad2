#include "herd/algo/knobs.hpp"

#include <string>

#include "herd/core/error.hpp"

namespace herd::algo::knobs {

const OptionSpec& period() {
  static const OptionSpec spec =
      integer("algo.period", 8, "H: local steps between averaging rounds.").ge(1);
  return spec;
}

const OptionSpec& group_size() {
  static const OptionSpec spec =
      integer("algo.group_size", 0,
              "Hierarchical averaging: workers average within groups of this many every "
              "period; 0 = no groups. lsgd needs groups that divide algo.workers; with "
              "local_sgd the last group may be smaller; async_lsgd has none.")
          .ge(0);
  return spec;
}

const OptionSpec& global_period() {
  static const OptionSpec spec =
      integer("algo.global_period", 0,
              "H2: local steps between global averages when group_size > 0; must be a multiple "
              "of period. 0 = every period.")
          .ge(0);
  return spec;
}

const OptionSpec& pull() {
  static const OptionSpec spec =
      number("algo.pull", 0.1,
             "Lambda, the pull toward the leader (the group's leader with groups), in [0, 1).")
          .ge(0)
          .lt(1);
  return spec;
}

const OptionSpec& leader_window() {
  static const OptionSpec spec =
      integer("algo.leader_window", 10,
              "m: the leader is the worker with the lowest mean of its last m minibatch "
              "losses.")
          .ge(1);
  return spec;
}

const OptionSpec& pull_every_step() {
  static const OptionSpec spec =
      boolean("algo.pull_every_step", false,
              "Apply the pull at every local step toward the leader copy of the last "
              "communication (eta lambda (x - leader)), instead of once per communication.");
  return spec;
}

void resolve_global_period(std::int64_t period, std::int64_t group_size,
                           std::int64_t& global_period) {
  if (group_size == 0) return;
  if (global_period == 0) global_period = period;
  if (global_period % period != 0)
    throw InvalidInput("algo.global_period = " + std::to_string(global_period) +
                       " must be a multiple of algo.period = " + std::to_string(period) +
                       " when algo.group_size > 0");
}

}  // namespace herd::algo::knobs
