// Studies: `herd sweep` (product, zip, seeds, resumable, killed and resumed), `herd tune`
// (the argmin of a closed form), comparisons that go on past a diverged entry, `herd table`.
// Their refusals of bad arguments are the catalogue's (tests/catalogue/cases.toml).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "herd/core/error.hpp"
#include "herd/core/text.hpp"
#include "herd/model/factory.hpp"
#include "herd/study/sweep.hpp"
#include "herd/study/tune.hpp"
#include "support/cli_files.hpp"

namespace herd::study {
namespace {

namespace fs = std::filesystem;
using test::herd;
using test::herd_stderr;
using test::lines_of;
using test::read;

fs::path fresh_dir(const std::string& name) {
  return test::fresh_dir("herd_test_studies", name);
}

fs::path write_config(const std::string& name, const std::string& text) {
  const fs::path file = herd::test::temp_dir() / ("herd_test_studies_" + name + ".toml");
  std::ofstream(file) << text;
  return file;
}

// Starts argv_text[0] with those arguments in a child process, stdout discarded and stderr
// to `err` when given; returns the child's pid (-1 when fork failed).
pid_t spawn(const std::vector<std::string>& argv_text, const fs::path& err = {}) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  std::vector<char*> argv;
  for (const auto& a : argv_text) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  freopen("/dev/null", "w", stdout);
  if (!err.empty()) freopen(err.c_str(), "w", stderr);
  execv(argv[0], argv.data());
  _exit(127);
}

// sweep.csv as rows of cells, by column name.
std::vector<std::map<std::string, std::string>> read_csv(const fs::path& file) {
  const auto lines = lines_of(file);
  std::vector<std::map<std::string, std::string>> rows;
  auto split = [](const std::string& line) {
    std::vector<std::string> cells{""};
    bool quoted = false;
    for (const char c : line) {
      if (c == '"')
        quoted = !quoted;
      else if (c == ',' && !quoted)
        cells.emplace_back();
      else
        cells.back() += c;
    }
    return cells;
  };
  const auto header = split(lines.at(0));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto cells = split(lines[i]);
    std::map<std::string, std::string> row;
    for (std::size_t c = 0; c < header.size(); ++c)
      row[header[c]] = c < cells.size() ? cells[c] : "";
    rows.push_back(row);
  }
  return rows;
}

TEST(Sweep, ExpandCrossesOrZipsTheListsUnderEntriesAndSeeds) {
  const std::vector<Axis> axes{{"algo.workers", {"1", "2", "4"}}, {"algo.lr", {"0.1", "0.2"}}};
  const auto product = expand({}, axes, false, {1, 2});
  ASSERT_EQ(product.size(), 12u);  // 3 x 2 x 2 seeds
  EXPECT_EQ(product[0].name, "algo.workers=1__algo.lr=0.1__seed=1");
  EXPECT_EQ(product[1].name, "algo.workers=1__algo.lr=0.1__seed=2");  // the seed varies fastest
  EXPECT_EQ(product[2].name, "algo.workers=1__algo.lr=0.2__seed=1");
  EXPECT_EQ(product.back().assignments(),
            (std::vector<std::string>{"algo.workers=4", "algo.lr=0.2", "run.seed=2"}));

  const std::vector<Axis> paired{{"algo.workers", {"1", "2", "4"}},
                                 {"algo.batch", {"64", "32", "16"}}};
  const auto zip = expand({"A", "B c"}, paired, true, {});
  ASSERT_EQ(zip.size(), 6u);  // 2 entries x 3 pairs
  EXPECT_EQ(zip[1].entry, "A");
  EXPECT_EQ(zip[1].assignments(), (std::vector<std::string>{"algo.workers=2", "algo.batch=32"}));
  EXPECT_EQ(zip[3].name, "b_c__algo.workers=1__algo.batch=64");
  EXPECT_FALSE(zip[3].seed);

  EXPECT_THROW(expand({}, {{"algo.workers", {"1", "2"}}, {"algo.batch", {"8"}}}, true, {}),
               InvalidInput);
  EXPECT_THROW(expand({}, {{"algo.lr", {"0.1", "0.1"}}}, false, {}), InvalidInput);
  EXPECT_EQ(expand({}, {}, false, {}).size(), 1u);  // no lists: the configuration once
}

