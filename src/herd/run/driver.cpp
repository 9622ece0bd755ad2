#include "herd/run/driver.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>

#include "herd/algo/job.hpp"
#include "herd/comm/mpi.hpp"
#include "herd/comm/runtimes.hpp"
#include "herd/core/error.hpp"
#include "herd/core/text.hpp"
#include "herd/data/cifar.hpp"
#include "herd/data/idx.hpp"
#include "herd/data/libsvm.hpp"
#include "herd/data/partition.hpp"
#include "herd/data/sampler.hpp"
#include "herd/data/synthetic.hpp"
#include "herd/model/registry.hpp"
#include "herd/run/capacity.hpp"
#include "herd/run/output.hpp"
#include "herd/run/results.hpp"

namespace herd::run {
namespace {

data::Sampling parse_sampling(const std::string& s) {
  return s == "shuffled_epochs" ? data::Sampling::shuffled_epochs
                                : data::Sampling::with_replacement;
}

// CIFAR-10: data_batch_1..5.bin (or data.train) and test_batch.bin (or data.test) of
// data.dir; only the rank that evaluates reads the test set.
void load_cifar10(const Config& c, RunPlan& p) {
  if (c.get_int("data.split") > 0)
    throw InvalidInput(
        "data.split: data.format = \"cifar10\" has its own test set (test_batch.bin, or "
        "data.test); set data.split = 0");
  const std::string dir = c.data_dir().string();
  const std::vector<std::string> train_files =
      c.get_string("data.train").empty() ? data::cifar10_train_files(dir)
                                         : std::vector{c.data_path("data.train").string()};
  p.train = std::make_shared<data::Dataset>(data::read_cifar10(train_files));
  p.data_description =
      fmt::format("CIFAR-10 {}: {} images of 3 x 32 x 32", p.train->name, p.train->rows);
  if (!p.writer || !c.get_bool("eval.test")) return;
  const std::string test_file = c.get_string("data.test").empty()
                                    ? data::cifar10_test_file(dir)
                                    : c.data_path("data.test").string();
  p.test = std::make_shared<data::Dataset>(data::read_cifar10({test_file}));
  p.data_description += fmt::format("; test {}: {} images", test_file, p.test->rows);
}

// Loads (or generates) the training and test sets the configuration names.
void load_data(const Config& c, int workers, RunPlan& p) {
  const std::string format = c.get_string("data.format");
  if (format == "synthetic") {
    data::SyntheticSpec spec;
    spec.kind = c.get_string("data.synthetic_kind");
    spec.rows = std::size_t(c.get_int("data.rows"));
    spec.cols = std::size_t(c.get_int("data.features"));
    spec.density = c.get_number("data.density");
    spec.noise = c.get_number("data.noise");
    spec.sources = c.get_string("data.partition") == "source" ? workers : 1;
    spec.heterogeneity = c.get_number("data.heterogeneity");
    spec.seed = p.job.seed;
    // Dense synthetic data: 8 bytes per stored value (and its column index when sparse).
    const double bytes = double(spec.rows) * double(spec.cols) * std::min(1.0, spec.density) *
                         (spec.density < 1 ? 12.0 : 8.0);
    if (bytes > 0.8 * physical_memory_bytes())
      throw InvalidInput(fmt::format(
          "data.rows = {} x data.features = {} (density {}) needs about {:.1f} GB, and this "
          "machine has {:.1f} GB",
          spec.rows, spec.cols, spec.density, bytes / 1e9, physical_memory_bytes() / 1e9));
    if (spec.rows < std::size_t(workers))
      throw InvalidInput(
          fmt::format("data.rows = {} is less than algo.workers = {}: every "
                      "worker needs at least one row",
                      spec.rows, workers));
    auto pair = data::make_synthetic_pair(spec, std::size_t(c.get_int("data.test_rows")));
    p.train = std::make_shared<data::Dataset>(std::move(pair.train));
    if (pair.test.rows > 0) p.test = std::make_shared<data::Dataset>(std::move(pair.test));
    p.data_description =
        fmt::format("synthetic {} data, {} x {} (density {}), {} test rows", spec.kind, spec.rows,
                    spec.cols, spec.density, p.test ? p.test->rows : 0);
    return;
  }
  if (format == "cifar10") {
    load_cifar10(c, p);
    return;
  }
  if (c.get_string("data.train").empty())
    throw InvalidInput("data.train: data.format = \"" + format + "\" needs a training file");
  const bool idx = format == "idx";
  // IDX images come with a separate label file.
  auto labels_of = [&](const std::string& images_key) {
    const std::string key = images_key + "_labels";
    if (c.get_string(key).empty())
      throw InvalidInput(
          fmt::format("{}: data.format = \"idx\" needs the label file of {}", key, images_key));
    return c.data_path(key).string();
  };
  const std::string train_path = c.data_path("data.train").string();
  auto train = std::make_shared<data::Dataset>(
      idx ? data::read_idx(train_path, labels_of("data.train"))
          : data::read_libsvm(train_path, [&] {
              data::LibsvmOptions options;  // the dimension, when the user gives it
              if (c.is_set_explicitly("data.features"))
                options.num_features = std::size_t(c.get_int("data.features"));
              return options;
            }()));
  p.data_description = fmt::format("{}: {} x {}, {} non-zeros, labels {}", train_path, train->rows,
                                   train->cols, train->nnz(), train->label_mapping);
  // Only the rank that evaluates reads the test set.
  if (p.writer && !c.get_string("data.test").empty()) {
    const std::string test_path = c.data_path("data.test").string();
    if (idx) {
      p.test = std::make_shared<data::Dataset>(data::read_idx(test_path, labels_of("data.test")));
    } else {
      data::LibsvmOptions options;
      options.num_features = train->cols;
      options.class_values = train->class_values;
      try {
        p.test = std::make_shared<data::Dataset>(data::read_libsvm(test_path, options));
      } catch (const InvalidInput& e) {
        if (std::string(e.what()).find("exceeds num_features") == std::string::npos) throw;
        throw InvalidInput(fmt::format(
            "{}; the test file has features the training file lacks: set data.features to the "
            "feature count of the whole data set",
            e.what()));
      }
    }
    p.data_description += fmt::format("; test {}: {} rows", test_path, p.test->rows);
  }
  if (const auto split = std::size_t(c.get_int("data.split")); split > 0) {
    if (p.test)
      throw InvalidInput("data.split takes the test set from data.train; data.test must be empty");
    if (split >= train->rows)
      throw InvalidInput(fmt::format("data.split = {} must be below the {} rows of {}", split,
                                     train->rows, train_path));
    auto [first, rest] = data::split_rows(*train, split);
    train = std::make_shared<data::Dataset>(std::move(first));
    p.test = std::make_shared<data::Dataset>(std::move(rest));
    p.data_description += fmt::format("; split {} train / {} test", train->rows, p.test->rows);
  }
  p.train = std::move(train);
}

// The problem of model.name, through the model registry: the models that train on data get
// the data set loaded, partitioned and checked against the workers and the batch size.
void build_problem(const Config& c, RunPlan& p) {
  const int K = p.job.workers;
  const std::size_t batch = std::size_t(c.get_int("algo.batch"));
  const model::ModelInfo& model = model::model_or_throw(c.get_string("model.name"));
  model::ModelContext context = model_context(c);
  model::ModelData data;
  if (model.needs_data) {
    load_data(c, K, p);
    // The model has at least one parameter per feature, and finding F* keeps about 24 vectors
    // of that size (L-BFGS with a history of 10, in doubles): a feature count that cannot fit
    // (one huge index in a LIBSVM file) is refused now, before anything of that size exists.
    const double per_feature = 200.0;
    if (double(p.train->cols) * per_feature > 0.8 * physical_memory_bytes())
      throw InvalidInput(fmt::format(
          "{}: {} features (the largest feature index) need about {:.0f} GB for the model and "
          "its optimum; this machine has {:.1f} GB. Is an index larger than intended?",
          p.train->name, p.train->cols, double(p.train->cols) * per_feature / 1e9,
          physical_memory_bytes() / 1e9));
    if (p.train->rows < std::size_t(K))
      throw InvalidInput(fmt::format("algo.workers = {} exceeds the {} rows of {}", K,
                                     p.train->rows, p.train->name));
    data::PartitionSpec part;
    part.kind = data::parse_partition_kind(c.get_string("data.partition"));
    part.alpha = c.get_number("data.alpha");
    part.min_shard = std::size_t(c.get_int("data.min_shard"));
    Rng rng(p.job.seed, streams::partition);
    data.shards = data::partition(*p.train, K, part, rng);
    for (int k = 0; k < K; ++k) {
      if (data.shards[std::size_t(k)].size() < batch)
        throw InvalidInput(fmt::format(
            "algo.batch = {} is larger than worker {}'s shard of {} rows ({} rows over {} "
            "workers, partition {}); lower algo.batch or algo.workers{}",
            batch, k, data.shards[std::size_t(k)].size(), p.train->rows, K,
            c.get_string("data.partition"),
            part.kind == data::PartitionKind::dirichlet
                ? fmt::format(", or set data.min_shard = {}", batch)
                : std::string()));
    }
    data.train = p.train;
    if (c.get_bool("eval.test")) data.test = p.test;
    data.sampling = parse_sampling(c.get_string("data.sampling"));
    context.data = &data;
  }
  model::BuiltModel built = model.build(model_options(c), context);
  p.problem = std::move(built.problem);
  // The plan owns the problem for as long as the job can run.
  if (built.worker_start) p.job.worker_start = std::move(built.worker_start);
  if (!built.description.empty()) p.data_description = std::move(built.description);
}

}  // namespace

double physical_memory_bytes() {
  return double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
}

bool is_output_process() {
  return !comm::under_mpirun() || comm::mpi_world_rank() == 0;
}

namespace {

// run.runtime, or the multi-process runtime (mpi) when mpirun started this process and the
// configuration does not say otherwise. On it the number of processes must be the job's
// ranks: refused here, before anything is written, with what the ranks are for.
const comm::RuntimeInfo& choose_runtime(const Config& config, const algo::JobSpec& job,
                                        bool server) {
  const bool launched = comm::under_mpirun();
  std::string name = config.get_string("run.runtime");
  const auto& all = comm::runtimes();
  const auto multi_process =
      std::find_if(all.begin(), all.end(), [](const auto* r) { return !r->in_process; });
  if (launched && !config.is_set_explicitly("run.runtime") && multi_process != all.end())
    name = (*multi_process)->name;
  const comm::RuntimeInfo& runtime = comm::runtime_or_throw(name);
  if (runtime.in_process) {
    if (launched && comm::mpi_world_size() > 1)
      throw InvalidInput(fmt::format(
          "run.runtime = \"{}\" runs the whole job in one process, but mpirun started {}; use "
          "run.runtime = \"{}\" (the default under mpirun) or mpirun -np 1",
          name, comm::mpi_world_size(),
          multi_process != all.end() ? (*multi_process)->name : "mpi"));
    return runtime;
  }
  const int needed = job.workers + (server ? 1 : 0);
  const std::string reason =
      server ? fmt::format("{} workers + 1 parameter server for {}", job.workers, job.algorithm)
             : fmt::format("{} workers of {}", job.workers, job.algorithm);
  if (const int started = comm::mpi_world_size(); started != needed)
    throw InvalidInput(comm::wrong_world_size_message(needed, started, reason));
  return runtime;
}

}  // namespace

RunPlan plan(const Config& config, const std::string& label) {
  config.check();  // every rule that involves several options, the algorithm's included
  RunPlan p;
  p.config = config;
  p.label = label;
  p.job.algorithm = config.get_string("algo.name");
  const algo::AlgorithmInfo& algorithm = algo::algorithm_or_throw(p.job.algorithm);
  p.job.workers = int(config.get_int("algo.workers"));
  p.job.seed = std::uint64_t(config.get_int("run.seed"));
  p.job.options = algorithm_options(config);
  p.job.optimizer = local_optimizer(config);
  const comm::RuntimeInfo& runtime = choose_runtime(config, p.job, algorithm.needs_server);
  p.runtime = runtime.name;
  p.config.set("run.runtime", p.runtime);  // the resolved config.toml says what ran
  p.writer = runtime.in_process || comm::mpi_world_rank() == 0;
  // Threads it cannot start, stacks it cannot map, memory it does not have: refused now,
  // with the numbers, rather than a failure or a hang halfway through starting the ranks
  // (before the cluster and the problem are built: the models' own memory is checked below).
  if (runtime.in_process) {
    const bool server = algorithm.needs_server;
    check_capacity(p.runtime, std::int64_t(p.job.workers) + (server ? 1 : 0), 0.0,
                   server ? fmt::format("{} workers + 1 parameter server for {}", p.job.workers,
                                        p.job.algorithm)
                          : fmt::format("{} workers of {}", p.job.workers, p.job.algorithm),
                   MachineLimits::of_this_machine(), int(config.get_int("run.threads")));
  }
  p.cluster = make_cluster(config, p.job.workers, algorithm.needs_server, p.job.seed);
  p.job.worker_tau = p.cluster.worker_tau;
  // The resolved config.toml says what runs, so that reading it back (--resume) describes the
  // same job: the algorithm's local rule and the defaults its settings resolved.
  p.config.set("optim.name", optim_name(config));
  for (const auto& [key, value] : algo::prepare_algorithm(p.job).resolved) p.config.set(key, value);

  try {
    build_problem(config, p);
  } catch (const std::bad_alloc&) {
    throw InvalidInput(fmt::format(
        "not enough memory to load the data and build model.name = \"{}\" ({}); this machine "
        "has {:.1f} GB",
        config.get_string("model.name"),
        p.train ? fmt::format("{} x {} training set", p.train->rows, p.train->cols)
                : std::string("no data set"),
        physical_memory_bytes() / 1e9));
  }
  // Every worker holds its parameters, gradient and optimizer state (and the evaluation a
  // few more copies): a model that cannot fit is refused now, not after a minute of paging.
  const double needed =
      double(p.problem->dim()) * sizeof(float) * (3.0 * double(p.job.workers) + 4.0);
  if (needed > 0.9 * physical_memory_bytes())
    throw InvalidInput(fmt::format(
        "model.name = \"{}\" has {} parameters; {} workers need about {:.1f} GB for them, and "
        "this machine has {:.1f} GB{}",
        config.get_string("model.name"), p.problem->dim(), p.job.workers, needed / 1e9,
        physical_memory_bytes() / 1e9,
        p.train ? fmt::format(" (the data set has {} features: is a feature index in {} "
                              "larger than intended?)",
                              p.train->cols, p.train->name)
                : ""));
  // The resolved config.toml must load the same files from wherever it is read again.
  p.config.make_data_paths_absolute();
  // Only the rank that evaluates needs F* (a solve on the whole data set).
  if (p.writer) p.job.monitor.f_star = p.problem->optimum_value();

  // Stopping: steps and epochs are both converted to a step count; time and targets are
  // checked at evaluations.
  auto& stop = p.job.monitor.stop;
  const std::int64_t steps = config.get_int("stop.steps");
  const double epochs = config.get_number("stop.epochs");
  stop.max_time = config.get_number("stop.time");
  // Every stop target is a Target; the two single-number rules are spelled out as targets.
  for (const char* metric : {"loss", "suboptimality"}) {
    const std::string key = fmt::format("stop.target_{}", metric);
    if (const double v = config.get_number(key); v > 0)
      stop.targets.push_back(algo::StopTarget{
          algo::parse_target(
              fmt::format("{}<={}", metric == std::string("loss") ? "train_loss" : metric, v), key),
          key.substr(5)});
  }
  for (auto& t : algo::parse_targets(config.get_string("stop.target"), "stop.target"))
    stop.targets.push_back(algo::StopTarget{std::move(t), "target"});
  p.targets = algo::parse_targets(config.get_string("eval.target"), "eval.target");
  if (p.writer && !p.job.monitor.f_star) {
    for (const auto& t : stop.targets)
      if (t.target.metric.ends_with("suboptimality"))
        throw InvalidInput(fmt::format(
            "{}: a stop target on {} needs this problem's optimum F*, which is unknown (it "
            "needs a strongly convex model: model.l2 > 0 or model.l2_over_n > 0)",
            t.reason == "target" ? "stop.target" : "stop." + t.reason, t.target.metric));
  }
  stop.max_steps = steps > 0 ? steps : std::numeric_limits<std::int64_t>::max() / 2;
  if (epochs > 0) {
    if (!p.train)
      throw InvalidInput(fmt::format("stop.epochs needs a data set; model.name = \"{}\" has none",
                                     config.get_string("model.name")));
    const double per_step = double(p.job.workers) * double(config.get_int("algo.batch"));
    stop.max_steps = std::min(stop.max_steps,
                              std::int64_t(std::ceil(epochs * double(p.train->rows) / per_step)));
  }
  p.job.monitor.eval_every = config.get_int("eval.every");

  const model::Curvature curv = p.problem->curvature();
  auto& sch = p.job.schedule;
  sch.kind = optim::parse_schedule(config.get_string("algo.schedule"));
  sch.lr = config.get_number("algo.lr");
  sch.warmup_steps = config.get_int("algo.warmup_steps");
  sch.decay_every = config.get_int("algo.decay_every");
  sch.decay_factor = config.get_number("algo.decay_factor");
  sch.min_lr = config.get_number("algo.min_lr");
  sch.total_steps = steps;
  sch.mu = curv.mu;
  sch.L = curv.L;
  sch.period = config.get_int("algo.period");
  sch.shift = config.get_number("optim.stich_shift");
  optim::Schedule check_schedule(sch);  // refuses unusable schedules now, not mid-run
  return p;
}

Progress resolve_progress(const std::string& setting) {
  if (setting == "none") return Progress::none;
  if (setting == "lines") return Progress::lines;
  if (setting == "bar") return Progress::bar;
  return isatty(STDERR_FILENO) ? Progress::bar : Progress::lines;
}

namespace {

// Forwards every row to metrics.jsonl and shows progress on stderr: a bar on a terminal,
// a plain line at most every few seconds otherwise.
class ProgressSink final : public algo::MetricsSink {
 public:
  // `targets` has seen the rows recorded before (a resumed run's).
  ProgressSink(algo::MetricsSink& file, Progress mode, std::string label,
               const algo::StopRule& stop, algo::TargetTracker targets)
      : file_(file),
        mode_(mode),
        label_(std::move(label)),
        stop_(stop),
        targets_(std::move(targets)) {}
  void record(const algo::MetricsRow& row) override {
    file_.record(row);
    last_ = row;
    shown_ = false;
    targets_.observe(row);
    if (mode_ == Progress::none) return;
    const auto now = std::chrono::steady_clock::now();
    const bool first = row.number("step") == 0;
    if (mode_ == Progress::bar || first || now - last_line_ >= std::chrono::seconds(2)) {
      show(row);
      last_line_ = now;
    }
  }

