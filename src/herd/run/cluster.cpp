#include "herd/run/cluster.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "herd/core/error.hpp"

namespace herd::run {
namespace {

// "1, 2.5,3" -> {1, 2.5, 3}; an empty optional when `text` is not a list of numbers.
std::optional<std::vector<double>> number_list(const std::string& text) {
  std::vector<double> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    std::string item = text.substr(pos, comma - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    double v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc{} || end != item.data() + item.size()) return std::nullopt;
    out.push_back(v);
    pos = comma + 1;
  }
  return out;
}

// compute_times = mean_max: the last worker at tau_max, the others at the time that makes the
// mean tau_mean, so that a sweep moves the slowest time and the mean independently.
std::vector<double> mean_max_times(const Config& c, int workers) {
  const double mean = c.get_number("cluster.tau_mean"), max = c.get_number("cluster.tau_max");
  if (workers == 1) {
    if (mean != max)
      throw InvalidInput(
          "cluster.compute_times = mean_max with one worker needs "
          "cluster.tau_mean = cluster.tau_max");
    return {max};
  }
  const double others = (double(workers) * mean - max) / double(workers - 1);
  if (!(max >= mean) || !(others > 0))
    throw InvalidInput(fmt::format(
        "cluster.compute_times = mean_max: tau_max = {} and tau_mean = {} with {} workers would "
        "give the other workers {} s; needs tau_mean <= tau_max < {} tau_mean",
        max, mean, workers, others, workers));
  std::vector<double> values(std::size_t(workers), others);
  values.back() = max;
  return values;
}

// One value per worker from a list, a single number, or a formula.
std::vector<double> per_worker(const Config& c, const std::string& key, int workers,
                               std::uint64_t seed, bool formulas_allowed) {
  const std::string& text = c.get_string(key);
  std::vector<double> values;
  if (auto list = number_list(text)) {
    values = *list;
    if (values.size() == 1) values.assign(std::size_t(workers), values[0]);
  } else if (formulas_allowed && text == "mean_max") {
    values = mean_max_times(c, workers);
  } else if (formulas_allowed) {
    values = comm::tau_formula(text, workers, seed);  // InvalidInput names the formula
  } else if (text == "sqrt") {
    for (int i = 0; i < workers; ++i) values.push_back(std::sqrt(double(i + 1)));
  } else {
    throw InvalidInput(
        fmt::format("{} = \"{}\": expected a number, sqrt, tau, or a comma-separated "
                    "list with one number per worker",
                    key, text));
  }
  if (values.size() != std::size_t(workers))
    throw InvalidInput(fmt::format("{} lists {} values but algo.workers = {}: give one per worker",
                                   key, values.size(), workers));
  return values;
}

// cluster.noise_scale, one s_i per worker: a number, a list, sqrt (s_i = sqrt(i + 1) for the
// 0-based worker i) or tau (s_i = tau_i, the worker's own compute time). InvalidInput for a
// negative or non-finite scale, and for tau with lognormal noise, whose s is dimensionless.
std::vector<double> noise_scales(const Config& c, int workers, std::uint64_t seed,
                                 const std::vector<double>& tau) {
  const std::string& text = c.get_string("cluster.noise_scale");
  if (text != "tau") {
    std::vector<double> scale = per_worker(c, "cluster.noise_scale", workers, seed, false);
    for (std::size_t i = 0; i < scale.size(); ++i)
      if (!(scale[i] >= 0) || !std::isfinite(scale[i]))
        throw InvalidInput(
            fmt::format("cluster.noise_scale: worker {} has scale {}; noise scales must be "
                        "finite and >= 0",
                        i, scale[i]));
    return scale;
  }
  if (c.get_string("cluster.noise") == "lognormal")
    throw InvalidInput(
        "cluster.noise_scale = \"tau\" with cluster.noise = \"lognormal\": lognormal noise "
        "multiplies the compute time by exp(N(0, s^2)), so it is proportional to tau_i for any "
        "constant s already, and s is a dimensionless log-scale standard deviation, not "
        "seconds; give one number (e.g. 0.3) instead");
  // Without compute times there is no modelled compute and no noise: any scale will do.
  return tau.empty() ? std::vector<double>(std::size_t(workers), 0.0) : tau;
}

// The compute times that `key` gives (a list, a number or a formula), checked.
std::vector<double> compute_times_of(const Config& c, const std::string& key, int workers,
                                     std::uint64_t seed) {
  std::vector<double> tau;
  try {
    tau = per_worker(c, key, workers, seed, true);
  } catch (const InvalidInput& e) {
    throw InvalidInput(std::string(e.what()).starts_with("cluster.")
                           ? e.what()
                           : key + ": " + std::string(e.what()));
  }
  for (std::size_t i = 0; i < tau.size(); ++i)
    if (!(tau[i] > 0) || !std::isfinite(tau[i]))
      throw InvalidInput(fmt::format(
          "{}: worker {} has time {}; compute times must be positive and finite", key, i, tau[i]));
  return tau;
}

}  // namespace

std::vector<double> worker_compute_times(const Config& c, int workers, std::uint64_t seed) {
  if (c.get_string("cluster.compute_times").empty()) return {};
  return compute_times_of(c, "cluster.compute_times", workers, seed);
}