TEST(Sweep, AnAxisIsCheckedAgainstItsOption) {
  EXPECT_EQ(parse_axis("algo.workers=1, 2,16").values, (std::vector<std::string>{"1", "2", "16"}));
  const std::pair<const char*, const char*> bad[] = {
      {"algo.workers", "KEY=VALUE"},      {"algo.nope=1,2", "unknown key algo.nope"},
      {"algo.workers=", "empty"},         {"algo.workers=1,,2", "value 2 of the list is empty"},
      {"algo.workers=1,x", "an integer"}, {"algo.workers=0,1", ">= 1"}};
  for (const auto& [argument, words] : bad) {
    try {
      parse_axis(argument);
      ADD_FAILURE() << argument;
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(argument), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  }
}

TEST(Tune, GridsAreLogOrLinearWithTheirBoundsIncluded) {
  const Axis log = parse_grid("algo.lr=log:1e-3:10:5");
  EXPECT_EQ(log.values, (std::vector<std::string>{"0.001", "0.01", "0.1", "1", "10"}));
  EXPECT_EQ(parse_grid("algo.lr=lin:0.5:2:4").values,
            (std::vector<std::string>{"0.5", "1", "1.5", "2"}));
  EXPECT_EQ(parse_grid("algo.lr=0.1,0.2").values.size(), 2u);
  for (const char* bad :
       {"algo.lr=log:0:1:5", "algo.lr=log:-1:1:5", "algo.lr=log:1:0.1:5", "algo.lr=log:1e-3:10:1",
        "algo.lr=log:1e-3:10", "algo.lr=lin:a:1:3", "algo.nope=log:1:2:3"})
    EXPECT_THROW(parse_grid(bad), InvalidInput) << bad;
  EXPECT_EQ(parse_criterion("final:test_acc").maximise, true);
  EXPECT_THROW(parse_criterion("fastest"), InvalidInput);
  EXPECT_THROW(parse_criterion("final:accuracy"), InvalidInput);
}

// A simulated 1-D-per-coordinate problem that runs in milliseconds.
const char* quadratic_sim = R"(
[model]
name = "quadratic"
dim = 2
mu = 1.0
smoothness = 10.0
noise = 0.0
[algo]
name = "minibatch_sgd"
workers = 1
lr = 0.05
[stop]
steps = 20
[eval]
every = 5
target = "suboptimality<=1e-2"
[run]
runtime = "sim"
)";