  // After the run, however it stopped (steps, time, a target, a signal): its last row is
  // shown, and a bar is ended with a newline so that the next output starts on its own line.
  void finish() {
    if (mode_ == Progress::none || last_.fields.empty()) return;
    if (!shown_) show(last_);
    if (mode_ == Progress::bar) fmt::print(stderr, "\n");
    std::fflush(stderr);
  }

  const algo::MetricsRow& last() const { return last_; }
  // Each eval.target and the first row that met it.
  std::vector<TargetResult> targets() const {
    std::vector<TargetResult> out;
    for (std::size_t i = 0; i < targets_.targets().size(); ++i)
      out.push_back({targets_.targets()[i], targets_.hits()[i]});
    return out;
  }

 private:
  void show(const algo::MetricsRow& row) {
    shown_ = true;
    const std::int64_t step = std::int64_t(row.number("step"));
    std::string status = fmt::format("step {:>7}  loss {:.6g}", step, row.number("train_loss"));
    if (const double s = row.number("suboptimality"); !std::isnan(s))
      status += fmt::format("  subopt {:.3e}", s);
    status += fmt::format("  rounds {}  {:.1f} s", std::int64_t(row.number("rounds")),
                          row.number("time"));
    if (mode_ == Progress::lines) {
      fmt::print(stderr, "{}: {}\n", label_, status);
    } else {
      // The fraction done: of the steps, or of the time limit, whichever is further.
      const bool bounded = stop_.max_steps < std::numeric_limits<std::int64_t>::max() / 4;
      double frac = bounded ? double(step) / double(stop_.max_steps) : 0.0;
      if (stop_.max_time > 0) frac = std::max(frac, row.number("time") / stop_.max_time);
      frac = std::clamp(frac, 0.0, 1.0);
      const int width = 24, filled = int(frac * width);
      std::string line =
          fmt::format("{} [{}{}] {:3.0f}%  {}", label_, std::string(std::size_t(filled), '#'),
                      std::string(std::size_t(width - filled), '.'), 100 * frac, status);
      if (const std::size_t columns = terminal_columns(); columns > 1 && line.size() >= columns)
        line.resize(columns - 1);  // one line, however narrow the terminal
      fmt::print(stderr, "\r{}\033[K", line);
    }
    std::fflush(stderr);
  }

