#pragma once
// The algorithms' typed settings (core/settings.hpp): every algorithm (or family) has its own
// settings struct, declared beside it, whose knobs are declared once each in its static
// knobs(). Options shared by several algorithms are declared once in knobs.hpp and listed by
// each algorithm that reads them. Settings are made from the explicit option values of a
// job (JobSpec::options, or the configuration's), then resolve(const JobContext&) fills the
// defaults that depend on the job (e.g. "0 = every period") and checks the rules that
// involve several options or the job (InvalidInput).
#include <span>

#include "herd/core/settings.hpp"
#include "herd/optim/optimizer.hpp"

namespace herd::algo {

using herd::OptionValues;

// What the settings may depend on beyond their own options.
struct JobContext {
  int workers = 1;                     // K
  optim::OptimizerSpec optimizer;      // the local update rule
  std::span<const double> worker_tau;  // known compute time per worker; empty when none
};

}  // namespace herd::algo
