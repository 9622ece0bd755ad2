#include "herd/run/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "herd/algo/algorithm.hpp"
#include "herd/core/error.hpp"
#include "herd/core/text.hpp"

namespace herd::run {
namespace {

// Builder for the table below: each option is one readable line plus its help text.
struct Opt {
  OptionSpec spec;
  Opt ge(double v) const { return with_min(v, false); }
  Opt gt(double v) const { return with_min(v, true); }
  Opt le(double v) const { return with_max(v, false); }
  Opt lt(double v) const { return with_max(v, true); }
  operator OptionSpec() const { return spec; }  // NOLINT: implicit by design, for the table

 private:
  Opt with_min(double v, bool exclusive) const {
    Opt o = *this;
    o.spec.min = v, o.spec.min_exclusive = exclusive;
    return o;
  }
  Opt with_max(double v, bool exclusive) const {
    Opt o = *this;
    o.spec.max = v, o.spec.max_exclusive = exclusive;
    return o;
  }
};

Opt make(std::string key, Type type, Value def, std::string help) {
  Opt o;
  o.spec.key = std::move(key), o.spec.type = type, o.spec.default_value = std::move(def);
  o.spec.help = std::move(help);
  return o;
}
Opt boolean(std::string key, bool def, std::string help) {
  return make(std::move(key), Type::boolean, def, std::move(help));
}
Opt integer(std::string key, std::int64_t def, std::string help) {
  return make(std::move(key), Type::integer, def, std::move(help));
}
Opt number(std::string key, double def, std::string help) {
  return make(std::move(key), Type::number, def, std::move(help));
}
Opt text(std::string key, std::string def, std::string help) {
  return make(std::move(key), Type::string, std::move(def), std::move(help));
}
Opt choice(std::string key, std::vector<std::string> choices, std::string def, std::string help) {
  Opt o = make(std::move(key), Type::string, std::move(def), std::move(help));
  o.spec.choices = std::move(choices);
  return o;
}

[[noreturn]] void fail(std::string_view where, const std::string& message) {
  throw InvalidInput(where.empty() ? message : fmt::format("{}: {}", where, message));
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Typos up to about a third of the word count as "close".
bool close_enough(std::size_t distance, std::string_view word) {
  return distance <= std::max<std::size_t>(2, word.size() / 3);
}

std::string_view after_dot(std::string_view key) {
  const auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string_view with_article(Type type) {
  switch (type) {
    case Type::boolean:
      return "a boolean (true or false)";
    case Type::integer:
      return "an integer";
    case Type::number:
      return "a number";
    case Type::string:
      return "a string";
  }
  return "";
}

std::string describe(const Value& value) {
  static constexpr std::string_view kinds[] = {"a boolean", "an integer", "a number", "a string"};
  return fmt::format("{} {}", kinds[value.index()], to_toml_literal(value));
}

bool is_interval(const OptionSpec& spec) {
  return spec.min && spec.max;
}

std::string range_text(const OptionSpec& spec) {
  if (is_interval(spec)) {
    return fmt::format("{}{}, {}{}", spec.min_exclusive ? '(' : '[', *spec.min, *spec.max,
                       spec.max_exclusive ? ')' : ']');
  }
  if (spec.min) return fmt::format("{} {}", spec.min_exclusive ? ">" : ">=", *spec.min);
  if (spec.max) return fmt::format("{} {}", spec.max_exclusive ? "<" : "<=", *spec.max);
  return "";
}

bool in_range(const OptionSpec& spec, double x) {
  if (spec.min && (spec.min_exclusive ? !(x > *spec.min) : !(x >= *spec.min))) return false;
  if (spec.max && (spec.max_exclusive ? !(x < *spec.max) : !(x <= *spec.max))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

template <class T>
std::optional<T> parse_exactly(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  T out{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return out;
}

// Greedy word wrap of `text` to `width` columns, every line prefixed by `indent`.
std::string wrap(std::string_view text, std::size_t indent, std::size_t width) {
  std::string out, line;
  auto flush = [&] {
    if (line.empty()) return;
    out += std::string(indent, ' ') + line + '\n';
    line.clear();
  };
  while (!text.empty()) {
    const auto space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    if (word.empty()) continue;
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) flush();
    if (!line.empty()) line += ' ';
    line += word;
  }
  flush();
  return out;
}

std::string markdown_cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string_view OptionSpec::section() const {
  return std::string_view(key).substr(0, key.find('.'));
}
std::string_view OptionSpec::name() const {
  return after_dot(key);
}

const std::vector<SectionSpec>& section_table() {
  static const std::vector<SectionSpec> sections = {
      {"run", "How the run executes: seed, runtime, progress display."},
      {"data", "The training and test data, and how rows are split across workers."},
      {"model", "The objective: model, regularisation, starting point, quadratic test problem."},
      {"algo", "The distributed algorithm, its communication pattern and step sizes."},
      {"optim", "The local update rule each worker applies."},
      {"stop", "When to stop; the run stops at the first criterion met, 0 disables one."},
      {"eval", "How often and on what the full objective is evaluated."},
      {"cluster",
       "The modelled cluster: compute times of the workers (fixed-computation model), the "
       "network and injected faults. The sim runtime charges them as virtual time; the threads "
       "runtime sleeps the compute times when cluster.emulate is on."},
  };
  return sections;
}

const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> options = {
      // [run]
      integer("run.seed", 1,
              "Seed of every random stream (data generation, partition, initialisation, "
              "sampling); equal seeds give equal runs.")
          .ge(0),
      choice("run.runtime", {"threads", "sim", "mpi"}, "threads",
             "How workers execute: threads = one thread per worker in this process; sim = a "
             "deterministic discrete-event simulation with a virtual clock (see [cluster]); mpi "
             "= one process per rank under mpirun (Open MPI), the default when herd is started "
             "by mpirun."),
      integer("run.checkpoint_every", 0,
              "Write OUT/checkpoint.bin every this many communication rounds (server: results "
              "received) and when the run ends; `herd run --resume OUT` continues from it. 0 = "
              "no checkpoints.")
          .ge(0),
      choice("run.progress", {"auto", "bar", "lines", "none"}, "auto",
             "Progress display: bar (a live bar), lines (one line per evaluation), none; auto = "
             "bar on a terminal, lines otherwise."),

      // [data]
      choice("data.format", {"synthetic", "libsvm", "idx"}, "synthetic",
             "Where the data comes from: synthetic (generated, see data.synthetic_kind), libsvm "
             "(LIBSVM text files data.train and data.test) or idx (MNIST IDX image files "
             "data.train and data.test with label files data.train_labels and "
             "data.test_labels; plain or .gz)."),
      text("data.train", "", "Training set file (libsvm), or training images (idx)."),
      text("data.test", "", "Test set file (libsvm), or test images (idx); empty = no test set."),
      text("data.train_labels", "", "idx: the IDX label file of data.train."),
      text("data.test_labels", "", "idx: the IDX label file of data.test."),
      integer("data.split", 0,
              "Keep the first data.split rows of data.train for training and use the rest as "
              "the test set (e.g. 8000 of the 10,000 MNIST test digits); needs an empty "
              "data.test. 0 = no split.")
          .ge(0),
      text("data.dir", "",
           "Base directory for relative data.train and data.test paths. Empty = the directory "
           "named by the HERD_DATA environment variable when it is set, else the directory of "
           "the configuration file."),
      choice("data.partition", {"iid", "shards", "dirichlet", "source", "full"}, "iid",
             "How training rows are split across workers: iid (shuffled, equal pieces), shards "
             "(sorted by label, two shards per worker), dirichlet (class proportions per worker "
             "drawn from Dirichlet(data.alpha)), source (rows generated for worker k go to "
             "worker k; synthetic data), full (every worker samples the whole training set, as on "
             "shared storage; the setting of the LSGD and EASGD papers)."),
      number("data.alpha", 0.5,
             "Dirichlet concentration for partition = dirichlet; smaller = more skewed labels.")
          .gt(0),
      choice("data.sampling", {"with_replacement", "shuffled_epochs"}, "with_replacement",
             "Minibatch sampling within a worker's shard: with_replacement (uniform draws) or "
             "shuffled_epochs (a fresh permutation every epoch)."),
      choice("data.synthetic_kind", {"logistic", "linear"}, "logistic",
             "Synthetic labels: logistic (binary classes from a logistic model) or linear (real "
             "targets of a linear model)."),
      integer("data.rows", 20000, "Synthetic training rows, over all workers.").ge(1),
      integer("data.test_rows", 5000, "Synthetic test rows; 0 = no test set.").ge(0),
      integer("data.features", 50, "Synthetic features per row.").ge(1),
      number("data.density", 1.0,
             "Fraction of nonzero synthetic features per row; below 1 gives sparse data.")
          .gt(0)
          .le(1),
      number("data.noise", 0.05,
             "Synthetic label noise: logistic = probability of flipping a label, linear = "
             "standard deviation of the target noise.")
          .ge(0),
      number("data.heterogeneity", 0.0,
             "Per-worker shift of the synthetic optimum, relative to its norm (0 = one optimum "
             "for all); only meaningful with partition = source.")
          .ge(0),

      // [model]
      choice("model.name",
             {"logistic", "least_squares", "softmax", "mlp", "quadratic", "double_well"},
             "logistic",
             "Objective: logistic (binary logistic regression), least_squares, softmax "
             "(multiclass logistic regression), mlp (multilayer perceptron classifier, "
             "non-convex), quadratic (one quadratic per worker with known optimum; uses no "
             "data), double_well (f(x) = sum_j (x_j^2 - 1)^2, two mirror-image minima per "
             "coordinate; uses no data)."),
      number("model.l2", 0.0, "L2 regularisation: lambda = l2 + l2_over_n / n_train.").ge(0),
      number("model.l2_over_n", 1.0,
             "L2 regularisation scaled by the training set size n_train; the default 1 gives "
             "the lambda = 1/n of the literature.")
          .ge(0),
      choice("model.init", {"zeros", "normal"}, "zeros",
             "Starting point x_0: zeros, or normal (entries drawn from N(0, init_scale^2))."),
      number("model.init_scale", 0.01, "Standard deviation of the normal initialisation.").ge(0),
      text("model.hidden", "64",
           "mlp: widths of the hidden layers, comma-separated (e.g. \"128,64\"); empty = no "
           "hidden layer."),
      choice("model.activation", {"relu", "tanh"}, "relu",
             "mlp: activation between layers (He initialisation for relu, Glorot for tanh)."),
      integer("model.dim", 10, "quadratic and double_well: dimension.").ge(1),
      number("model.start", 0.5,
             "double_well: every coordinate of the starting point x_0 (0 is stationary).")
          .gt(0),
      boolean("model.mirror_starts", false,
              "double_well: worker k starts at x_0 for even k and at -x_0 for odd k, so half "
              "the workers head for each minimum (needs an even algo.workers)."),
      number("model.mu", 1.0, "Quadratic: strong convexity mu (smallest curvature).").gt(0),
      number("model.smoothness", 10.0, "Quadratic: smoothness L (largest curvature), >= mu.").gt(0),
      number("model.spread", 1.0,
             "Quadratic: worker optima a_k = spread * N(0, I); 0 = the same optimum for all.")
          .ge(0),
      number("model.noise", 1.0,
             "quadratic and double_well: gradient noise sigma per sample (0 = exact gradients).")
          .ge(0),

      // [algo]
      choice("algo.name", algo::algorithm_names(), "local_sgd",
             "The distributed training algorithm."),
      integer("algo.workers", 8, "Number of workers K.").ge(1),
      integer("algo.period", 8, "H: local steps between averaging rounds.").ge(1),
      integer("algo.batch", 32, "Minibatch size b of each worker's local step.").ge(1),
      number("algo.lr", 0.1, "Base step size (learning rate).").gt(0),
      choice("algo.schedule", {"constant", "stich", "step", "cosine"}, "constant",
             "Step-size schedule: constant; stich (4 / (mu (a + t)) with a = max(16 L / mu, H), "
             "mu and L from the problem; Stich 2019); step (lr times decay_factor every "
             "decay_every steps); cosine (from lr down to min_lr over stop.steps)."),
      integer("algo.warmup_steps", 0, "Linear warm-up of the step size over this many steps.")
          .ge(0),
      integer("algo.decay_every", 1000, "schedule = step: steps between decays.").ge(1),
      number("algo.decay_factor", 0.1, "schedule = step: factor applied at each decay.")
          .gt(0)
          .le(1),
      number("algo.min_lr", 0.0, "schedule = cosine: the final step size.").ge(0),
      integer("algo.post_local_steps", 0,
              "Post-local SGD: W steps of minibatch SGD before the local steps begin.")
          .ge(0),
      integer("algo.group_size", 0,
              "Hierarchical averaging: workers average within groups of this many every "
              "period; 0 = no groups.")
          .ge(0),
      integer("algo.global_period", 0,
              "H2: local steps between global averages when group_size > 0; must be a multiple "
              "of period. 0 = every period.")
          .ge(0),
      choice("algo.outer_optimizer", {"none", "nesterov"}, "none",
             "Outer step on the averaged pseudo-gradient (DiLoCo): none = plain averaging, "
             "nesterov = Nesterov momentum with outer_lr and outer_momentum."),
      number("algo.outer_lr", 0.7, "Outer step size.").gt(0),
      number("algo.outer_momentum", 0.9, "Outer Nesterov momentum.").ge(0).lt(1),
      number("algo.elastic_alpha", 0.0,
             "easgd, eamsgd, async_easgd: moving rate alpha = eta rho of the elastic pull, in [0, "
             "1). Not set: 0.9 / algo.workers (the authors' beta = K alpha = 0.9).")
          .ge(0)
          .lt(1),
      number("algo.pull", 0.1,
             "lsgd, async_lsgd: lambda, the pull toward the leader (the group's leader with "
             "groups), in [0, 1).")
          .ge(0)
          .lt(1),
      number("algo.global_pull", 0.1,
             "lsgd with groups: lambda_G, the pull toward the global leader every "
             "global_period steps, in [0, 1).")
          .ge(0)
          .lt(1),
      integer("algo.leader_window", 10,
              "lsgd, async_lsgd: m; the leader is the worker with the lowest mean of its last m "
              "minibatch losses.")
          .ge(1),
      boolean("algo.pull_every_step", false,
              "lsgd: apply the pull at every local step toward the leader copy of the last "
              "communication (eta lambda (x - leader)), instead of once per communication."),
      choice("algo.rescale_tau", {"known", "estimated"}, "known",
             "rescaled_asgd: rescale with the known compute times of [cluster] or with times "
             "estimated online from each worker's inter-arrival times."),
      number("algo.tau_ema", 0.1,
             "rescaled_asgd with estimated tau: weight of the newest inter-arrival time in the "
             "moving average.")
          .gt(0)
          .le(1),
      integer("algo.delay_threshold", 0,
              "ringmaster_asgd: arrivals with delay >= R are discarded; 0 = R = workers.")
          .ge(0),
      choice("algo.ringmaster_mode", {"discard", "restart"}, "discard",
             "ringmaster_asgd: discard stale arrivals, or stop and restart a worker as soon as "
             "its delay reaches R."),
      integer("algo.server_batch", 0,
              "malenia_sgd and rennala_sgd: S, gradients collected per step; 0 = S = workers.")
          .ge(0),

      // [optim]
      choice("optim.name", {"sgd", "momentum", "nesterov"}, "sgd", "Local update rule."),
      number("optim.momentum", 0.9, "Momentum coefficient of momentum and nesterov.").ge(0).lt(1),
      number("optim.weight_decay", 0.0, "Weight decay of the local update.").ge(0),

      // [stop]
      integer("stop.steps", 1000,
              "Local steps per worker (server updates for parameter-server algorithms); 0 = no "
              "limit.")
          .ge(0),
      number("stop.epochs", 0.0, "Passes over each worker's shard; 0 = no limit.").ge(0),
      number("stop.time", 0.0, "Seconds (virtual on the sim runtime); 0 = no limit.").ge(0),
      number("stop.target_loss", 0.0,
             "Stop once the training loss F(x) is at or below this; 0 = no target.")
          .ge(0),
      number("stop.target_suboptimality", 0.0,
             "Stop once F(x) - F* is at or below this (where F* is known); 0 = no target.")
          .ge(0),

      // [eval]
      integer("eval.every", 50, "Evaluate the full objective every this many local steps.").ge(1),
      boolean("eval.test", true, "Also evaluate on the test set when there is one."),
      number("eval.report_loss", 0.0,
             "Comparison tables report the time at which the training loss first reached "
             "this value; 0 = no such column.")
          .ge(0),

      // [cluster]
      text("cluster.compute_times", "",
           "Seconds per minibatch gradient of each worker: a comma-separated list with one "
           "value per worker, or a formula: constant (all 1), linear (tau_i = i), sqrt "
           "(sqrt(i)), permutation (a random permutation of 1..K drawn from run.seed). Empty = "
           "compute takes no modelled time."),
      choice("cluster.noise", {"none", "half_normal", "exponential", "lognormal"}, "none",
             "Noise on each compute time: half_normal adds |N(0, s^2)|, exponential adds "
             "Exp(mean s), lognormal multiplies by exp(N(0, s^2)); s = cluster.noise_scale."),
      text("cluster.noise_scale", "0",
           "s of cluster.noise: one number for every worker, sqrt (s_i = sqrt(i)), or a "
           "comma-separated list with one value per worker."),
      number("cluster.straggler_prob", 0.0,
             "Probability that a gradient is slowed down by cluster.straggler_factor.")
          .ge(0)
          .le(1),
      number("cluster.straggler_factor", 1.0, "Slow-down of a straggling gradient.").ge(1),
      choice("cluster.time_model", {"declared", "measured"}, "declared",
             "sim: charge the modelled compute times (declared) or the measured wall time of "
             "each computation (measured)."),
      number("cluster.latency", 0.0, "Network latency per message, seconds.").ge(0),
      number("cluster.bandwidth", 0.0, "Network bandwidth, bytes per second; 0 = infinite.").ge(0),
      integer("cluster.fault_rank", -1,
              "sim: inject a fault into this worker (0-based); -1 = no fault.")
          .ge(-1),
      number("cluster.fault_time", 0.0, "sim: virtual time of the fault, seconds.").ge(0),
      choice("cluster.fault_kind", {"die", "stall"}, "die",
             "sim: the worker dies (the run ends with a communication error naming it) or "
             "stalls for cluster.fault_duration."),
      number("cluster.fault_duration", 0.0, "sim: length of a stall, seconds.").ge(0),
      boolean("cluster.emulate", false,
              "threads and mpi: sleep each worker's modelled compute time, so the "
              "fixed-computation model runs for real."),
      number("cluster.wall_scale", 1.0,
             "threads and mpi with emulate: seconds slept per modelled second.")
          .gt(0),
  };
  return options;
}

const OptionSpec* find_option(std::string_view key) {
  const auto& table = option_table();
  const auto it =
      std::find_if(table.begin(), table.end(), [&](const OptionSpec& s) { return s.key == key; });
  return it == table.end() ? nullptr : &*it;
}

std::string closest_key(std::string_view key) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& spec : option_table()) {
    // The right name in the wrong (or no) section is one edit away.
    const std::size_t d =
        std::min(edit_distance(key, spec.key), edit_distance(after_dot(key), spec.name()) + 1);
    if (d < best_distance) best = spec.key, best_distance = d;
  }
  return close_enough(best_distance, key) ? best : std::string{};
}

std::string closest_section(std::string_view section) {
  for (const auto& s : section_table()) {
    const bool prefix = std::min(s.name.size(), section.size()) >= 3 &&
                        (s.name.starts_with(section) || section.starts_with(s.name));
    if (prefix || edit_distance(section, s.name) <= std::max<std::size_t>(1, section.size() / 3))
      return s.name;
  }
  return {};
}

const OptionSpec& option_or_throw(std::string_view key, std::string_view where) {
  if (const OptionSpec* spec = find_option(key)) return *spec;
  const std::string suggestion = closest_key(key);
  fail(where, fmt::format("unknown key {}{}", key,
                          suggestion.empty() ? "" : fmt::format("; did you mean {}?", suggestion)));
}

std::string_view type_name(Type type) {
  switch (type) {
    case Type::boolean:
      return "boolean";
    case Type::integer:
      return "integer";
    case Type::number:
      return "number";
    case Type::string:
      return "string";
  }
  return "";
}

std::string to_toml_literal(const Value& value) {
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int64_t>(&value)) return fmt::format("{}", *i);
  if (const double* d = std::get_if<double>(&value)) {
    std::string s = fmt::format("{}", *d);  // shortest text that reads back exactly
    // TOML reads "1" as an integer; keep numbers recognisably floating point.
    if (s.find_first_not_of("-0123456789") == std::string::npos) s += ".0";
    return s;
  }
  return quote(std::get<std::string>(value));
}

void throw_wrong_type(const OptionSpec& spec, std::string_view got, std::string_view where) {
  fail(where, fmt::format("{}: expected {}, got {}", spec.key, with_article(spec.type), got));
}

Value validate(const OptionSpec& spec, Value value, std::string_view where) {
  if (spec.type == Type::number) {
    if (const auto* i = std::get_if<std::int64_t>(&value)) value = static_cast<double>(*i);
  }
  // Type lists its alternatives in Value's order.
  if (value.index() != static_cast<std::size_t>(spec.type)) {
    throw_wrong_type(spec, describe(value), where);
  }
  if (const double* d = std::get_if<double>(&value); d && !std::isfinite(*d)) {
    fail(where, fmt::format("{} = {} is not a finite number", spec.key, to_toml_literal(value)));
  }
  if (spec.type == Type::integer || spec.type == Type::number) {
    const double x = spec.type == Type::integer ? static_cast<double>(std::get<std::int64_t>(value))
                                                : std::get<double>(value);
    if (!in_range(spec, x)) {
      fail(where,
           fmt::format("{} = {} is out of range: must be {}{}", spec.key, to_toml_literal(value),
                       is_interval(spec) ? "in " : "", range_text(spec)));
    }
  }
  if (!spec.choices.empty()) {
    const auto& s = std::get<std::string>(value);
    if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) {
      const auto closest = std::min_element(
          spec.choices.begin(), spec.choices.end(),
          [&](const auto& a, const auto& b) { return edit_distance(s, a) < edit_distance(s, b); });
      const bool suggest = close_enough(edit_distance(s, *closest), s);
      fail(where, fmt::format("{} = {} is not one of: {}{}", spec.key, to_toml_literal(value),
                              join(spec.choices, ", "),
                              suggest ? fmt::format("; did you mean {}?", *closest) : ""));
    }
  }
  return value;
}

Value parse_value(const OptionSpec& spec, std::string_view text, std::string_view where) {
  text = trim(text);
  const std::string got = fmt::format("'{}'", text);
  switch (spec.type) {
    case Type::boolean:
      if (text == "true") return true;
      if (text == "false") return false;
      throw_wrong_type(spec, got, where);
    case Type::integer:
      if (const auto i = parse_exactly<std::int64_t>(text)) return validate(spec, *i, where);
      throw_wrong_type(spec, got, where);
    case Type::number:
      if (const auto d = parse_exactly<double>(text)) return validate(spec, *d, where);
      throw_wrong_type(spec, got, where);
    case Type::string:
      if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
          text.back() == text.front()) {
        text = text.substr(1, text.size() - 2);
      }
      return validate(spec, std::string(text), where);
  }
  throw_wrong_type(spec, got, where);
}