  static std::size_t terminal_columns() {
    winsize size{};
    return ::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 ? std::size_t(size.ws_col) : 0;
  }

  algo::MetricsSink& file_;
  algo::MetricsRow last_;
  bool shown_ = false;
  Progress mode_;
  std::string label_;
  algo::StopRule stop_;
  algo::TargetTracker targets_;
  std::chrono::steady_clock::time_point last_line_{};
};

// The runtime the plan asks for, on its cluster model.
algo::Runtime runtime_of(const RunPlan& p) {
  return comm::runtime_or_throw(p.runtime).make(p.cluster);
}

std::string fingerprint(const std::vector<float>& x) {
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(x.data()),
                          uInt(x.size() * sizeof(float)));
  return fmt::format("{:08x}", crc);
}

// [{"target": "suboptimality<=0.001", "steps_to_target": 120, ..., "time_to_target": 0.5}]
std::string targets_json(const std::vector<TargetResult>& targets) {
  std::vector<std::string> items;
  for (const auto& [target, hit] : targets) {
    std::string item = "{\"target\": " + quote(target.text());
    for (const std::string& counter : algo::target_counter_names())
      item += fmt::format(", {}: {}", quote(counter),
                          hit ? to_json(algo::counter_value(*hit, counter)) : "null");
    items.push_back(item + "}");
  }
  return "[" + join(items, ", ") + "]";
}

std::string summary_json(const RunPlan& p, const RunResult& r) {
  std::string out = "{\n";
  auto field = [&](const std::string& key, const std::string& json_value) {
    out += "  " + quote(key) + ": " + json_value + ",\n";
  };
  field("label", quote(p.label));
  field("algorithm", quote(p.job.algorithm));
  field("status", quote(r.status));
  if (!r.error.empty()) field("error", quote(r.error));
  field("stop_reason", quote(r.stop_reason));
  field("workers", std::to_string(p.job.workers));
  field("runtime", quote(p.runtime));
  field("seed", std::to_string(p.job.seed));
  field("data", quote(p.data_description));
  field("f_star", p.job.monitor.f_star ? fmt::format("{}", *p.job.monitor.f_star) : "null");
  field("wall_seconds", fmt::format("{}", r.wall_seconds));
  if (!r.parameters_crc32.empty()) field("parameters_crc32", quote(r.parameters_crc32));
  field("targets", targets_json(r.targets));
  out += "  \"final\": " + to_json(r.last) + "\n}\n";
  return out;
}

}  // namespace

