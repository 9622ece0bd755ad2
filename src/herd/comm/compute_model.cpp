#include "herd/comm/compute_model.hpp"

#include <cmath>
#include <numeric>

#include "herd/core/error.hpp"

namespace herd::comm {

ComputeNoise parse_compute_noise(const std::string& name) {
  if (name == "none") return ComputeNoise::none;
  if (name == "half_normal") return ComputeNoise::half_normal;
  if (name == "exponential") return ComputeNoise::exponential;
  if (name == "lognormal") return ComputeNoise::lognormal;
  throw InvalidInput("unknown compute noise '" + name +
                     "' (none, half_normal, exponential, lognormal)");
}

double ComputeModel::duration(int rank, double samples, double now, Rng& rng) const {
  const std::size_t r = std::size_t(rank);
  const double base = !tau_after.empty() && now >= change_at ? tau_after[r] : tau[r];
  double t = base * samples / reference_batch;
  const double scale = noise_scale.empty() ? 0.0 : noise_scale[r];
  switch (noise) {
    case ComputeNoise::none:
      break;
    // Additive |N(0, scale^2)| seconds (mean scale sqrt(2 / pi)), as in the Rescaled ASGD
    // experiments (scale sqrt(i)).
    case ComputeNoise::half_normal:
      t += std::abs(rng.normal()) * scale;
      break;
    // Additive Exp(mean = scale) seconds.
    case ComputeNoise::exponential:
      t += rng.exponential() * scale;
      break;
    // Multiplicative exp(N(0, scale^2)) (mean exp(scale^2 / 2)): heavy-tailed slow-downs.
    case ComputeNoise::lognormal:
      t *= std::exp(scale * rng.normal());
      break;
  }
  if (straggler_prob > 0 && rng.uniform() < straggler_prob) t *= straggler_factor;
  return t;
}

std::vector<double> tau_formula(const std::string& formula, int ranks, std::uint64_t seed) {
  std::vector<double> tau(static_cast<std::size_t>(ranks));
  for (int i = 0; i < ranks; ++i) {
    const double v = double(i + 1);
    if (formula == "constant")
      tau[std::size_t(i)] = 1.0;
    else if (formula == "linear")
      tau[std::size_t(i)] = v;
    else if (formula == "sqrt")
      tau[std::size_t(i)] = std::sqrt(v);
    else if (formula == "permutation")
      tau[std::size_t(i)] = v;
    else
      throw InvalidInput("unknown compute-time formula '" + formula +
                         "' (constant, linear, sqrt, permutation)");
  }
  if (formula == "permutation") {
    Rng rng(seed, streams::compute_times);
    rng.shuffle(std::span<double>(tau));
  }
  return tau;
}

}  // namespace herd::comm
