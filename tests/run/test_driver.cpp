// The run driver and the herd command end to end: outputs, refusals that write nothing,
// divergence that keeps what was written, and the exit code of each kind of failure.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"
#include "herd/run/capacity.hpp"
#include "herd/run/driver.hpp"
#include "support/cli_files.hpp"
#include "support/runtime_kind.hpp"

namespace herd::run {
namespace {

namespace fs = std::filesystem;

using test::herd;
using test::herd_stderr;
using test::lines_of;
using test::read;
using test::rows_without_time;
using test::summary_field;

fs::path fresh_dir(const std::string& name) {
  return test::fresh_dir("herd_test_driver", name);
}

const char* small_run = R"(
[data]
format = "synthetic"
rows = 2000
test_rows = 500
features = 10
[model]
name = "logistic"
[algo]
name = "local_sgd"
workers = 4
batch = 8
period = 4
lr = 0.5
[stop]
steps = 200
[eval]
every = 50
)";

TEST(Driver, WritesResolvedConfigMetricsAndSummary) {
  const fs::path dir = fresh_dir("ok");
  RunPlan p = plan(Config::from_toml_string(small_run, "small.toml"), "small");
  const RunResult r = execute(p, dir, Progress::none);
  EXPECT_EQ(r.stop_reason, "steps");
  const auto rows = lines_of(dir / "metrics.jsonl");
  ASSERT_EQ(rows.size(), 5u);  // steps 0, 50, 100, 150, 200
  for (const char* key :
       {"\"time\"", "\"step\"", "\"epoch\"", "\"grads\"", "\"rounds\"", "\"bytes\"",
        "\"train_loss\"", "\"test_loss\"", "\"test_acc\"", "\"grad_norm2\"", "\"suboptimality\"",
        "\"consensus\"", "\"model\": \"average\"", "\"weighted_average_suboptimality\""})
    EXPECT_NE(rows.back().find(key), std::string::npos) << key;
  EXPECT_NE(rows.back().find("\"step\": 200"), std::string::npos);
  EXPECT_NE(rows.back().find("\"rounds\": 50"), std::string::npos);  // 200 / H
  EXPECT_EQ(r.last.number("grads"), 200.0 * 4 * 8);
  // The resolved config reads back as the same configuration.
  EXPECT_EQ(Config::from_toml_file((dir / "config.toml").string()), p.config);
  EXPECT_NE(read(dir / "summary.json").find("\"status\": \"ok\""), std::string::npos);
}

TEST(Driver, TheResolvedConfigRecordsResolvedDefaultsSoThatAResumeRunsTheSameJob) {
  // EASGD's alpha = 0.9 / K and EAMSGD's Nesterov rule are defaults that depend on the
  // algorithm and the job: config.toml records them, so --resume reads back the same job.
  for (const char* name : {"easgd", "eamsgd"}) {
    const fs::path dir = fresh_dir(std::string("resolved_") + name);
    Config c = Config::from_toml_string(small_run, "small.toml");
    c.apply_override(std::string("algo.name=") + name);
    c.apply_override("run.checkpoint_every=10");
    RunPlan p = plan(c, name);
    EXPECT_EQ(p.config.get_number("algo.elastic_alpha"), 0.9 / 4) << name;
    EXPECT_EQ(p.config.get_string("optim.name"),
              std::string(name) == "eamsgd" ? "nesterov" : "sgd");
    EXPECT_EQ(p.job.options.count("algo.elastic_alpha"), 0u);  // the job resolves it itself
    const RunResult first = execute(p, dir, Progress::none);
    const RunResult resumed = resume(dir, {"stop.steps=300"}, Progress::none);
    EXPECT_EQ(resumed.last.number("step"), 300) << name;

    // The same 300 steps without interruption end on the same parameters.
    Config whole = c;
    whole.apply_override("stop.steps=300");
    RunPlan q = plan(whole, name);
    const RunResult uninterrupted =
        execute(q, fresh_dir(std::string("whole_") + name), Progress::none);
    EXPECT_EQ(resumed.parameters_crc32, uninterrupted.parameters_crc32) << name;
    EXPECT_EQ(first.last.number("step"), 200) << name;
  }
}

TEST(Driver, BatchLargerThanAShardIsRefusedBeforeAnythingIsWritten) {
  Config c = Config::from_toml_string(small_run, "small.toml");
  c.apply_override("algo.batch=600");  // 2000 rows / 4 workers = 500 per shard
  try {
    plan(c, "x");
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("algo.batch = 600"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("500 rows"), std::string::npos) << e.what();
  }
}

// The number `key` holds in a metrics row (written in the shortest form that reads back
// exactly).
double number_in(const std::string& row, const std::string& key) {
  const std::string tag = "\"" + key + "\": ";
  const auto at = row.find(tag);
  if (at == std::string::npos) {
    ADD_FAILURE() << key << " not in " << row;
    return 0;
  }
  return std::strtod(row.c_str() + at + tag.size(), nullptr);
}

TEST(Driver, TheQuadraticStartsAtModelInit) {
  const char* quadratic = R"(
[model]
name = "quadratic"
dim = 8
spread = 0.0
noise = 0.0
[algo]
name = "local_sgd"
workers = 2
batch = 1
period = 2
lr = 0.05
[stop]
steps = 20
[eval]
every = 10
)";
  // The default start, zeros, is x* itself when every worker's optimum is the origin.
  Config c = Config::from_toml_string(quadratic, "quadratic.toml");
  RunPlan zeros = plan(c, "zeros");
  const fs::path origin = fresh_dir("quadratic_zeros");
  execute(zeros, origin, Progress::none);
  EXPECT_EQ(number_in(lines_of(origin / "metrics.jsonl").at(0), "train_loss"), 0.0);