std::string options_help() {
  constexpr std::size_t width = 80, indent = 6;
  std::string out = wrap(
      "Options: set them in [section] tables of the TOML file, or as section.key=value after it.",
      0, width);
  for (const auto& section : section_table()) {
    out += fmt::format("\n[{}]\n", section.name) + wrap(section.help, 0, width);
    for (const auto& spec : option_table()) {
      if (spec.section() != section.name) continue;
      const std::string range = range_text(spec);
      out += fmt::format("  {:<40} {}{}\n",
                         fmt::format("{} = {}", spec.key, to_toml_literal(spec.default_value)),
                         type_name(spec.type), range.empty() ? "" : ", " + range);
      out += wrap(spec.help, indent, width);
      if (!spec.choices.empty()) {
        out += wrap("One of: " + join(spec.choices, ", ") + ".", indent, width);
      }
    }
  }
  return out;
}

std::string options_markdown() {
  std::string out = R"(# Configuration

<!-- Generated from src/herd/run/options.cpp by `herd config --markdown`; do not edit. -->

A run is described by a TOML file whose tables are the sections below. Every option has a
default, so a file names only what differs from it:

```toml
[data]
format = "libsvm"
train = "libsvm/a9a"
test = "libsvm/a9a.t"

[algo]
name = "local_sgd"
workers = 16
period = 4
```

Options given on the command line after the file, as `section.key=value`, override the file:
`herd run config.toml algo.period=16 algo.lr=0.05`. Values are read by the option's type:
`true`/`false`, integers, numbers (`1e-3`), and strings with or without quotes.

A file may also hold a comparison: each `[[compare]]` table is one run of the base
configuration with its own settings on top, named by a unique `label`. Settings are written
as inline tables or dotted keys, and win over command-line overrides:

```toml
[[compare]]
label = "minibatch SGD"
algo = { name = "minibatch_sgd" }

[[compare]]
label = "Local SGD, H = 8"
algo.name = "local_sgd"
algo.period = 8
```

Unknown keys, values of the wrong type, values out of range and unknown choices are errors
that name the file, line and key. Numbers accept integers; integers do not accept fractions.
)";
  for (const auto& section : section_table()) {
    out += fmt::format("\n## [{}]\n\n{}\n\n", section.name, section.help);
    out += "| Key | Type | Default | Allowed | Description |\n";
    out += "|---|---|---|---|---|\n";
    for (const auto& spec : option_table()) {
      if (spec.section() != section.name) continue;
      const std::string allowed =
          spec.choices.empty() ? range_text(spec) : fmt::format("`{}`", join(spec.choices, "`, `"));
      out += fmt::format("| `{}` | {} | `{}` | {} | {} |\n", spec.key, type_name(spec.type),
                         markdown_cell(to_toml_literal(spec.default_value)), markdown_cell(allowed),
                         markdown_cell(spec.help));
    }
  }
  return out;
}

}  // namespace herd::run