TEST(Cli, ASweepWritesOneRowPerRunAndRunAgainRunsNothing) {
  const fs::path config = write_config("sweep", quadratic_sim);
  const fs::path out = fresh_dir("sweep");
  const std::string args =
      "sweep " + config.string() +
      " algo.workers=1,2 algo.lr=0.05,0.1 stop.steps=200 --seeds 2 --speedup algo.workers"
      " --out " +
      out.string();
  ASSERT_EQ(herd(args), exit_codes::ok);
  const auto rows = read_csv(out / "sweep.csv");
  ASSERT_EQ(rows.size(), 8u);
  for (const char* column : {"algo.workers", "algo.lr", "seed", "status", "train_loss",
                             "suboptimality", "steps_to_target", "grads_to_target",
                             "rounds_to_target", "bytes_to_target", "time_to_target", "speedup"})
    EXPECT_TRUE(rows[0].count(column)) << column;
  // speedup = steps_to_target of the same seed and step size at K = 1 over this run's.
  for (const auto& r : rows) {
    EXPECT_EQ(r.at("status"), "ok");
    ASSERT_FALSE(r.at("steps_to_target").empty()) << r.at("dir");
    for (const auto& base : rows) {
      if (base.at("algo.workers") != "1" || base.at("seed") != r.at("seed") ||
          base.at("algo.lr") != r.at("algo.lr"))
        continue;
      EXPECT_DOUBLE_EQ(std::stod(r.at("speedup")),
                       std::stod(base.at("steps_to_target")) / std::stod(r.at("steps_to_target")))
          << r.at("dir");
    }
    if (r.at("algo.workers") == "1") {
      EXPECT_EQ(r.at("speedup"), "1");
    }
  }
  EXPECT_NE(read(out / "sweep.md").find("| algo.workers | algo.lr | runs |"), std::string::npos);
  std::map<std::string, fs::file_time_type> written;
  for (const auto& r : rows)
    written[r.at("dir")] = fs::last_write_time(out / r.at("dir") / "summary.json");

  const auto [code, err] = herd_stderr(args);
  EXPECT_EQ(code, exit_codes::ok) << err;
  for (const auto& [dir, time] : written)
    EXPECT_EQ(fs::last_write_time(out / dir / "summary.json"), time) << dir << " ran again";
  EXPECT_EQ(read_csv(out / "sweep.csv"), rows);
  // herd table rebuilds the same tables from the runs' files.
  const std::string md = read(out / "sweep.md");
  fs::remove(out / "sweep.csv");
  fs::remove(out / "sweep.md");
  ASSERT_EQ(herd("table " + out.string()), exit_codes::ok);
  EXPECT_EQ(read_csv(out / "sweep.csv"), rows);
  EXPECT_EQ(read(out / "sweep.md"), md);
  // Another sweep into the same directory is refused.
  EXPECT_EQ(herd("sweep " + config.string() + " algo.workers=1,4 --out " + out.string()),
            exit_codes::invalid_input);
}

TEST(Cli, AKilledSweepLosesNoFinishedRunAndFinishesEachRunOnce) {
  // Runs of a noticeable length, one at a time, so that the kill lands mid-sweep.
  const fs::path config =
      write_config("killed", std::string(quadratic_sim) + "[cluster]\ncompute_times = \"1\"\n");
  const fs::path out = fresh_dir("killed");
  const std::string runs = "algo.lr=0.01,0.02,0.03,0.04,0.05,0.06";
  const std::vector<std::string> argv_text{
      HERD_BINARY, "sweep", config.string(), runs,        "stop.steps=150000", "eval.every=50000",
      "--jobs",    "1",     "--out",         out.string()};
  const pid_t pid = spawn(argv_text);
  ASSERT_GE(pid, 0);
  auto finished = [&] {
    std::size_t n = 0;
    if (fs::exists(out / "runs"))
      for (const auto& d : fs::directory_iterator(out / "runs"))
        n += fs::exists(d.path() / "summary.json");
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (finished() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  const std::size_t before = finished();
  ASSERT_GE(before, 2u);
  ASSERT_LT(before, 6u) << "the sweep ended before it was killed; make its runs longer";
  std::map<fs::path, fs::file_time_type> kept;
  for (const auto& d : fs::directory_iterator(out / "runs"))
    if (fs::exists(d.path() / "summary.json"))
      kept[d.path()] = fs::last_write_time(d.path() / "summary.json");
  // The run in progress died with the sweep: nothing finishes behind its back.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(finished(), before);

  std::string again;
  for (std::size_t i = 2; i < argv_text.size(); ++i) again += " " + argv_text[i];
  ASSERT_EQ(herd("sweep" + again), exit_codes::ok);
  EXPECT_EQ(finished(), 6u);
  for (const auto& [dir, time] : kept) EXPECT_EQ(fs::last_write_time(dir / "summary.json"), time);
  for (const auto& r : read_csv(out / "sweep.csv")) {
    EXPECT_EQ(r.at("status"), "ok");
    // Each evaluation once: steps 0, 50000, 100000, 150000.
    EXPECT_EQ(lines_of(out / r.at("dir") / "metrics.jsonl").size(), 4u) << r.at("dir");
  }
}

// A long sweep or study outlives a rebuild: the herd that started it is replaced or removed
// on disk while its runs are still to start. They run, with the binary that started them.
TEST(Cli, ASweepWhoseBinaryIsRemovedOnDiskRunsEveryRun) {
  const fs::path config =
      write_config("unlinked", std::string(quadratic_sim) + "[cluster]\ncompute_times = \"1\"\n");
  const fs::path out = fresh_dir("unlinked");
  const fs::path copy = fresh_dir("unlinked_herd");
  fs::copy_file(HERD_BINARY, copy);
  const std::vector<std::string> argv_text{copy.string(),
                                           "sweep",
                                           config.string(),
                                           "algo.lr=0.01,0.02,0.03",
                                           "stop.steps=20000",
                                           "eval.every=10000",
                                           "--jobs",
                                           "1",
                                           "--out",
                                           out.string()};
  const pid_t pid = spawn(argv_text);
  ASSERT_GE(pid, 0);
  // Removed as soon as the sweep runs it, before the sweep can have finished its first run.
  const fs::path exe = "/proc/" + std::to_string(pid) + "/exe";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::error_code ec;
  while (fs::read_symlink(exe, ec) != copy && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  fs::remove(copy);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), exit_codes::ok);
  const auto rows = read_csv(out / "sweep.csv");
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& r : rows) EXPECT_EQ(r.at("status"), "ok") << r.at("dir");
}

