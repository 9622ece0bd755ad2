#pragma once
// The fixed-computation model of heterogeneous workers: each worker's time per gradient is
// a property of that worker, known up to noise. Rank i needs tau_i seconds for one gradient
// on `reference_batch` samples, scaled by the samples it declares, with optional random
// noise (ComputeNoise), and slowed down by `straggler_factor` with probability
// `straggler_prob`. The simulator charges this as virtual time; the threads
// runtime can sleep it (scaled by `wall_scale`) to emulate the same cluster for real.
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

  // Seconds for one declared piece of work on `samples` samples; draws its noise from rng.
  double duration(int rank, double samples, Rng& rng) const;
  bool empty() const { return tau.empty(); }
};

// tau for K ranks from a formula: "constant" (all 1), "linear" (tau_i = i + 1),
// "sqrt" (sqrt(i + 1)), "permutation" (a random permutation of 1..K drawn from seed).
std::vector<double> tau_formula(const std::string& formula, int ranks, std::uint64_t seed);

}  // namespace herd::comm