  // model.init = normal: x_0 = 1.5 N(0, I) from run.seed's initialisation stream, and the
  // first row reports F(x_0).
  c.apply_override("model.init=normal");
  c.apply_override("model.init_scale=1.5");
  RunPlan p = plan(c, "normal");
  std::vector<float> x0(8);
  p.problem->initial_point(x0);
  Rng rng(1, streams::init);
  for (const float v : x0) EXPECT_EQ(v, float(1.5 * rng.normal()));
  const double f0 = p.problem->evaluate(x0).train_loss;
  EXPECT_GT(f0, 1.0);
  const fs::path dir = fresh_dir("quadratic_normal");
  const RunResult r = execute(p, dir, Progress::none);
  const auto rows = lines_of(dir / "metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(number_in(rows.at(0), "step"), 0.0);
  EXPECT_EQ(number_in(rows.at(0), "train_loss"), f0);
  EXPECT_LT(r.last.number("train_loss"), f0);  // and it descends from there
}

TEST(Driver, StichShiftAndMinShardReachTheJob) {
  Config c = Config::from_toml_string(small_run, "small.toml");
  c.apply_override("algo.schedule=stich");
  const RunPlan automatic = plan(c, "automatic");
  const model::Curvature curv = automatic.problem->curvature();
  EXPECT_EQ(automatic.job.schedule.shift, 0.0);
  EXPECT_EQ(optim::Schedule(automatic.job.schedule).stich_shift(),
            std::max(16.0 * curv.L / curv.mu, 4.0));
  c.apply_override("optim.stich_shift=50");
  const RunPlan shifted = plan(c, "shifted");
  EXPECT_EQ(shifted.job.schedule.shift, 50.0);
  const optim::Schedule schedule(shifted.job.schedule);
  for (const std::int64_t t : {0, 10, 1000})
    EXPECT_EQ(schedule.at(t), 4.0 / (curv.mu * (50.0 + double(t))));
  EXPECT_EQ(shifted.config.get_number("optim.stich_shift"), 50.0);  // in config.toml

  // Dirichlet(0.1) over 100 workers of two classes: every draw leaves some worker without
  // rows; data.min_shard fills the small shards instead.
  Config d = Config::from_toml_string(small_run, "small.toml");
  for (const char* o :
       {"algo.workers=100", "algo.batch=4", "data.partition=dirichlet", "data.alpha=0.1"})
    d.apply_override(o);
  try {
    plan(d, "no bound");
    ADD_FAILURE() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("data.min_shard"), std::string::npos) << e.what();
  }
  d.apply_override("data.min_shard=4");
  const RunPlan bounded = plan(d, "bounded");
  std::size_t rows = 0;
  for (int k = 0; k < 100; ++k) {
    EXPECT_GE(bounded.problem->shard_size(k), 4u) << k;
    rows += bounded.problem->shard_size(k);
  }
  EXPECT_EQ(rows, 2000u);
  d.apply_override("data.min_shard=21");  // 21 x 100 > 2000 rows
  try {
    plan(d, "too many");
    ADD_FAILURE() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("data.min_shard = 21"), std::string::npos) << e.what();
  }
}

TEST(Driver, DivergenceStopsAtTheFirstNonFiniteLossAndKeepsTheMetrics) {
  const fs::path dir = fresh_dir("diverged");
  Config c = Config::from_toml_string(small_run, "small.toml");
  c.apply_override("data.synthetic_kind=linear");
  c.apply_override("model.name=least_squares");
  c.apply_override("algo.lr=1e6");
  c.apply_override("eval.every=1");
  RunPlan p = plan(c, "absurd");
  EXPECT_THROW(execute(p, dir, Progress::none), Diverged);
  const auto rows = lines_of(dir / "metrics.jsonl");
  ASSERT_GE(rows.size(), 1u);
  for (const auto& row : rows) {  // every row that was written is complete
    EXPECT_EQ(row.front(), '{');
    EXPECT_EQ(row.back(), '}');
  }
  const std::string summary = read(dir / "summary.json");
  EXPECT_NE(summary.find("\"status\": \"diverged\""), std::string::npos) << summary;
  EXPECT_NE(summary.find("diverged: "), std::string::npos) << summary;
}

TEST(Driver, TheSimulatorIsDeterministicPerSeed) {
  auto metrics = [](std::int64_t seed) {
    const fs::path dir = fresh_dir("sim_" + std::to_string(seed));
    Config c = Config::from_toml_string(small_run, "small.toml");
    for (const char* o :
         {"run.runtime=sim", "algo.name=rescaled_asgd", "algo.rescale_tau=estimated",
          "cluster.compute_times=permutation", "cluster.noise=lognormal", "cluster.noise_scale=0.3",
          "cluster.latency=0.01"})
      c.apply_override(o);
    c.set("run.seed", seed);
    RunPlan p = plan(c, "sim");
    execute(p, dir, Progress::none);
    return read(dir / "metrics.jsonl");
  };
  const std::string a = metrics(1), b = metrics(1), other = metrics(2);
  EXPECT_EQ(a, b);  // every field, virtual time included
  EXPECT_NE(a, other);
  EXPECT_NE(a.find("\"delay_mean\""), std::string::npos);
}

fs::path write_config(const std::string& name, const std::string& text) {
  const fs::path file = herd::test::temp_dir() / ("herd_test_driver_" + name + ".toml");
  std::ofstream(file) << text;
  return file;
}