// Ctrl-C, or a signal to the sweep's process alone: the sweep passes it on to the run in
// progress, which stops at its next evaluation and records "interrupted"; no other run
// starts, and the sweep ends with 130. The same command then runs what did not finish.
TEST(Cli, AnInterruptedSweepKeepsWhatFinishedAndTheSameCommandContinues) {
  const fs::path config = write_config(
      "interrupted", std::string(quadratic_sim) + "[cluster]\ncompute_times = \"1\"\n");
  const fs::path out = fresh_dir("interrupted");
  const fs::path err = fresh_dir("interrupted_err.txt");
  const std::vector<std::string> argv_text{HERD_BINARY,
                                           "sweep",
                                           config.string(),
                                           "algo.lr=0.01,0.02,0.03,0.04,0.05,0.06",
                                           "stop.steps=1500000",
                                           "eval.every=50000",
                                           "--jobs",
                                           "1",
                                           "--out",
                                           out.string()};
  const pid_t pid = spawn(argv_text, err);
  ASSERT_GE(pid, 0);
  auto with_status = [&](const std::string& status) {
    std::size_t n = 0;
    if (fs::exists(out / "runs"))
      for (const auto& d : fs::directory_iterator(out / "runs"))
        n += fs::is_directory(d.path()) && test::summary_field(d.path(), "status") == status;
    return n;
  };
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60 * test::slowdown);
  // A run that wrote its first evaluation has its handlers installed (one killed before
  // that would start again all the same, but it could not say "interrupted").
  auto one_in_progress = [&] {
    if (fs::exists(out / "runs"))
      for (const auto& d : fs::directory_iterator(out / "runs"))
        if (fs::is_directory(d.path()) && !fs::exists(d.path() / "summary.json") &&
            !lines_of(d.path() / "metrics.jsonl").empty())
          return true;
    return false;
  };
  while ((with_status("ok") < 2 || !one_in_progress()) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << read(err);
  EXPECT_EQ(WEXITSTATUS(status), 130) << read(err);
  EXPECT_NE(read(err).find("the same command continues"), std::string::npos) << read(err);
  const std::size_t before = with_status("ok");
  ASSERT_GE(before, 2u);
  ASSERT_LT(before, 6u) << "the sweep ended before it was interrupted; make its runs longer";
  EXPECT_EQ(with_status("interrupted"), 1u);    // the run in progress stopped and said so
  EXPECT_FALSE(fs::exists(out / "sweep.csv"));  // no table of a sweep half done
  std::map<fs::path, fs::file_time_type> kept;
  for (const auto& d : fs::directory_iterator(out / "runs"))
    if (fs::is_directory(d.path()) && test::summary_field(d.path(), "status") == "ok")
      kept[d.path()] = fs::last_write_time(d.path() / "summary.json");

  std::string again;
  for (std::size_t i = 2; i < argv_text.size(); ++i) again += " " + argv_text[i];
  ASSERT_EQ(herd("sweep" + again), exit_codes::ok);
  EXPECT_EQ(with_status("ok"), 6u);
  for (const auto& [dir, time] : kept) EXPECT_EQ(fs::last_write_time(dir / "summary.json"), time);
  // Each evaluation once: 0, 50000, ..., 1500000. The runs take about half a second each:
  // with 150,000 steps one took 50 ms on a fast machine, and could finish between the
  // test's seeing it in progress and the signal (this test then failed 2 times in 6).
  for (const auto& r : read_csv(out / "sweep.csv"))
    EXPECT_EQ(lines_of(out / r.at("dir") / "metrics.jsonl").size(), 31u) << r.at("dir");
}

