// The run driver and the herd command end to end: outputs, refusals that write nothing,
// divergence that keeps what was written, and the exit code of each kind of failure.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "herd/core/error.hpp"
#include "herd/run/driver.hpp"

namespace herd::run {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("herd_test_driver_" + name);
  fs::remove_all(dir);
  return dir;
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string read(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
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

// The herd binary: exit codes by kind of failure.
int herd(const std::string& args) {
  const int status =
      std::system((std::string(HERD_BINARY) + " " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

fs::path write_config(const std::string& name, const std::string& text) {
  const fs::path file = fs::temp_directory_path() / ("herd_test_driver_" + name + ".toml");
  std::ofstream(file) << text;
  return file;
}

TEST(Cli, ExitCodesAndNothingWrittenOnRefusal) {
  const fs::path config = write_config("cli", small_run);
  const fs::path out = fresh_dir("cli_out");
  const std::string base = config.string() + " run.progress=none --out " + out.string();
  EXPECT_EQ(herd("run " + base), exit_codes::ok);
  EXPECT_TRUE(fs::exists(out / "summary.json"));

  const fs::path refused = fresh_dir("cli_refused");
  const std::string r = config.string() + " --out " + refused.string() + " ";
  for (const char* bad :
       {"algo.workers=0", "algo.period=0", "algo.lr=-1", "algo.batch=501", "algo.nonsense=1",
        "algo.workers=two", "algo.name=sgd", "data.format=libsvm data.train=/nonexistent/a9a"}) {
    EXPECT_EQ(herd("run " + r + bad), exit_codes::invalid_input) << bad;
    EXPECT_FALSE(fs::exists(refused)) << bad << " wrote " << refused;
  }
  // The modelled cluster.
  for (const char* bad : {"cluster.compute_times=1,2,3",      // 3 times for 4 workers
                          "cluster.compute_times=1,2,-3,4",   // not positive
                          "cluster.compute_times=quadratic",  // unknown formula
                          "cluster.noise_scale=1,2",          // wrong length
                          "cluster.fault_rank=4",             // workers are 0..3
                          "run.runtime=mpi",                  // not a runtime of this build
                          "algo.name=rescaled_asgd"}) {       // known tau, none given
    EXPECT_EQ(herd("run " + r + bad), exit_codes::invalid_input) << bad;
    EXPECT_FALSE(fs::exists(refused)) << bad << " wrote " << refused;
  }
  // A malformed data file: index 0 on line 2.
  const fs::path bad_data = fs::temp_directory_path() / "herd_test_driver_bad.svm";
  std::ofstream(bad_data) << "+1 1:0.5 3:1\n-1 0:1\n";
  EXPECT_EQ(herd("run " + r + "data.format=libsvm data.train=" + bad_data.string()),
            exit_codes::invalid_input);
  EXPECT_FALSE(fs::exists(refused));
  EXPECT_EQ(herd("run /nonexistent.toml"), exit_codes::invalid_input);
  EXPECT_EQ(herd("frobnicate"), exit_codes::invalid_input);
  EXPECT_EQ(herd("run " + r + "data.synthetic_kind=linear model.name=least_squares algo.lr=1e6"),
            exit_codes::diverged);
  EXPECT_TRUE(fs::exists(refused / "metrics.jsonl"));
}

// stderr and exit code of a herd command.
std::pair<int, std::string> herd_stderr(const std::string& args) {
  const fs::path err = fs::temp_directory_path() / "herd_test_driver_stderr.txt";
  const int status = std::system(
      (std::string(HERD_BINARY) + " " + args + " >/dev/null 2>" + err.string()).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(err)};
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

TEST(Cli, LeaderElasticAndIdxInputsAreCheckedBeforeAnythingIsWritten) {
  const fs::path config = write_config("leader", small_run);
  const fs::path refused = fresh_dir("leader_refused");
  const std::string r = "run " + config.string() + " --out " + refused.string() + " ";
  struct Case {
    const char* args;
    const char* names;  // what the message must name
  };
  for (const Case& c : {
           Case{"algo.name=lsgd algo.pull=1", "algo.pull"},
           Case{"algo.name=lsgd algo.pull=-0.1", "algo.pull"},
           Case{"algo.name=lsgd algo.group_size=2 algo.global_pull=1.5", "algo.global_pull"},
           Case{"algo.name=easgd algo.elastic_alpha=1", "algo.elastic_alpha"},
           Case{"algo.name=lsgd algo.group_size=3", "does not divide algo.workers = 4"},
           Case{"algo.name=lsgd algo.group_size=2 algo.period=4 algo.global_period=6",
                "must be a multiple of algo.period"},
           Case{"algo.name=eamsgd optim.name=sgd", "Nesterov"},
           Case{"model.name=double_well model.mirror_starts=true algo.workers=3", "even"},
       }) {
    const auto [code, err] = herd_stderr(r + c.args);
    EXPECT_EQ(code, exit_codes::invalid_input) << c.args << ": " << err;
    EXPECT_NE(err.find(c.names), std::string::npos) << c.args << ": " << err;
    EXPECT_FALSE(fs::exists(refused)) << c.args;
  }

  // Corrupt IDX files: each is refused with the bad-input code and a message naming the file.
  const fs::path images = fs::temp_directory_path() / "herd_test_driver_images.idx";
  const fs::path labels = fs::temp_directory_path() / "herd_test_driver_labels.idx";
  const std::string idx = "data.format=idx data.train=" + images.string() +
                          " data.train_labels=" + labels.string() +
                          " model.name=softmax algo.workers=2 algo.batch=2 ";
  struct Corruption {
    const char* what;
    std::uint32_t magic, n, m;
    std::size_t pixels;
  };
  for (const Corruption& bad : {Corruption{"bad magic", 0x00000802, 8, 8, 32},
                                Corruption{"label count differs", 0x00000803, 8, 7, 32},
                                Corruption{"truncated pixels", 0x00000803, 8, 8, 30}}) {
    write_idx(images, labels, bad.magic, bad.n, bad.m, bad.pixels);
    const auto [code, err] = herd_stderr(r + idx);
    EXPECT_EQ(code, exit_codes::invalid_input) << bad.what << ": " << err;
    EXPECT_TRUE(err.find(images.string()) != std::string::npos ||
                err.find(labels.string()) != std::string::npos)
        << bad.what << ": " << err;
    EXPECT_FALSE(fs::exists(refused)) << bad.what;
  }
  // The same files, well formed, train; data.split = 6 leaves 2 test rows.
  write_idx(images, labels, 0x00000803, 8, 8, 32);
  const fs::path out = fresh_dir("idx_ok");
  EXPECT_EQ(herd("run " + config.string() + " --out " + out.string() + " " + idx +
                 "data.split=6 stop.steps=10 eval.every=5 run.progress=none"),
            exit_codes::ok);
  EXPECT_NE(read(out / "metrics.jsonl").find("\"test_acc\""), std::string::npos);
  EXPECT_EQ(herd_stderr(r + idx + "data.split=8").first, exit_codes::invalid_input);
}

}  // namespace
}  // namespace herd::run