RunResult execute(RunPlan& p, const std::filesystem::path& out_dir, Progress progress) {
  RunResult result;
  result.dir = out_dir;
  result.label = p.label;
  result.algorithm = p.job.algorithm;
  algo::JobSpec job = p.job;
  job.problem = p.problem.get();
  job.monitor.problem = p.problem.get();
  job.monitor.train_rows = p.train ? p.train->rows : 0;
  const std::int64_t every = p.config.get_int("run.checkpoint_every");
  if (every > 0 || p.resume) job.checkpoint = {out_dir / "checkpoint.bin", every, p.resume};
  if (!p.writer) {  // another rank of an mpi job: its part of the job, and no files
    const algo::JobResult job_result = algo::run_job(job, runtime_of(p));
    result.stop_reason = job_result.stop_reason;
    return result;
  }

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    throw IoError(
        fmt::format("{}: cannot create the output directory: {}", out_dir.string(), ec.message()));
  write_file_atomically(out_dir / "config.toml", p.config.to_toml());
  if (p.resume)
    keep_first_rows(out_dir / "metrics.jsonl",
                    algo::read_checkpoint_info(job.checkpoint.file).rows_recorded);
  // The targets' first crossings may lie in the rows before a resume's checkpoint.
  algo::TargetTracker targets(p.targets);
  if (p.resume)
    for (const auto& row : read_metrics(out_dir / "metrics.jsonl")) targets.observe(row);
  JsonlSink file(out_dir / "metrics.jsonl", p.resume);
  ProgressSink sink(file, progress, p.label, p.job.monitor.stop, std::move(targets));
  job.monitor.sink = &sink;

  const auto started = std::chrono::steady_clock::now();
  try {
    algo::JobResult job_result = [&] {
      struct Finish {  // the progress display ends however run_job does
        ProgressSink& sink;
        ~Finish() { sink.finish(); }
      } finish{sink};
      return algo::run_job(job, runtime_of(p));
    }();
    result.last = std::move(job_result.last);
    result.stop_reason = std::move(job_result.stop_reason);
    result.parameters_crc32 = fingerprint(job_result.final_x.at(0));
    result.parameters = std::move(job_result.final_x.at(0));
  } catch (const std::exception& e) {
    result.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // What was recorded up to the failure stays: metrics.jsonl holds every completed
    // evaluation, and summary.json says how and where the run ended. (On mpi a failure
    // aborts every process at once: metrics.jsonl stays, summary.json is not written.)
    result.last = sink.last();
    result.targets = sink.targets();
    const auto* herd_error = dynamic_cast<const Error*>(&e);
    const bool diverged = herd_error && herd_error->kind() == ErrorKind::divergence;
    result.stop_reason = diverged ? "diverged" : "error";
    result.status = diverged ? "diverged" : "failed";
    result.error = e.what();
    try {
      write_file_atomically(out_dir / "summary.json", summary_json(p, result));
    } catch (const Error& summary_failed) {  // a full disk fails both: say the first
      throw IoError(fmt::format("{} (and summary.json could not be written either: {})", e.what(),
                                summary_failed.what()));
    }
    throw;
  }
  result.wall_seconds =
      p.earlier_wall_seconds +
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.targets = sink.targets();
  // Stopped by a signal: the rows and checkpoint are whole, and the run is not finished.
  if (result.stop_reason == "interrupted") result.status = "interrupted";
  write_file_atomically(out_dir / "summary.json", summary_json(p, result));
  return result;
}