// Gradient descent on F(x) = sum_i lambda_i / 2 (x_i - a_i)^2 from 0: after T steps of size
// eta, F - F* = sum_i lambda_i / 2 (1 - eta lambda_i)^(2T) a_i^2.
double closed_form_suboptimality(double eta, double mu, double L, std::uint64_t seed, int T) {
  model::QuadraticSpec q;
  q.dim = 2;
  q.mu = mu;
  q.L = L;
  const auto a = model::make_quadratic_problem(q, seed)->optimum_point().value();
  const double lambda[] = {mu, L};
  double f = 0;
  for (int i = 0; i < 2; ++i)
    f += lambda[i] / 2 * std::pow(1 - eta * lambda[i], 2 * T) * a[i] * a[i];
  return f;
}

TEST(Cli, TunePicksTheArgminOfTheClosedFormPerEntryAndCountsDivergence) {
  const fs::path config = write_config(
      "tune", std::string(quadratic_sim) +
                  "\n[[compare]]\nlabel = \"L = 10\"\n[compare.model]\nsmoothness = 10.0\n"
                  "\n[[compare]]\nlabel = \"L = 4\"\n[compare.model]\nsmoothness = 4.0\n");
  const fs::path out = fresh_dir("tune");
  const auto [code, err] =
      herd_stderr("tune " + config.string() +
                  " --grid algo.lr=log:0.01:100:9 --by final:suboptimality --out " + out.string());
  ASSERT_EQ(code, exit_codes::ok) << err;
  const Axis grid = parse_grid("algo.lr=log:0.01:100:9");
  const auto tuned = run::Config::from_toml_file((out / "tuned.toml").string());
  const auto rows = read_csv(out / "tune.csv");
  for (std::size_t e = 0; e < 2; ++e) {
    const double L = e == 0 ? 10.0 : 4.0;
    std::string best;
    double best_f = INFINITY;
    for (const std::string& v : grid.values) {
      const double f = closed_form_suboptimality(std::stod(v), 1.0, L, 1, 20);
      if (f < best_f) best_f = f, best = v;
    }
    // Beyond 2/L the iteration grows; the best point lies below 2 / (mu + L) here.
    EXPECT_LT(std::stod(best), 2 / (1 + L));
    EXPECT_EQ(tuned.variant(tuned.compare()[e]).get_number("algo.lr"), std::stod(best)) << L;
    for (const auto& r : rows)
      if (r.at("entry") == tuned.compare()[e].label && r.at("chosen") == "yes") {
        EXPECT_EQ(r.at("algo.lr"), best);
        EXPECT_NEAR(std::stod(r.at("score")), best_f, 1e-4 * best_f + 1e-12);
      }
  }
  // lr = 100 overflows: a diverged point is a result of the tuning, not its failure.
  std::size_t diverged = 0;
  for (const auto& r : rows) diverged += r.at("diverged") != "0";
  EXPECT_GE(diverged, 2u);
}