// The refusals (exit code 2, nothing written) are the catalogue's
// (tests/catalogue/cases.toml); here a run that succeeds and one that diverges.
TEST(Cli, ExitCodesOfARunAndOfADivergedRun) {
  const fs::path config = write_config("cli", small_run);
  const fs::path out = fresh_dir("cli_out");
  EXPECT_EQ(herd("run " + config.string() + " run.progress=none --out " + out.string()),
            exit_codes::ok);
  EXPECT_TRUE(fs::exists(out / "summary.json"));
  const fs::path diverged = fresh_dir("cli_diverged");
  EXPECT_EQ(herd("run " + config.string() + " --out " + diverged.string() +
                 " data.synthetic_kind=linear model.name=least_squares algo.lr=1e6"),
            exit_codes::diverged);
  EXPECT_TRUE(fs::exists(diverged / "metrics.jsonl"));
}

// A big-endian 32-bit word, as IDX headers store them.
void put_u32(std::ofstream& out, std::uint32_t v) {
  const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.write(bytes, 4);
}

// An IDX3 image file of n 2x2 images and an IDX1 label file of m labels.
void write_idx(const fs::path& images, const fs::path& labels, std::uint32_t image_magic,
               std::uint32_t n, std::uint32_t m, std::size_t pixels_written) {
  std::ofstream im(images, std::ios::binary);
  put_u32(im, image_magic);
  put_u32(im, n);
  put_u32(im, 2);
  put_u32(im, 2);
  for (std::size_t i = 0; i < pixels_written; ++i) im.put(char(i % 256));
  std::ofstream lb(labels, std::ios::binary);
  put_u32(lb, 0x00000801);
  put_u32(lb, m);
  for (std::uint32_t i = 0; i < m; ++i) lb.put(char(i % 10));
}

TEST(Cli, AnEarlierRunIsNeverOverwritten) {
  const fs::path config = write_config("again", small_run);
  const fs::path out = fresh_dir("again");
  const std::string run = "run " + config.string() + " run.progress=none --out " + out.string();
  ASSERT_EQ(herd(run), exit_codes::ok);
  const std::string metrics = read(out / "metrics.jsonl"), summary = read(out / "summary.json");
  const auto [code, err] = herd_stderr(run + " stop.steps=50");
  EXPECT_EQ(code, exit_codes::invalid_input);
  EXPECT_NE(err.find("holds an earlier run"), std::string::npos) << err;
  EXPECT_NE(err.find("--force"), std::string::npos) << err;
  EXPECT_EQ(read(out / "metrics.jsonl"), metrics);
  EXPECT_EQ(read(out / "summary.json"), summary);
  // --force replaces it, whole: no row of the earlier run stays.
  ASSERT_EQ(herd(run + " stop.steps=50 --force"), exit_codes::ok);
  EXPECT_EQ(lines_of(out / "metrics.jsonl").size(), 2u);  // steps 0 and 50

  // A directory of other files is never written into, --force or not.
  const fs::path other = fresh_dir("again_other");
  fs::create_directories(other);
  std::ofstream(other / "thesis.tex") << "keep me";
  for (const char* force : {"", " --force"}) {
    const auto [c, e] = herd_stderr("run " + config.string() + " --out " + other.string() + force);
    EXPECT_EQ(c, exit_codes::invalid_input) << e;
    EXPECT_NE(e.find("holds no herd run"), std::string::npos) << e;
  }
  EXPECT_EQ(read(other / "thesis.tex"), "keep me");
  EXPECT_FALSE(fs::exists(other / "config.toml"));

  // Without --out: runs/NAME, then runs/NAME-2.
  const fs::path cwd = fresh_dir("again_cwd");
  fs::create_directories(cwd);
  const std::string in_cwd = "cd " + cwd.string() + " && " + HERD_BINARY + " run " +
                             config.string() + " run.progress=none >/dev/null 2>&1";
  ASSERT_EQ(std::system(in_cwd.c_str()), 0);
  ASSERT_EQ(std::system(in_cwd.c_str()), 0);
  const std::string stem = config.stem().string();
  EXPECT_TRUE(fs::exists(cwd / "runs" / stem / "summary.json"));
  EXPECT_TRUE(fs::exists(cwd / "runs" / (stem + "-2") / "summary.json"));
}

