#pragma once
// The options several algorithms read, declared once each; an algorithm lists the ones it
// reads in its settings' knobs() (settings.hpp), bound to its own members. Options only one
// settings struct reads are declared in that struct's knobs(), beside the algorithm.
#include <cstdint>

#include "herd/core/options.hpp"

namespace herd::algo::knobs {

const OptionSpec& period();           // algo.period: local steps between communications
const OptionSpec& group_size();       // algo.group_size: hierarchical groups; 0 = none
const OptionSpec& global_period();    // algo.global_period: with groups; 0 = every period
const OptionSpec& pull();             // algo.pull: Leader SGD's lambda
const OptionSpec& leader_window();    // algo.leader_window: Leader SGD's m
const OptionSpec& pull_every_step();  // algo.pull_every_step: Leader SGD's pull at every step

// The rules of hierarchical groups (group_size > 0): global_period = 0 means period, and
// the global period must then be a multiple of period. InvalidInput otherwise.
void resolve_global_period(std::int64_t period, std::int64_t group_size,
                           std::int64_t& global_period);

}  // namespace herd::algo::knobs