namespace {

// config.toml says how the run continues (a later resume reads it); what a resume changed
// (values as TOML literals, which are JSON for booleans, numbers and strings),
// and from which step, goes to resumes.jsonl, so the record never claims that the whole run
// used a value it took only from that step on.
void record_changes(const std::filesystem::path& dir, const Config& before, const Config& after,
                    std::int64_t step) {
  std::vector<std::string> changes;
  for (const OptionSpec& spec : option_table())
    if (!(before.get(spec.key) == after.get(spec.key)))
      changes.push_back(fmt::format("{}: {{\"was\": {}, \"now\": {}}}", quote(spec.key),
                                    to_toml_literal(before.get(spec.key)),
                                    to_toml_literal(after.get(spec.key))));
  if (changes.empty()) return;
  std::ofstream out(dir / "resumes.jsonl", std::ios::app);
  out << fmt::format("{{\"from_step\": {}, \"changes\": {{{}}}}}\n", step, join(changes, ", "));
  if (!out.flush())
    throw IoError(fmt::format("{}: cannot append", (dir / "resumes.jsonl").string()));
}

}  // namespace

RunResult resume(const std::filesystem::path& dir, const std::vector<std::string>& overrides,
                 Progress progress) {
  const std::filesystem::path config_file = dir / "config.toml";
  if (!std::filesystem::exists(config_file))
    throw InvalidInput(fmt::format(
        "--resume {}: not a run directory (no config.toml); the runs of a comparison are "
        "resumed one directory at a time",
        dir.string()));
  const Config before = Config::from_toml_file(config_file.string());
  Config config = before;
  for (const auto& o : overrides) config.apply_override(o);
  // Checked before anything is rewritten: a missing or damaged checkpoint is an IoError.
  if (is_output_process() && !std::filesystem::exists(dir / "checkpoint.bin"))
    throw InvalidInput(fmt::format(
        "--resume {}: the run has no checkpoint.bin to continue from; runs write one when "
        "run.checkpoint_every > 0 (set it when you start a run you may want to continue)",
        dir.string()));
  std::string label = config.get_string("algo.name");
  double earlier_wall_seconds = 0;
  if (is_output_process()) {
    const algo::CheckpointInfo info = algo::read_checkpoint_info(dir / "checkpoint.bin");
    if (const auto steps = config.get_int("stop.steps"); steps > 0 && steps < info.step)
      throw InvalidInput(fmt::format(
          "--resume {}: stop.steps = {} is below the checkpoint's step {}: the run is already "
          "past it; give a larger stop.steps to continue",
          dir.string(), steps, info.step));
    // A resumed run keeps its name (a comparison entry's label) and its wall time so far.
    if (std::filesystem::exists(dir / "summary.json")) {
      const RunResult earlier = read_run(dir);
      label = earlier.label;
      earlier_wall_seconds = earlier.wall_seconds;
    }
  }
  RunPlan p = plan(config, label);
  p.resume = true;
  p.earlier_wall_seconds = earlier_wall_seconds;
  std::optional<OutputClaim> claim;
  if (p.writer) {
    const std::filesystem::path checkpoint = dir / "checkpoint.bin";
    const algo::CheckpointInfo info = algo::read_checkpoint_info(checkpoint);
    // Before anything is written: another run's checkpoint (copied in, or a configuration
    // changed by hand or by an override) leaves this run as it was.
    algo::JobSpec job = p.job;
    job.problem = p.problem.get();
    algo::check_same_job(info.job, algo::job_identity(job), checkpoint);
    claim.emplace(dir, OutputClaim::Mode::resume, false);
    record_changes(dir, before, config, info.step);
  }
  return execute(p, dir, progress);
}

}  // namespace herd::run