// Starts `herd run ...` in the background (output discarded); returns its pid.
pid_t spawn_herd(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>(HERD_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execv(HERD_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

TEST(Cli, ASecondRunIntoADirectoryInUseIsRefused) {
  // The first run goes on until the test stops it (a signal ends it at its next evaluation),
  // so however slowly the second herd starts, the first is still writing.
  const fs::path config = write_config("busy", small_run);
  const fs::path out = fresh_dir("busy");
  const pid_t first = spawn_herd({"run", config.string(), "run.progress=none",
                                  "cluster.compute_times=0.004", "cluster.emulate=true",
                                  "stop.steps=100000000", "eval.every=50", "--out", out.string()});
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20 * test::slowdown);
  while (lines_of(out / "metrics.jsonl").empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto [code, err] = herd_stderr("run " + config.string() + " --force --out " + out.string());
  EXPECT_EQ(code, exit_codes::invalid_input) << err;
  EXPECT_NE(err.find("another herd is writing"), std::string::npos) << err;
  kill(first, SIGINT);
  int status = 0;
  waitpid(first, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130) << status;
  // The first run's outputs are whole: its rows, and its summary.
  const auto rows = lines_of(out / "metrics.jsonl");
  EXPECT_FALSE(rows.empty());
  for (const auto& row : rows) EXPECT_EQ(row.back(), '}');
  EXPECT_EQ(summary_field(out, "status"), "interrupted");
}

// More workers than the machine gives stacks: a clear error at once, not a hang. The limit
// is a virtual-memory cap (each rank's stack is reserved whole), which the sanitizers'
// shadow memory would exceed.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST(Cli, MoreThreadsThanTheMachineGivesIsAnErrorNotAHang) {
  const fs::path config = write_config("threads", small_run);
  const fs::path out = fresh_dir("threads");
  const fs::path err = herd::test::temp_dir() / "herd_test_driver_threads_err.txt";
  const std::string command = "ulimit -v 2000000; timeout 60 " + std::string(HERD_BINARY) +
                              " run " + config.string() +
                              " algo.workers=1000 data.rows=20000 run.progress=none --out " +
                              out.string() + " 2>" + err.string();
  const int status = std::system(("bash -c '" + command + "' >/dev/null").c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), exit_codes::invalid_input) << read(err);  // 124: it hung
  EXPECT_NE(read(err).find("needs 1000 ranks"), std::string::npos) << read(err);
  EXPECT_NE(read(err).find("ulimit -v = 2000000 KB"), std::string::npos) << read(err);
  EXPECT_NE(read(err).find("run.runtime = \"sim\""), std::string::npos) << read(err);
}
#endif

// The real per-user limit on processes and threads (ulimit -u; root is exempt from it, so as
// root the test runs herd as the user nobody). The ranks are fibres on at most one OS thread
// per core, so 200 workers run under a limit of 40 threads; 200 OS threads (run.threads) are
// refused up front, naming the limit; and when other processes of the user take the room
// that the check saw, the OS thread that the limit stops ends the run with an error and a
// failed summary, before any rank has started: not a hang.
TEST(Cli, AUserThreadLimitIsRefusedOrReportedNotAHang) {
  const fs::path config = write_config("nproc", small_run);
  const std::string as_user =
      ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  // The user nobody writes its runs into a directory open to every user, as /tmp is.
  const fs::path open_to_all = fresh_dir("nproc_runs");
  fs::create_directories(open_to_all);
  fs::permissions(open_to_all, fs::perms::all | fs::perms::sticky_bit);
  struct Case {
    const char* name;
    const char* settings;
    int others;  // processes of the user started beside herd
  };
  for (const Case& c : {Case{"fibres", "algo.workers=200", 0},
                        Case{"refused", "algo.workers=200 run.threads=200", 0},
                        Case{"stopped", "algo.workers=40 run.threads=40", 5}}) {
    const fs::path out = open_to_all / c.name;
    const fs::path err = herd::test::temp_dir() / "herd_test_driver_nproc_err.txt";
    std::string others;
    for (int i = 0; i < c.others; ++i) others += "sleep 5 & ";
    const std::string command = "ulimit -u 40; exec timeout 60 " + as_user + "bash -c \"" + others +
                                "exec " + std::string(HERD_BINARY) + " run " + config.string() +
                                " " + c.settings + " run.progress=none --out " + out.string() +
                                "\"";
    const int status =
        std::system(("bash -c '" + command + "' >/dev/null 2>" + err.string()).c_str());
    const std::string said = read(err);
    ASSERT_TRUE(WIFEXITED(status)) << said;
    if (std::string(c.name) == "fibres") {
      EXPECT_EQ(WEXITSTATUS(status), 0) << said;
      EXPECT_EQ(summary_field(out, "status"), "ok");
      continue;
    }
    EXPECT_EQ(WEXITSTATUS(status), exit_codes::invalid_input) << c.name << ": " << said;
    if (std::string(c.name) == "refused") {  // before anything is written
      EXPECT_NE(said.find("ulimit -u = 40"), std::string::npos) << said;
      EXPECT_NE(said.find("run.threads"), std::string::npos) << said;
      EXPECT_FALSE(fs::exists(out));
    } else {  // failed while starting: the run's summary records why
      EXPECT_NE(said.find("could not start OS thread"), std::string::npos) << said;
      EXPECT_NE(said.find(" of 40 ("), std::string::npos) << said;
      EXPECT_EQ(summary_field(out, "status"), "failed");
    }
  }
}

// A job the machine cannot hold is refused before it starts, with the numbers and the
// setting to change: 100,000 ranks on threads (a stack each, two memory mappings, past
// vm.max_map_count), and 10^7 simulated processes on a machine with less than ~40 GB available.
TEST(Cli, AJobTheMachineCannotHoldIsRefusedUpFront) {
  const fs::path config = write_config("huge", R"(
[model]
name = "quadratic"
dim = 1
[algo]
name = "asgd"
batch = 1
[stop]
steps = 1000
)");
  const auto started = std::chrono::steady_clock::now();
  const MachineLimits limits = MachineLimits::of_this_machine();
  if (limits.max_map_count < 200000) {  // the usual kernel: two mappings per rank
    const auto [code, err] =
        herd_stderr("run " + config.string() + " algo.workers=100000 run.runtime=threads --out " +
                    fresh_dir("huge_threads").string());
    EXPECT_EQ(code, exit_codes::invalid_input) << err;
    EXPECT_NE(err.find("needs 100001 ranks (100000 workers + 1 parameter server for asgd)"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("run.runtime = \"sim\""), std::string::npos) << err;
  }
  if (physical_memory_bytes() < 40e9) {
    const auto [sim_code, sim_err] =
        herd_stderr("run " + config.string() + " algo.workers=10000000 run.runtime=sim --out " +
                    fresh_dir("huge_sim").string());
    EXPECT_EQ(sim_code, exit_codes::invalid_input) << sim_err;
    EXPECT_NE(sim_err.find("the simulator needs about"), std::string::npos) << sim_err;
    EXPECT_NE(sim_err.find("algo.workers <= about"), std::string::npos) << sim_err;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20 * test::slowdown));
}

TEST(Cli, MessagesNameWhatIsWrong) {
  const fs::path out = fresh_dir("messages");
  const fs::path empty = write_config("empty", "\n  \n");
  auto expect = [&](const std::string& args, int code, const std::vector<std::string>& words) {
    const auto [c, err] = herd_stderr(args);
    EXPECT_EQ(c, code) << args << ": " << err;
    for (const auto& w : words) EXPECT_NE(err.find(w), std::string::npos) << args << ": " << err;
    for (const char ch : err)  // no control bytes echoed from a file
      EXPECT_TRUE(ch == '\n' || static_cast<unsigned char>(ch) >= 0x20) << args << ": " << err;
  };
  expect("run " + empty.string() + " --out " + out.string(), exit_codes::invalid_input, {"empty"});
  expect("frobnicate", exit_codes::invalid_input, {"unknown command 'frobnicate'", "run"});
  // A run without checkpoints cannot be resumed: said, with the setting that makes them.
  const fs::path config = write_config("messages", small_run);
  ASSERT_EQ(herd("run " + config.string() + " run.progress=none --out " + out.string()), 0);
  expect("run --resume " + out.string(), exit_codes::invalid_input,
         {"no checkpoint.bin", "run.checkpoint_every"});
  // Byte-order marks: UTF-8's is skipped, UTF-16 is refused by name; binary bytes are escaped.
  const std::string data = " data.format=libsvm algo.workers=1 algo.batch=1 stop.steps=2 ";
  const fs::path bom = herd::test::temp_dir() / "herd_test_driver_bom.svm";
  std::ofstream(bom) << "\xef\xbb\xbf+1 1:1\n-1 2:1\n";
  EXPECT_EQ(herd("run " + config.string() + data + "data.train=" + bom.string() + " --out " +
                 fresh_dir("bom").string()),
            exit_codes::ok);
  // A test file with more features than the training part: said, and data.features fixes it.
  const fs::path part = herd::test::temp_dir() / "herd_test_driver_part.svm";
  const fs::path wide = herd::test::temp_dir() / "herd_test_driver_wide.svm";
  std::ofstream(part) << "+1 1:1\n-1 2:1\n";
  std::ofstream(wide) << "+1 1:1 5:1\n-1 2:1\n";
  const std::string both = data + "data.train=" + part.string() + " data.test=" + wide.string();
  std::string no_features = small_run;  // data.features unset: the files decide
  no_features.erase(no_features.find("features = 10\n"), std::string("features = 10\n").size());
  const fs::path libsvm = write_config("messages_libsvm", no_features);
  expect("run " + libsvm.string() + both + " --out " + fresh_dir("wide").string(),
         exit_codes::invalid_input, {"data.features"});
  EXPECT_EQ(herd("run " + libsvm.string() + both + " data.features=5 --out " +
                 fresh_dir("wide5").string()),
            exit_codes::ok);
  const fs::path utf16 = herd::test::temp_dir() / "herd_test_driver_utf16.svm";
  std::ofstream(utf16, std::ios::binary) << std::string(
      "\xff\xfe+\x00"
      "1\x00 \x00",
      8);
  expect("run " + config.string() + data + "data.train=" + utf16.string() + " --out " +
             fresh_dir("utf16").string(),
         exit_codes::invalid_input, {"UTF-16"});
  const fs::path binary = herd::test::temp_dir() / "herd_test_driver_binary.svm";
  std::ofstream(binary, std::ios::binary) << std::string("\x01\x1b[2J\x07 1:1\n", 10);
  expect("run " + config.string() + data + "data.train=" + binary.string() + " --out " +
             fresh_dir("binary").string(),
         exit_codes::invalid_input, {"\\x1b"});
}

// The value of "key": "..." in a summary.json.
TEST(Cli, AResumeKeepsTheRunsNameAndRecordsWhatItChanged) {
  const fs::path config = write_config(
      "resume_record", std::string(small_run) + "\n[[compare]]\nlabel = \"Local SGD | H = 4\"\n");
  const fs::path out = fresh_dir("resume_record");
  ASSERT_EQ(herd("run " + config.string() +
                 " --entry 'Local SGD | H = 4' run.progress=none "
                 "run.checkpoint_every=5 --out " +
                 out.string()),
            exit_codes::ok);
  const std::string metrics = read(out / "metrics.jsonl");
  // Behind the checkpoint (step 200): refused, nothing rewritten.
  const auto [code, err] = herd_stderr("run --resume " + out.string() + " stop.steps=100");
  EXPECT_EQ(code, exit_codes::invalid_input) << err;
  EXPECT_NE(err.find("below the checkpoint's step 200"), std::string::npos) << err;
  EXPECT_EQ(read(out / "metrics.jsonl"), metrics);
  EXPECT_FALSE(fs::exists(out / "resumes.jsonl"));

  ASSERT_EQ(herd("run --resume " + out.string() + " stop.steps=300 algo.lr=0.25"), exit_codes::ok);
  EXPECT_EQ(summary_field(out, "label"), "Local SGD | H = 4");
  EXPECT_EQ(lines_of(out / "resumes.jsonl"),
            (std::vector<std::string>{
                "{\"from_step\": 200, \"changes\": {\"algo.lr\": {\"was\": 0.5, \"now\": "
                "0.25}, \"stop.steps\": {\"was\": 200, \"now\": 300}}}"}));
}

TEST(Cli, SettingsThatDoNothingAreSaid) {
  const fs::path config = write_config(
      "no_effect", std::string(small_run) +
                       "\n[[compare]]\nlabel = \"a\"\n[compare.algo]\nname = \"local_sgd\"\n"
                       "\n[[compare]]\nlabel = \"b\"\n[compare.algo]\nname = \"lsgd\"\nlr = 0.1\n");
  const std::string run = "run " + config.string() + " run.progress=none stop.steps=20 ";
  // Only other algorithms read it; the network is the simulator's: warnings naming why.
  auto [code, err] = herd_stderr(run + "algo.elastic_alpha=0.5 cluster.latency=0.01 --out " +
                                 fresh_dir("no_effect").string());
  EXPECT_EQ(code, exit_codes::ok) << err;
  EXPECT_NE(
      err.find("algo.elastic_alpha has no effect: algo.name = \"local_sgd\" does not read it"),
      std::string::npos)
      << err;
  EXPECT_NE(err.find("cluster.latency has no effect"), std::string::npos) << err;
  // An override of a key that some entries set: said; that every entry sets: refused.
  std::tie(code, err) = herd_stderr(run + "algo.lr=0.2 --out " + fresh_dir("some").string());
  EXPECT_EQ(code, exit_codes::ok) << err;
  EXPECT_NE(err.find("algo.lr=0.2 does not apply to \"b\""), std::string::npos) << err;
  const fs::path refused = fresh_dir("every");
  std::tie(code, err) = herd_stderr(run + "algo.name=easgd --out " + refused.string());
  EXPECT_EQ(code, exit_codes::invalid_input) << err;
  EXPECT_NE(err.find("every [[compare]] entry sets algo.name"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(refused));
}

// A full disk: the run stops with the first failed write named, and what it leaves is whole
// (every row of metrics.jsonl complete, no temporary file). Needs a small tmpfs (root).
TEST(Cli, AFullDiskStopsTheRunAndLeavesWholeFiles) {
  const fs::path disk = fresh_dir("full_disk");
  fs::create_directories(disk);
  if (std::system(("mount -t tmpfs -o size=48k tmpfs " + disk.string() + " 2>/dev/null").c_str()) !=
      0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): the full-disk case is untested";
  const fs::path config = write_config("full_disk", small_run);
  const auto [code, err] = herd_stderr("run " + config.string() +
                                       " run.progress=none eval.every=1 stop.steps=5000 --out " +
                                       (disk / "run").string());
  const auto rows = lines_of(disk / "run" / "metrics.jsonl");
  std::vector<std::string> leftovers;
  for (const auto& entry : fs::directory_iterator(disk / "run"))
    leftovers.push_back(entry.path().filename());
  std::system(("umount " + disk.string()).c_str());
  EXPECT_EQ(code, exit_codes::io) << err;
  EXPECT_NE(err.find("metrics.jsonl: cannot append a metrics row: No space left on device"),
            std::string::npos)
      << err;
  ASSERT_GT(rows.size(), 10u);
  for (const auto& row : rows) EXPECT_EQ(row.back(), '}') << "a half row: " << row;
  for (const auto& name : leftovers) EXPECT_FALSE(name.ends_with(".tmp")) << name;
}

TEST(Cli, ProgressLinesEndWithTheLastRowHoweverTheRunStops) {
  const fs::path config = write_config("progress", small_run);
  const fs::path out = fresh_dir("progress");
  // Stopped by a target at an evaluation that is not the last step: its row is the last line.
  const auto [code, err] = herd_stderr("run " + config.string() +
                                       " run.progress=lines stop.steps=100000 eval.every=10 "
                                       "'stop.target=suboptimality<=0.02' --out " +
                                       out.string());
  ASSERT_EQ(code, exit_codes::ok) << err;
  const std::string last_step = lines_of(out / "metrics.jsonl").back();
  const std::string step = last_step.substr(last_step.find("\"step\": ") + 8);
  const std::string shown = fmt::format("step {:>7}", std::stoll(step));
  EXPECT_NE(err.find(shown), std::string::npos) << shown << " missing from:\n" << err;
}

// The malformed IDX files are the catalogue's (tests/catalogue/cases.toml); here a well-formed
// pair trains, and data.split takes its test rows.
TEST(Cli, IdxFilesTrainAndSplit) {
  const fs::path config = write_config("idx", small_run);
  const fs::path images = herd::test::temp_dir() / "herd_test_driver_images.idx";
  const fs::path labels = herd::test::temp_dir() / "herd_test_driver_labels.idx";
  const std::string idx = "data.format=idx data.train=" + images.string() +
                          " data.train_labels=" + labels.string() +
                          " model.name=softmax algo.workers=2 algo.batch=2 ";
  // data.split = 6 leaves 2 test rows.
  write_idx(images, labels, 0x00000803, 8, 8, 32);
  const fs::path out = fresh_dir("idx_ok");
  EXPECT_EQ(herd("run " + config.string() + " --out " + out.string() + " " + idx +
                 "data.split=6 stop.steps=10 eval.every=5 run.progress=none"),
            exit_codes::ok);
  EXPECT_NE(read(out / "metrics.jsonl").find("\"test_acc\""), std::string::npos);
}

// metrics.jsonl without the wall-clock times (the rest is a function of the parameters).
// A run killed with SIGKILL after its first checkpoints and resumed with `herd run --resume`
// ends with the parameters of an uninterrupted run, bit for bit, and metrics.jsonl holds
// each evaluation exactly once. Synchronous Local SGD; on threads the compute times are
// emulated (slept) so that the run lasts long enough to be killed midway.
// A run stopped by SIGKILL (nothing it can do), SIGINT or SIGTERM (it stops at its next
// evaluation, writes its checkpoint and an "interrupted" summary, and exits 128 + signal)
// resumes to the uninterrupted run's parameters, each evaluation recorded once.
class KillAndResume
    : public ::testing::TestWithParam<std::tuple<test::RuntimeKind, int /* signal */>> {};

TEST_P(KillAndResume, ParametersEqualAnUninterruptedRunAndRowsAppearOnce) {
  const std::string runtime = test::runtime_name(std::get<0>(GetParam()));
  const int signal = std::get<1>(GetParam());
  const std::string name = runtime + "_" + std::to_string(signal);
  const fs::path config = write_config("kill_" + name, small_run);
  std::vector<std::string> settings = {
      "run.progress=none",          "run.runtime=" + runtime,
      "run.checkpoint_every=5",     "eval.every=10",
      "optim.name=nesterov",        "data.sampling=shuffled_epochs",
      "cluster.compute_times=0.002"};
  // Long enough to be killed midway: threads sleep 2 ms per gradient (600 steps >= 1.2 s);
  // the simulator's time is virtual, so its run evaluates a larger data set for longer.
  const std::size_t rows = runtime == "threads" ? 61 : 201;
  if (runtime == "threads")
    settings.insert(settings.end(), {"cluster.emulate=true", "stop.steps=600"});
  else
    settings.insert(settings.end(),
                    {"cluster.latency=0.001", "stop.steps=2000", "data.rows=30000"});
  auto args = [&](const fs::path& out) {
    std::vector<std::string> a{"run", config.string(), "--out", out.string()};
    a.insert(a.end(), settings.begin(), settings.end());
    return a;
  };

  const fs::path whole = fresh_dir("whole_" + name), killed = fresh_dir("killed_" + name);
  int status = 0;
  waitpid(spawn_herd(args(whole)), &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == exit_codes::ok);

  const pid_t pid = spawn_herd(args(killed));
  // Kill it once a few checkpoints have been written (at least 15 evaluations recorded).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (
      std::chrono::steady_clock::now() < deadline &&
      !(fs::exists(killed / "checkpoint.bin") && lines_of(killed / "metrics.jsonl").size() >= 15))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  kill(pid, signal);
  waitpid(pid, &status, 0);
  if (signal == SIGKILL) {
    ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it could be killed";
    EXPECT_FALSE(fs::exists(killed / "summary.json"));
  } else {
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << signal << " ended the process";
    ASSERT_EQ(WEXITSTATUS(status), 128 + signal);
    EXPECT_NE(read(killed / "summary.json").find("\"status\": \"interrupted\""), std::string::npos);
  }
  EXPECT_LT(lines_of(killed / "metrics.jsonl").size(), rows);

  EXPECT_EQ(herd("run --resume " + killed.string()), exit_codes::ok);
  const std::string crc = summary_field(whole, "parameters_crc32");
  EXPECT_EQ(crc.size(), 8u);
  EXPECT_EQ(summary_field(killed, "parameters_crc32"), crc);
  EXPECT_EQ(rows_without_time(killed), rows_without_time(whole));  // each evaluation once
  EXPECT_EQ(lines_of(killed / "metrics.jsonl").size(), rows);
  if (runtime == "sim") {  // virtual times too
    EXPECT_EQ(read(killed / "metrics.jsonl"), read(whole / "metrics.jsonl"));
  }

  // A damaged checkpoint is an I/O error naming it, and nothing is rewritten.
  const std::string metrics_before = read(killed / "metrics.jsonl");
  std::ofstream(killed / "checkpoint.bin", std::ios::binary | std::ios::trunc) << "junk";
  const auto [code, err] = herd_stderr("run --resume " + killed.string());
  EXPECT_EQ(code, exit_codes::io) << err;
  EXPECT_NE(err.find("checkpoint.bin"), std::string::npos) << err;
  EXPECT_EQ(read(killed / "metrics.jsonl"), metrics_before);
}

INSTANTIATE_TEST_SUITE_P(RuntimesAndSignals, KillAndResume,
                         ::testing::Combine(::testing::ValuesIn(test::every_runtime),
                                            ::testing::Values(SIGKILL, SIGINT, SIGTERM)),
                         [](const auto& param_info) {
                           const int signal = std::get<1>(param_info.param);
                           return test::runtime_name(std::get<0>(param_info.param)) + "_" +
                                  (signal == SIGKILL  ? "SIGKILL"
                                   : signal == SIGINT ? "SIGINT"
                                                      : "SIGTERM");
                         });

TEST(Cli, ASecondSignalEndsTheRunAtOnce) {
  const fs::path config = write_config("twice", small_run);
  const fs::path out = fresh_dir("twice");
  const pid_t pid = spawn_herd({"run", config.string(), "--out", out.string(), "run.progress=none",
                                "cluster.compute_times=0.01", "cluster.emulate=true",
                                "stop.steps=100000", "eval.every=100000"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (lines_of(out / "metrics.jsonl").empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  // The first asks for a stop at the next evaluation (100,000 steps away, hours of emulated
  // compute); a second ends the run. Ctrl-C is pressed every 100 ms until the process ends:
  // signals that arrive before the first is handled merge into it (the kernel keeps one
  // pending SIGINT; ThreadSanitizer delivers its deferred signals once), so the test counts
  // the presses and asks for the end within seconds of the first.
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20 * test::slowdown);
  int presses = 0, status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > limit) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL() << presses << " SIGINTs did not end the run";
    }
    kill(pid, SIGINT);
    ++presses;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(presses, 2);  // the first alone only asks for a stop
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGINT);
  EXPECT_EQ(lines_of(out / "metrics.jsonl").size(), 1u);  // the evaluation at step 0, whole
}