std::vector<double> worker_compute_times_after(const Config& c, int workers, std::uint64_t seed,
                                               const std::vector<double>& before) {
  const std::string& text = c.get_string("cluster.compute_times_after");
  if (text.empty()) {
    if (c.get_number("cluster.change_at") > 0)
      throw InvalidInput(
          fmt::format("cluster.change_at = {} changes nothing without cluster.compute_times_after",
                      c.get_number("cluster.change_at")));
    return {};
  }
  if (before.empty())
    throw InvalidInput(
        "cluster.compute_times_after needs cluster.compute_times: the times it changes");
  if (text == "reversed") return {before.rbegin(), before.rend()};
  // A formula draws from another seed than cluster.compute_times' (permutation: another one).
  return compute_times_of(c, "cluster.compute_times_after", workers, seed + 1);
}

comm::NetworkModel network_model(const Config& c, int workers, bool server) {
  comm::NetworkModel n;
  n.latency = c.get_number("cluster.latency");
  n.bandwidth = c.get_number("cluster.bandwidth");
  const std::int64_t node_size = c.get_int("cluster.node_size");
  if (node_size < 0)  // the option's range says so too; a Config built in code may not
    throw InvalidInput(
        fmt::format("cluster.node_size = {} is out of range: must be >= 0", node_size));
  if (node_size == 0) {
    // A flat network: its one link is cluster.latency / cluster.bandwidth. Intra-node values
    // would have no effect, so they are refused rather than ignored (0, the default, is fine:
    // a resolved config.toml lists every option).
    for (const char* key : {"cluster.intra_latency", "cluster.intra_bandwidth"})
      if (c.get_number(key) != 0)
        throw InvalidInput(
            fmt::format("{} = {} needs cluster.node_size > 0: with node_size = 0 the network is "
                        "flat and cluster.latency / cluster.bandwidth are its only link",
                        key, c.get_number(key)));
    return n;
  }
  n.intra = {c.get_number("cluster.intra_latency"), c.get_number("cluster.intra_bandwidth")};
  // Worker k sits on node k / node_size (the last node may hold fewer); a parameter server
  // (rank 0, worker k = rank k + 1) on a node of its own, after the workers' nodes, so every
  // worker reaches it over the inter-node link.
  const int worker_nodes = workers > 0 ? int((workers - 1) / node_size) + 1 : 0;
  if (server) n.node.push_back(worker_nodes);
  for (int k = 0; k < workers; ++k) n.node.push_back(int(k / node_size));
  return n;
}

Cluster make_cluster(const Config& c, int workers, bool server, std::uint64_t seed) {
  Cluster out;
  comm::SimSpec& s = out.spec;
  const int offset = server ? 1 : 0;
  out.worker_tau = worker_compute_times(c, workers, seed);
  const auto scale = noise_scales(c, workers, seed, out.worker_tau);
  const auto after = worker_compute_times_after(c, workers, seed, out.worker_tau);
  if (!out.worker_tau.empty()) {
    s.compute.tau.assign(std::size_t(offset), 0.0);  // the server computes no gradients
    s.compute.tau.insert(s.compute.tau.end(), out.worker_tau.begin(), out.worker_tau.end());
    s.compute.reference_batch = double(c.get_int("algo.batch"));
    s.compute.noise = comm::parse_compute_noise(c.get_string("cluster.noise"));
    s.compute.noise_scale.assign(std::size_t(offset), 0.0);
    s.compute.noise_scale.insert(s.compute.noise_scale.end(), scale.begin(), scale.end());
    s.compute.straggler_prob = c.get_number("cluster.straggler_prob");
    s.compute.straggler_factor = c.get_number("cluster.straggler_factor");
    s.compute.wall_scale = c.get_number("cluster.wall_scale");
    s.compute.seed = seed;
    if (!after.empty()) {
      s.compute.tau_after.assign(std::size_t(offset), 0.0);
      s.compute.tau_after.insert(s.compute.tau_after.end(), after.begin(), after.end());
      s.compute.change_at = c.get_number("cluster.change_at");
    }
  }
  s.measured_time = c.get_string("cluster.time_model") == "measured";
  s.network = network_model(c, workers, server);
  const std::int64_t fault = c.get_int("cluster.fault_rank");
  if (fault >= 0) {
    if (fault >= workers)
      throw InvalidInput(fmt::format("cluster.fault_rank = {} but workers are numbered 0..{}",
                                     fault, workers - 1));
    s.faults.push_back(comm::Fault{int(fault) + offset, c.get_number("cluster.fault_time"),
                                   c.get_string("cluster.fault_kind") == "stall"
                                       ? comm::FaultKind::stall
                                       : comm::FaultKind::die,
                                   c.get_number("cluster.fault_duration")});
  }
  out.emulate = c.get_bool("cluster.emulate");
  out.os_threads = int(c.get_int("run.threads"));
  if (out.emulate && out.worker_tau.empty())
    throw InvalidInput("cluster.emulate = true needs cluster.compute_times");
  return out;
}

}  // namespace herd::run
