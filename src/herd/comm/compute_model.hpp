#pragma once
// The fixed-computation model of heterogeneous workers: each worker's time per gradient is
// a property of that worker, known up to noise. Rank i needs tau_i seconds for one gradient
// on `reference_batch` samples, scaled by the samples it declares, with optional random
// noise (ComputeNoise), and slowed down by `straggler_factor` with probability
// `straggler_prob`. For a declared piece of work of t = tau_i samples / reference_batch
// seconds, with s_i = noise_scale[i] and an independent draw per piece, the duration and its
// mean are
//   none          t                            t
//   half_normal   t + |N(0, s_i^2)|            t + s_i sqrt(2 / pi)
//   exponential   t + Exp(mean s_i)            t + s_i
//   lognormal     t exp(N(0, s_i^2))           t exp(s_i^2 / 2)
// then multiplied by straggler_factor with probability straggler_prob (the mean by
// 1 + straggler_prob (straggler_factor - 1)). The additive kinds' noise is in seconds and
// does not scale with t; cluster.noise_scale = "tau" sets s_i = tau_i (run/cluster.cpp). The
// simulator charges this as virtual time; the threads runtime can sleep it (scaled by `wall_scale`)
// to emulate the same cluster for real. Drifting hardware: with `tau_after`, a piece of work
// that starts at modelled time >= `change_at` takes tau_after[i] in place of tau_i.
#include <cstdint>
#include <string>
#include <vector>

#include "herd/core/rng.hpp"

namespace herd::comm {

enum class ComputeNoise { none, half_normal, exponential, lognormal };
ComputeNoise parse_compute_noise(const std::string& name);  // InvalidInput on unknown names

struct ComputeModel {
  std::vector<double> tau;     // seconds per gradient, one per rank (> 0)
  double reference_batch = 1;  // the batch tau is measured for
  ComputeNoise noise = ComputeNoise::none;
  std::vector<double> noise_scale;  // per rank; empty = 0
  double straggler_prob = 0, straggler_factor = 1;
  double wall_scale = 1;  // threads runtime: seconds slept per modelled second
  std::uint64_t seed = 0;
  std::vector<double> tau_after;  // one per rank from change_at on; empty: tau throughout
  double change_at = 0;           // modelled seconds

  // Seconds for one declared piece of work on `samples` samples that starts at modelled
  // time `now`; draws its noise from rng.
  double duration(int rank, double samples, double now, Rng& rng) const;
  bool empty() const { return tau.empty(); }
  // Whether duration() draws from its stream (noise or stragglers).
  bool draws() const { return noise != ComputeNoise::none || straggler_prob > 0; }
};

// tau for K ranks from a formula: "constant" (all 1), "linear" (tau_i = i + 1),
// "sqrt" (sqrt(i + 1)), "permutation" (a random permutation of 1..K drawn from seed).
std::vector<double> tau_formula(const std::string& formula, int ranks, std::uint64_t seed);

}  // namespace herd::comm