// herd under mpirun: one process per rank, only rank 0 writes.
std::string mpiexec(int np) {
  return std::string(HERD_MPIEXEC) + " --allow-run-as-root --oversubscribe -np " +
         std::to_string(np) + " " + HERD_BINARY + " ";
}
int mpi_herd(int np, const std::string& args) {
  const int status = std::system((mpiexec(np) + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(MpiCli, SynchronousRunsEqualThreadsAndTheServerNeedsItsOwnRank) {
  const fs::path config = write_config("mpi", small_run);
  const std::string base = config.string() + " run.progress=none ";
  const fs::path threads = fresh_dir("mpi_ref"), mpi = fresh_dir("mpi_run");
  for (const char* algorithm : {"local_sgd", "lsgd"}) {
    const std::string run = base + "algo.name=" + algorithm + " --force --out ";
    ASSERT_EQ(herd("run " + run + threads.string()), exit_codes::ok);
    ASSERT_EQ(mpi_herd(4, "run " + run + mpi.string()), exit_codes::ok) << algorithm;
    // The ordered reduction makes the trajectories equal bit for bit.
    EXPECT_EQ(summary_field(mpi, "parameters_crc32"), summary_field(threads, "parameters_crc32"))
        << algorithm;
    EXPECT_EQ(rows_without_time(mpi), rows_without_time(threads)) << algorithm;
    EXPECT_EQ(summary_field(mpi, "runtime"), "mpi");
  }
  // Only rank 0 wrote: the run directory holds one set of outputs.
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(mpi)) files.push_back(entry.path().filename());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{".herd.lock", "config.toml", "metrics.jsonl",
                                             "summary.json"}));

  // asgd with 4 workers needs 5 processes: said clearly, with the bad-input exit code.
  const fs::path refused = fresh_dir("mpi_refused");
  const auto [code, err] = [&] {
    const fs::path err_file = herd::test::temp_dir() / "herd_test_driver_mpi_err.txt";
    const int status = std::system((mpiexec(4) + "run " + base + "algo.name=asgd --out " +
                                    refused.string() + " >/dev/null 2>" + err_file.string())
                                       .c_str());
    return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(err_file)};
  }();
  EXPECT_EQ(code, exit_codes::invalid_input) << err;
  EXPECT_NE(err.find("needs 5 ranks (4 workers + 1 parameter server for asgd)"), std::string::npos)
      << err;
  EXPECT_FALSE(fs::exists(refused));
  EXPECT_EQ(mpi_herd(5, "run " + base + "algo.name=asgd stop.steps=100 --out " + refused.string()),
            exit_codes::ok);
}