// tuned.toml runs each entry as its tuning run with the chosen value ran, bit for bit: options
// the user left unset stay unset, so those decided per algorithm (EASGD's elastic_alpha =
// 0.9 / K) are decided again, not pinned to their default for every entry (elastic_alpha = 0
// froze EASGD's center at its start).
TEST(Cli, TheTunedConfigurationRerunsTheChosenTuningRunBitForBit) {
  const fs::path config = write_config(
      "tuned_rerun", std::string(quadratic_sim) +
                         "\n[[compare]]\nlabel = \"EASGD\"\nalgo = { name = \"easgd\", "
                         "workers = 4 }\n"
                         "\n[[compare]]\nlabel = \"Local SGD\"\nalgo = { name = \"local_sgd\", "
                         "workers = 4 }\n");
  const fs::path out = fresh_dir("tuned_rerun");
  const auto [code, err] =
      herd_stderr("tune " + config.string() +
                  " --grid algo.lr=0.02,0.05 --by final:suboptimality --out " + out.string());
  ASSERT_EQ(code, exit_codes::ok) << err;
  const auto tuned = run::Config::from_toml_file((out / "tuned.toml").string());
  EXPECT_FALSE(tuned.is_set_explicitly("algo.elastic_alpha"));
  const auto runs = read_csv(out / "sweep.csv");
  for (const auto& r : read_csv(out / "tune.csv")) {
    if (r.at("chosen") != "yes") continue;
    const auto chosen = std::find_if(runs.begin(), runs.end(), [&](const auto& run) {
      return run.at("entry") == r.at("entry") && run.at("algo.lr") == r.at("algo.lr");
    });
    ASSERT_NE(chosen, runs.end()) << r.at("entry");
    const fs::path tuning_run = out / chosen->at("dir");
    const fs::path again = fresh_dir("tuned_rerun_" + chosen->at("dir").substr(5));
    ASSERT_EQ(herd("run " + (out / "tuned.toml").string() + " --entry \"" + r.at("entry") +
                   "\" --out " + again.string()),
              exit_codes::ok);
    EXPECT_EQ(test::summary_field(again, "parameters_crc32"),
              test::summary_field(tuning_run, "parameters_crc32"))
        << r.at("entry");
    EXPECT_EQ(test::rows_without_time(again), test::rows_without_time(tuning_run)) << r.at("entry");
  }
}

TEST(Cli, AComparisonGoesOnPastADivergedEntryAndTableRebuildsIt) {
  const fs::path config =
      write_config("compare", std::string(quadratic_sim) +
                                  "\n[[compare]]\nlabel = \"small\"\n[compare.algo]\nlr = 0.05\n"
                                  "\n[[compare]]\nlabel = \"huge\"\n[compare.algo]\nlr = 1000.0\n"
                                  "\n[[compare]]\nlabel = \"medium\"\n[compare.algo]\nlr = 0.1\n");
  const fs::path out = fresh_dir("compare");
  const auto [code, err] =
      herd_stderr("run " + config.string() + " run.progress=none --out " + out.string());
  EXPECT_EQ(code, exit_codes::ok) << err;
  EXPECT_NE(err.find("\"huge\" diverged"), std::string::npos) << err;
  const std::string table = read(out / "comparison.md");
  EXPECT_NE(table.find("| huge "), std::string::npos);
  EXPECT_NE(table.find("diverged"), std::string::npos);
  EXPECT_NE(table.find("| medium "), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "medium" / "summary.json"));
  // herd table rebuilds the same table from the files.
  fs::remove(out / "comparison.md");
  ASSERT_EQ(herd("table " + out.string()), exit_codes::ok);
  EXPECT_EQ(read(out / "comparison.md"), table);
}

}  // namespace
}  // namespace herd::study
