#include "herd/run/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "herd/algo/registry.hpp"
#include "herd/comm/runtimes.hpp"
#include "herd/core/error.hpp"
#include "herd/core/text.hpp"
#include "herd/model/registry.hpp"

namespace herd::run {
namespace {

[[noreturn]] void fail(std::string_view where, const std::string& message) {
  throw InvalidInput(where.empty() ? message : fmt::format("{}: {}", where, message));
}

std::string_view after_dot(std::string_view key) {
  const auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
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

// The algorithms or models that read an option of their own (algo/registry.hpp,
// model/registry.hpp), as "a, b"; "" for the options they all read and other sections'.
std::string readers(const OptionSpec& spec, std::string_view quote_mark) {
  std::vector<std::string> names = spec.section() == "model" ? model::models_reading(spec.key)
                                                             : algo::algorithms_reading(spec.key);
  for (auto& name : names) name = fmt::format("{}{}{}", quote_mark, name, quote_mark);
  return join(names, ", ");
}

// docs/configuration.md's list of the runtimes, below the [run] table.
std::string runtimes_markdown() {
  std::string out =
      "\nThe runtimes, in the order of `run.runtime`'s choices.\n\n"
      "| `run.runtime` | In one process | Description |\n"
      "|---|---|---|\n";
  for (const comm::RuntimeInfo* r : comm::runtimes())
    out += fmt::format("| `{}` | {} | {} |\n", r->name, r->in_process ? "yes" : "no",
                       markdown_cell(r->summary));
  return out;
}

// docs/configuration.md's list of the models, below the [model] table.
std::string models_markdown() {
  std::string out =
      "\nThe models, in the order of `model.name`'s choices; each reads the options of the "
      "table above that list it.\n\n"
      "| `model.name` | Data | Options it reads | Description |\n"
      "|---|---|---|---|\n";
  for (const model::ModelInfo* m : model::models()) {
    std::vector<std::string> keys;
    for (const OptionSpec* spec : m->options) keys.push_back(fmt::format("`{}`", spec->key));
    out += fmt::format("| `{}` | {} | {} | {} |\n", m->name, m->needs_data ? "yes" : "no",
                       keys.empty() ? "none" : join(keys, ", "), markdown_cell(m->summary));
  }
  return out;
}

// docs/configuration.md's list of the algorithms, below the [algo] table.
std::string algorithms_markdown() {
  std::string out =
      "\nThe algorithms, in the order of `algo.name`'s choices; each reads the options of the "
      "table above that list it.\n\n"
      "| `algo.name` | Server | Options it reads | Description |\n"
      "|---|---|---|---|\n";
  for (const algo::AlgorithmInfo* a : algo::algorithms()) {
    std::vector<std::string> keys;
    for (const OptionSpec* spec : a->options) keys.push_back(fmt::format("`{}`", spec->key));
    out += fmt::format("| `{}` | {} | {} | {} |\n", a->name, a->needs_server ? "yes" : "no",
                       keys.empty() ? "none" : join(keys, ", "), markdown_cell(a->summary));
  }
  return out;
}

}  // namespace

const std::vector<SectionSpec>& section_table() {
  static const std::vector<SectionSpec> sections = {
      {"run", "How the run executes: seed, runtime, progress display."},
      {"data", "The training and test data, and how rows are split across workers."},
      {"model", "The objective: model, regularisation, starting point, quadratic test problem."},
      {"algo", "The distributed algorithm, its communication pattern and step sizes."},
      {"optim", "The local update rule each worker applies, and the shift of Stich's schedule."},
      {"stop", "When to stop; the run stops at the first criterion met, 0 disables one."},
      {"eval", "How often and on what the full objective is evaluated."},
      {"cluster",
       "The modelled cluster: compute times of the workers (fixed-computation model), the "
       "network and injected faults. The sim runtime charges them as virtual time; the threads "
       "runtime sleeps the compute times when cluster.emulate is on."},
  };
  return sections;
}

namespace {

// The options before the models' options: [run], [data] and model.name.
std::vector<OptionSpec> options_before_model_knobs() {
  return {
      // [run]
      integer("run.seed", 1,
              "Seed of every random stream (data generation, partition, initialisation, "
              "sampling); equal seeds give equal runs.")
          .ge(0),
      choice("run.runtime", comm::runtime_names(), "threads",
             "How workers execute (see the list below the table); the modelled cluster is "
             "[cluster]."),
      integer("run.threads", 0,
              "threads runtime: OS threads that carry the ranks, each rank a user-space fibre "
              "(rank r on OS thread r mod run.threads), so that many more ranks than cores "
              "meet without kernel context switches. 0 = one per core; never more than the "
              "ranks.")
          .ge(0),
      integer("run.checkpoint_every", 0,
              "Write OUT/checkpoint.bin every this many communication rounds (server: results "
              "received) and when the run ends; `herd run --resume OUT` continues from it. 0 = "
              "no checkpoints.")
          .ge(0),
      choice("run.progress", {"auto", "bar", "lines", "none"}, "auto",
             "Progress display: bar (a live bar), lines (one line per evaluation), none; auto = "
             "bar on a terminal, lines otherwise."),

      // [data]
      choice("data.format", {"synthetic", "libsvm", "idx", "cifar10"}, "synthetic",
             "Where the data comes from: synthetic (generated, see data.synthetic_kind), libsvm "
             "(LIBSVM text files data.train and data.test), idx (MNIST IDX image files "
             "data.train and data.test with label files data.train_labels and "
             "data.test_labels; plain or .gz) or cifar10 (the CIFAR-10 binary version: "
             "data_batch_1.bin .. data_batch_5.bin and test_batch.bin in data.dir, each plain "
             "or .gz; 3 x 32 x 32 images)."),
      text("data.train", "",
           "Training set file (libsvm), training images (idx), or one CIFAR-10 batch file "
           "instead of data_batch_1..5.bin (cifar10)."),
      text("data.test", "",
           "Test set file (libsvm), or test images (idx); empty = no test set (cifar10: empty = "
           "test_batch.bin)."),
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
             "drawn from Dirichlet(data.alpha); see data.min_shard for its smallest shards), "
             "source (rows generated for worker k go to "
             "worker k; synthetic data), full (every worker samples the whole training set, as on "
             "shared storage; the setting of the LSGD and EASGD papers)."),
      number("data.alpha", 0.5,
             "Dirichlet concentration for partition = dirichlet; smaller = more skewed labels.")
          .gt(0),
      integer("data.min_shard", 0,
              "Every worker's shard gets at least this many rows (e.g. algo.batch); 0 = off, "
              "the partitions as without it. partition = dirichlet draws its class proportions "
              "once (without data.min_shard it redraws, up to 100 times, while a worker gets no "
              "row) and then fills each shard below data.min_shard, workers in order, one row "
              "at a time: a row of the class that shard holds most of, from the largest shard "
              "with more than data.min_shard rows that holds it (an empty shard: a row of the "
              "most frequent class of the largest shard). The fewest rows possible move, a small "
              "shard keeps the rows it was drawn and only the largest shards give, so the label "
              "skew of data.alpha stays; a draw whose shards all have data.min_shard rows is "
              "used as drawn. "
              "The other partitions fix their shard sizes and are refused when a shard is "
              "smaller. Refused when data.min_shard x algo.workers exceeds the training rows.")
          .ge(0),
      choice("data.sampling", {"with_replacement", "shuffled_epochs"}, "with_replacement",
             "Minibatch sampling within a worker's shard: with_replacement (uniform draws) or "
             "shuffled_epochs (a fresh permutation every epoch)."),
      choice("data.synthetic_kind", {"logistic", "linear"}, "logistic",
             "Synthetic labels: logistic (binary classes from a logistic model) or linear (real "
             "targets of a linear model)."),
      integer("data.rows", 20000, "Synthetic training rows, over all workers.").ge(1),
      integer("data.test_rows", 5000, "Synthetic test rows; 0 = no test set.").ge(0),
      integer("data.features", 50,
              "Synthetic features per row; for LIBSVM files, when set, the feature count (so "
              "that a training part and a test file with more features share one dimension; "
              "an index above it is refused).")
          .ge(1),
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

      // [model]: the model; the models' own options follow (model/registry.hpp)
      choice("model.name", model::model_names(), "logistic",
             "Objective (see the list below the table).")
          .unbuilt(model::unbuilt_model_names(), model::unbuilt_model_why),
  };
}

// The options between the models' options and the algorithms' knobs: the algo options that
// choose the algorithm and the workers.
std::vector<OptionSpec> options_before_algorithm_knobs() {
  return {
      // [algo]: the options every algorithm reads
      choice("algo.name", algo::algorithm_names(), "local_sgd",
             "The distributed training algorithm (see the list below the table)."),
      integer("algo.workers", 8, "Number of workers K.").ge(1),
  };
}

// The options after the knobs: the step sizes every algorithm uses, then [optim], [stop],
// [eval] and [cluster].
std::vector<OptionSpec> options_after_knobs() {
  return {
      integer("algo.batch", 32, "Minibatch size b of each worker's local step.").ge(1),
      number("algo.lr", 0.1, "Base step size (learning rate).").gt(0),
      choice("algo.schedule", {"constant", "stich", "step", "cosine"}, "constant",
             "Step-size schedule: constant; stich (4 / (mu (a + t)) with a = max(16 L / mu, H), "
             "mu and L from the problem, or a = optim.stich_shift when set; Stich 2019); step "
             "(lr times decay_factor every "
             "decay_every steps); cosine (from lr down to min_lr over stop.steps)."),
      integer("algo.warmup_steps", 0, "Linear warm-up of the step size over this many steps.")
          .ge(0),
      integer("algo.decay_every", 1000, "schedule = step: steps between decays.").ge(1),
      number("algo.decay_factor", 0.1, "schedule = step: factor applied at each decay.")
          .gt(0)
          .le(1),
      number("algo.min_lr", 0.0, "schedule = cosine: the final step size.").ge(0),

      // [optim]
      choice("optim.name", {"sgd", "momentum", "nesterov"}, "sgd", "Local update rule."),
      number("optim.momentum", 0.9, "Momentum coefficient of momentum and nesterov.").ge(0).lt(1),
      number("optim.weight_decay", 0.0, "Weight decay of the local update.").ge(0),
      number("optim.stich_shift", 0.0,
             "The shift a of Stich's step size eta_t = 4 / (mu (a + t)) (algo.schedule = "
             "\"stich\"; its other settings are algo.*), also the offset of Local SGD's "
             "weights (a + t)^2 of its weighted_average model. 0 = automatic: a = max(16 L / mu, "
             "algo.period), what Stich's analysis assumes. Any a > 0 is accepted: a smaller a "
             "starts with larger steps (eta_0 = 4 / (mu a), above 1 / (4 L) when a < 16 L / mu) "
             "and lets them decay sooner, outside the theory's assumptions (a >= max(16 L / mu, "
             "H)).")
          .ge(0),

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
      text("stop.target", "",
           "Stop at the first evaluation that meets any of these targets (the syntax of "
           "eval.target); empty = none.")
          .several(),

      // [eval]
      integer("eval.every", 50, "Evaluate the full objective every this many local steps.").ge(1),
      boolean("eval.test", true, "Also evaluate on the test set when there is one."),
      text("eval.target", "",
           "Targets METRIC<=VALUE or METRIC>=VALUE, e.g. \"suboptimality<=1e-3\" or "
           "[\"train_loss<=0.6\", \"test_error<=0.05\"] (a TOML array, or comma-separated): "
           "summary.json, comparison and sweep tables report for each the first evaluation "
           "that met it (steps_to_target, grads_to_target, rounds_to_target, bytes_to_target, "
           "time_to_target; null when never met). METRIC is any metric of a metrics row, "
           "test_error = 1 - test_acc, or train_error = 1 - train_acc.")
          .several(),

      // [cluster]
      text("cluster.compute_times", "",
           "Seconds per minibatch gradient of each worker: a comma-separated list with one "
           "value per worker, or a formula: constant (all 1), linear (tau_i = i), sqrt "
           "(sqrt(i)), permutation (a random permutation of 1..K drawn from run.seed), "
           "mean_max (one slow worker at cluster.tau_max, the others equal, with mean "
           "cluster.tau_mean: the slowest time and the mean set apart). Empty = compute takes "
           "no modelled time."),
      text("cluster.compute_times_after", "",
           "Drifting hardware: the workers' seconds per minibatch gradient from modelled time "
           "cluster.change_at on (a piece of work that starts earlier takes the old time). A "
           "list or formula as for cluster.compute_times, or reversed (worker i takes the "
           "first time of worker K+1-i; permutation draws another permutation). Noise and "
           "stragglers apply as before. rescaled_asgd with rescale_tau = known keeps "
           "rescaling by cluster.compute_times; estimated follows the change. Empty = the "
           "times never change."),
      number("cluster.change_at", 0.0,
             "Modelled time (seconds; virtual on sim, wall seconds / cluster.wall_scale when "
             "emulated) at which cluster.compute_times_after take over.")
          .ge(0),
      choice("cluster.noise", {"none", "half_normal", "exponential", "lognormal"}, "none",
             "Noise on each compute time, drawn independently for every minibatch gradient: "
             "worker i takes tau_i plus |N(0, s_i^2)| seconds (half_normal; mean tau_i + s_i "
             "sqrt(2 / pi)), tau_i plus Exp(mean s_i) seconds (exponential; mean tau_i + s_i) or "
             "tau_i times exp(N(0, s_i^2)) (lognormal; mean tau_i exp(s_i^2 / 2)), with s_i "
             "from cluster.noise_scale; a straggling gradient is then multiplied by "
             "cluster.straggler_factor. rescaled_asgd rescales by the nominal tau_i, which are "
             "proportional to these means only when s_i is (noise_scale = tau for the additive "
             "kinds, any constant s for lognormal)."),
      number("cluster.tau_mean", 1.0,
             "compute_times = mean_max: the mean compute time over the workers, seconds.")
          .gt(0),
      number("cluster.tau_max", 1.0,
             "compute_times = mean_max: the slowest worker's compute time, seconds (>= "
             "cluster.tau_mean).")
          .gt(0),
      text("cluster.noise_scale", "0",
           "s_i of cluster.noise: one number for every worker (seconds for half_normal and "
           "exponential; dimensionless for lognormal), a comma-separated list with one value "
           "per worker, sqrt (s_i = sqrt(i) for workers numbered i = 1..K: it grows with the "
           "worker's position, not with its compute time) or tau (s_i = tau_i, noise "
           "proportional to each worker's own compute time; half_normal and exponential "
           "only). Values must be >= 0."),
      number("cluster.straggler_prob", 0.0,
             "Probability that a gradient is slowed down by cluster.straggler_factor.")
          .ge(0)
          .le(1),
      number("cluster.straggler_factor", 1.0, "Slow-down of a straggling gradient.").ge(1),
      choice("cluster.time_model", {"declared", "measured"}, "declared",
             "sim: charge the modelled compute times (declared) or the measured wall time of "
             "each computation (measured)."),
      number("cluster.latency", 0.0,
             "Network latency per message, seconds; between nodes when cluster.node_size > 0.")
          .ge(0),
      number("cluster.bandwidth", 0.0,
             "Network bandwidth, bytes per second; 0 = infinite. Between nodes when "
             "cluster.node_size > 0.")
          .ge(0),
      integer("cluster.node_size", 0,
              "sim: workers per node (consecutive workers share a node; a parameter server "
              "has a node of its own); 0 = a flat network.")
          .ge(0),
      number("cluster.intra_latency", 0.0,
             "sim: latency per message between two ranks of one node, seconds; needs "
             "cluster.node_size > 0.")
          .ge(0),
      number("cluster.intra_bandwidth", 0.0,
             "sim: bandwidth between two ranks of one node, bytes per second; 0 = infinite; "
             "needs cluster.node_size > 0.")
          .ge(0),
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
}

}  // namespace

const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> options = [] {
    std::vector<OptionSpec> out = options_before_model_knobs();
    // The options of the models, each once, as they declare them (model/registry.hpp).
    for (const OptionSpec* knob : model::model_options()) out.push_back(*knob);
    for (OptionSpec& spec : options_before_algorithm_knobs()) out.push_back(std::move(spec));
    // The knobs of the algorithms, each once, as they declare them (algo/registry.hpp).
    for (const OptionSpec* knob : algo::algorithm_options()) out.push_back(*knob);
    for (OptionSpec& spec : options_after_knobs()) out.push_back(std::move(spec));
    return out;
  }();
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

// Options that existed once, and what replaced them: a configuration written for an older
// herd gets told how to say the same thing now.
constexpr std::pair<std::string_view, std::string_view> retired_options[] = {
    {"eval.report_loss",
     "write eval.target = \"train_loss<=VALUE\" instead (it reports "
     "time_to_target and the other counters for any metric)"},
};

const OptionSpec& option_or_throw(std::string_view key, std::string_view where) {
  if (const OptionSpec* spec = find_option(key)) return *spec;
  for (const auto& [old_key, replacement] : retired_options)
    if (key == old_key) fail(where, fmt::format("{} no longer exists: {}", key, replacement));
  const std::string suggestion = closest_key(key);
  fail(where, fmt::format("unknown key {}{}", key,
                          suggestion.empty() ? "" : fmt::format("; did you mean {}?", suggestion)));
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
      if (const std::string by = readers(spec, ""); !by.empty())
        out += wrap("Read by: " + by + ".", indent, width);
    }
  }
  return out;
}

std::string options_markdown() {
  std::string out = R"(# Configuration

<!-- Generated by `herd config --markdown` from src/herd/run/options.cpp and the
registrations of the runtimes, models and algorithms; do not edit. -->

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
      std::string help = spec.help;
      if (const std::string by = readers(spec, "`"); !by.empty()) help += " Read by: " + by + ".";
      out += fmt::format("| `{}` | {} | `{}` | {} | {} |\n", spec.key, type_name(spec.type),
                         markdown_cell(to_toml_literal(spec.default_value)), markdown_cell(allowed),
                         markdown_cell(help));
    }
    if (section.name == "run") out += runtimes_markdown();
    if (section.name == "model") out += models_markdown();
    if (section.name == "algo") out += algorithms_markdown();
  }
  return out;
}

}  // namespace herd::run