// The pids of the processes whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(pid_t(std::stoi(name)));
  }
  return out;
}

TEST(MpiCli, AKilledRankEndsTheJobAndTheRunResumesBitForBit) {
  const fs::path config = write_config("mpi_kill", small_run);
  const std::vector<std::string> settings = {
      config.string(),          "run.progress=none",
      "run.checkpoint_every=5", "eval.every=10",
      "stop.steps=600",         "optim.name=nesterov",
      "cluster.emulate=true",   "cluster.compute_times=0.002"};
  const fs::path whole = fresh_dir("mpi_whole"), killed = fresh_dir("mpi_killed");
  auto command = [&](const fs::path& out) {
    std::string c = "run";
    for (const auto& s : settings) c += " " + s;
    return c + " --out " + out.string();
  };
  ASSERT_EQ(mpi_herd(4, command(whole)), exit_codes::ok);
  // cluster.emulate sleeps 2 ms per gradient on mpi too: 600 steps take at least 1.2 s.
  const std::string last = lines_of(whole / "metrics.jsonl").back();
  EXPECT_GE(std::stod(last.substr(last.find(':') + 1)), 1.2) << last;

  const pid_t launcher = fork();
  if (launcher == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execl("/bin/sh", "sh", "-c", ("exec " + mpiexec(4) + command(killed)).c_str(), nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (
      std::chrono::steady_clock::now() < deadline &&
      !(fs::exists(killed / "checkpoint.bin") && lines_of(killed / "metrics.jsonl").size() >= 15))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  // SIGKILL one rank (the last process mpiexec started); mpiexec must end the whole job.
  auto ranks = children_of(launcher);
  ASSERT_FALSE(ranks.empty());
  std::sort(ranks.begin(), ranks.end());
  const auto killed_at = std::chrono::steady_clock::now();
  kill(ranks.back(), SIGKILL);
  int status = 0;
  waitpid(launcher, &status, 0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_LT(seconds, 30.0);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_FALSE(fs::exists(killed / "summary.json"));
  for (const auto& row : lines_of(killed / "metrics.jsonl"))  // every line complete
    EXPECT_EQ(row.back(), '}');

  EXPECT_EQ(mpi_herd(4, "run --resume " + killed.string()), exit_codes::ok);
  EXPECT_EQ(summary_field(killed, "parameters_crc32"), summary_field(whole, "parameters_crc32"));
  EXPECT_EQ(rows_without_time(killed), rows_without_time(whole));
  EXPECT_EQ(lines_of(killed / "metrics.jsonl").size(), 61u);
}

}  // namespace
}  // namespace herd::run
