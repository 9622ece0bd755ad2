#include "herd/cli/plot.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "herd/core/error.hpp"
#include "support/temp_dir.hpp"

namespace herd::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::uint32_t big_endian_u32(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i)
    value = value << 8 | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// The message of the exception that f throws, which must be of type E.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception of the expected type";
  return {};
}

// Why the plotting tests cannot run here, if they cannot; looked up once.
const std::optional<std::string>& no_python() {
  static const std::optional<std::string> reason = []() -> std::optional<std::string> {
    try {
      find_python(python_candidates());
      return std::nullopt;
    } catch (const IoError& e) {
      return e.what();
    }
  }();
  return reason;
}

#define SKIP_WITHOUT_MATPLOTLIB() \
  if (const auto reason = no_python()) GTEST_SKIP() << *reason

// Two runs as herd writes them: "local" has a summary with a label; "minibatch-sgd" has none
// (its legend entry falls back to the directory name) and no time column.
class PlotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        herd::test::temp_dir() / ("herd_test_plot_" + std::to_string(::getpid()) + "_" +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "local");
    fs::create_directories(root_ / "minibatch-sgd");
    std::ostringstream local, minibatch;
    for (int i = 0; i < 6; ++i) {
      const double halving = 1.0 / (1 << i);
      local << "{\"time\": " << 0.5 * i << ", \"step\": " << 10 * i << ", \"epoch\": " << 0.25 * i
            << ", \"grads\": " << 640 * i << ", \"rounds\": " << 3 * i
            << ", \"bytes\": " << 3.0e6 * i << ", \"train_loss\": " << 2 * halving + 0.01
            << ", \"test_loss\": " << (i % 2 == 0 ? std::to_string(2.1 * halving) : "null")
            << ", \"test_acc\": " << 0.5 + 0.05 * i << ", \"consensus\": " << 0.1 * i
            << ", \"model\": \"average\"}\n";
      minibatch << "{\"epoch\": " << 0.25 * i << ", \"grads\": " << 640 * i
                << ", \"rounds\": " << 10 * i << ", \"bytes\": " << 1.0e6 * i
                << ", \"train_loss\": " << 2 * halving * halving + 0.05
                << ", \"test_acc\": " << 0.5 + 0.04 * i << ", \"consensus\": 0.0"
                << ", \"model\": \"average\"}\n";
    }
    write_file(root_ / "local" / "metrics.jsonl", local.str());
    write_file(root_ / "local" / "summary.json",
               R"json({"label": "Local SGD (H=4)", "algorithm": "local_sgd"})json");
    write_file(root_ / "minibatch-sgd" / "metrics.jsonl", minibatch.str());
    if (const char* chosen = std::getenv("HERD_PYTHON")) saved_herd_python_ = chosen;
  }

  void TearDown() override {
    if (saved_herd_python_) {
      ::setenv("HERD_PYTHON", saved_herd_python_->c_str(), 1);
    } else {
      ::unsetenv("HERD_PYTHON");
    }
    fs::remove_all(root_);
  }

  std::string dir(const std::string& name) const { return (root_ / name).string(); }

  PlotRequest request(const std::string& output) const {
    PlotRequest r;
    r.run_dirs = {dir("local"), dir("minibatch-sgd")};
    r.output = dir(output);
    return r;
  }

  // A stand-in interpreter: a shell script that prints stderr_text and exits with status.
  std::string fake_python(const std::string& name, const std::string& stderr_text, int status) {
    const fs::path path = root_ / name;
    write_file(
        path, "#!/bin/sh\necho \"" + stderr_text + "\" >&2\nexit " + std::to_string(status) + "\n");
    fs::permissions(path, fs::perms::owner_all);
    return path.string();
  }

  fs::path root_;
  std::optional<std::string> saved_herd_python_;
};

// --- Plots (need a Python with matplotlib) ---

TEST_F(PlotTest, PngHasBothRunsOnALogScaleAt150Dpi) {
  SKIP_WITHOUT_MATPLOTLIB();
  plot_runs(request("loss.png"));
  const std::string png = read_file(dir("loss.png"));
  ASSERT_GT(png.size(), 10'000u);
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  // IHDR: a 7 x 4.5 inch figure at 150 dpi.
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(big_endian_u32(png, 16), 1050u);
  EXPECT_EQ(big_endian_u32(png, 20), 675u);
  EXPECT_THAT(png, HasSubstr("y=train_loss (log scale) against x=grads; 2 runs: "
                             "Local SGD (H=4), minibatch-sgd"));
}

TEST_F(PlotTest, SvgKeepsLegendAxisLabelsAndTitleAsText) {
  SKIP_WITHOUT_MATPLOTLIB();
  PlotRequest r = request("loss.svg");
  r.x = "bytes";
  r.title = "Loss against bytes";
  plot_runs(r);
  const std::string svg = read_file(dir("loss.svg"));
  EXPECT_GT(svg.size(), 5'000u);
  EXPECT_THAT(svg, StartsWith("<?xml"));
  // 15 MB at most: the axis counts megabytes.
  EXPECT_THAT(svg, AllOf(HasSubstr("<svg"), HasSubstr("Local SGD (H=4)"),
                         HasSubstr("minibatch-sgd"), HasSubstr("bytes sent [MB]"),
                         HasSubstr("training loss"), HasSubstr("Loss against bytes")));
}

TEST_F(PlotTest, PdfIsWritten) {
  SKIP_WITHOUT_MATPLOTLIB();
  plot_runs(request("loss.pdf"));
  EXPECT_THAT(read_file(dir("loss.pdf")), StartsWith("%PDF-"));
}

TEST_F(PlotTest, LogScaleOnlyForPositiveLossLikeMetricsUnlessTold) {
  SKIP_WITHOUT_MATPLOTLIB();
  const auto description = [&](const std::string& y, const std::string& logy) {
    PlotRequest r = request("figure.png");
    r.y = y;
    r.logy = logy;
    plot_runs(r);
    const std::string png = read_file(dir("figure.png"));
    const std::size_t start = png.find("y=" + y);
    return png.substr(start, png.find(')', start) + 1 - start);
  };
  EXPECT_EQ(description("test_acc", "auto"), "y=test_acc (linear scale)");
  EXPECT_EQ(description("test_acc", "on"), "y=test_acc (log scale)");
  EXPECT_EQ(description("train_loss", "off"), "y=train_loss (linear scale)");
  // consensus is 0.0 in minibatch-sgd: not drawable on a log scale.
  EXPECT_EQ(description("consensus", "auto"), "y=consensus (linear scale)");
}

TEST_F(PlotTest, RunsSharingALabelAreToldApartByDirectory) {
  SKIP_WITHOUT_MATPLOTLIB();
  fs::copy(root_ / "local", root_ / "copy");
  PlotRequest r = request("loss.png");
  r.run_dirs = {dir("local"), dir("copy"), dir("minibatch-sgd")};
  plot_runs(r);
  EXPECT_THAT(read_file(r.output),
              HasSubstr("3 runs: Local SGD (H=4) (local), Local SGD (H=4) (copy), minibatch-sgd"));
}

TEST_F(PlotTest, ScriptErrorsSurfaceWithTheirMessage) {
  SKIP_WITHOUT_MATPLOTLIB();
  PlotRequest r = request("consensus.png");
  r.y = "consensus";
  r.logy = "on";
  EXPECT_THAT(message_of<InvalidInput>([&] { plot_runs(r); }),
              AllOf(HasSubstr("--logy on"), HasSubstr("'consensus' has values <= 0")));
  EXPECT_FALSE(fs::exists(r.output));
}

TEST_F(PlotTest, UnwritableOutputIsAnIoErrorAndLeavesNoPartialFile) {
  SKIP_WITHOUT_MATPLOTLIB();
  fs::create_directories(root_ / "read-only");
  fs::permissions(root_ / "read-only", fs::perms::owner_read | fs::perms::owner_exec);
  const bool root_ignores_permissions = ::access(dir("read-only").c_str(), W_OK) == 0;
  for (const std::string output : {"missing-dir/loss.png", "read-only/loss.png"}) {
    if (output.starts_with("read-only") && root_ignores_permissions) continue;
    const PlotRequest r = request(output);
    EXPECT_THAT(message_of<IoError>([&] { plot_runs(r); }),
                AllOf(HasSubstr("cannot write"), HasSubstr(r.output)));
  }
  fs::permissions(root_ / "read-only", fs::perms::owner_all);
  EXPECT_TRUE(fs::is_empty(root_ / "read-only"));
}

TEST_F(PlotTest, HerdPythonThatDoesNotExistFallsBackToTheNextInterpreter) {
  SKIP_WITHOUT_MATPLOTLIB();
  ::setenv("HERD_PYTHON", "/nonexistent/bin/python3", 1);
  EXPECT_EQ(python_candidates().front(), "/nonexistent/bin/python3");
  plot_runs(request("loss.png"));
  EXPECT_THAT(read_file(dir("loss.png")), StartsWith("\x89PNG"));
}

// --- Bad requests and run directories: caught before any Python runs ---

TEST_F(PlotTest, NoRunDirectoriesIsInvalidInput) {
  PlotRequest r = request("loss.png");
  r.run_dirs.clear();
  EXPECT_THAT(message_of<InvalidInput>([&] { plot_runs(r); }),
              HasSubstr("at least one run directory"));
}

TEST_F(PlotTest, DirectoryWithoutMetricsIsNamed) {
  fs::create_directories(root_ / "empty");
  PlotRequest r = request("loss.png");
  r.run_dirs.push_back(dir("empty"));
  EXPECT_EQ(message_of<InvalidInput>([&] { plot_runs(r); }),
            "run directory '" + dir("empty") + "' has no metrics.jsonl");
  r.run_dirs.back() = dir("nowhere");
  EXPECT_EQ(message_of<InvalidInput>([&] { plot_runs(r); }),
            "run directory '" + dir("nowhere") + "' does not exist");
}

TEST_F(PlotTest, MissingMetricNamesTheRunAndListsWhatItHas) {
  PlotRequest r = request("loss.png");
  r.y = "suboptimality";
  EXPECT_EQ(message_of<InvalidInput>([&] { plot_runs(r); }),
            "run '" + dir("local") +
                "' has no metric 'suboptimality' in metrics.jsonl; its metrics: bytes, consensus, "
                "epoch, grads, rounds, step, test_acc, test_loss, time, train_loss");
  r.y = "train_loss";
  r.x = "time";
  EXPECT_EQ(message_of<InvalidInput>([&] { plot_runs(r); }),
            "run '" + dir("minibatch-sgd") +
                "' has no metric 'time' in metrics.jsonl; its metrics: bytes, consensus, epoch, "
                "grads, rounds, test_acc, train_loss");
}

TEST_F(PlotTest, MetricsThatNeverShareARowCannotBePlotted) {
  fs::create_directories(root_ / "apart");
  write_file(root_ / "apart" / "metrics.jsonl",
             "{\"grads\": 1, \"train_loss\": null}\n{\"rounds\": 1, \"train_loss\": 0.5}\n");
  PlotRequest r = request("loss.png");
  r.run_dirs = {dir("apart")};
  EXPECT_EQ(message_of<InvalidInput>([&] { plot_runs(r); }),
            "run '" + dir("apart") + "': no evaluation has both 'grads' and 'train_loss'");
}

TEST_F(PlotTest, OnlyTopLevelFiniteNumbersCountAsMetrics) {
  fs::create_directories(root_ / "odd");
  write_file(root_ / "odd" / "metrics.jsonl", R"(
{}
 { "grads" : -1.5e-3 , "nested": {"inner": 1, "list": [1, [2, {}], "x"]}}
{"nan": NaN, "inf": -Infinity, "huge": 1e999, "flag": true, "none": null}
{"esc\u0061ped": 2, "text": "a \"quoted\" \\ word", "zero": 0}
{"twice": 1, "twice": null, "empty": [], "obj": {}}
)");
  PlotRequest r = request("loss.png");
  r.run_dirs = {dir("odd")};
  EXPECT_EQ(message_of<InvalidInput>([&] { plot_runs(r); }),
            "run '" + dir("odd") +
                "' has no metric 'train_loss' in metrics.jsonl; its metrics: escaped, grads, zero");
}

TEST_F(PlotTest, MalformedRowNamesFileAndLine) {
  const std::string path = dir("local") + "/metrics.jsonl";
  const std::string good = R"({"grads": 1, "train_loss": 1})"
                           "\n";
  for (const std::string bad :
       {R"({"grads": 1,})", R"({"grads": 01x})", R"([1, 2])", R"({"grads": "open})",
        R"({"a": 1} {)", R"({"a": tru})", R"({"a": "\q"})", R"({"a" 1})", R"({"a": 1)"}) {
    write_file(path, good + "\n" + bad + "\n" + good);
    EXPECT_THAT(message_of<InvalidInput>([&] { plot_runs(request("loss.png")); }),
                StartsWith(path + ":3: column "))
        << bad;
  }
}

TEST_F(PlotTest, RequestOutsideTheChoicesIsInvalidInput) {
  for (const std::string output : {"loss.jpg", "loss", "loss.png.txt"}) {
    EXPECT_THAT(message_of<InvalidInput>([&] { plot_runs(request(output)); }),
                AllOf(HasSubstr(dir(output)), HasSubstr(".png, .pdf, .svg")));
  }
  PlotRequest r = request("loss.png");
  r.x = "loss";
  EXPECT_EQ(message_of<InvalidInput>([&] { plot_runs(r); }),
            "--x 'loss' is not one of time, grads, rounds, bytes, epoch");
  r = request("loss.png");
  r.logy = "yes";
  EXPECT_EQ(message_of<InvalidInput>([&] { plot_runs(r); }),
            "--logy 'yes' is not one of auto, on, off");
}

// --- Finding Python ---

TEST_F(PlotTest, CandidatesStartWithHerdPythonWhenSet) {
  ::unsetenv("HERD_PYTHON");
  EXPECT_EQ(python_candidates(),
            (std::vector<std::string>{"/usr/bin/python3", "python3", "python"}));
  ::setenv("HERD_PYTHON", "", 1);
  EXPECT_EQ(python_candidates().size(), 3u);
  ::setenv("HERD_PYTHON", "/opt/py/bin/python3", 1);
  EXPECT_EQ(
      python_candidates(),
      (std::vector<std::string>{"/opt/py/bin/python3", "/usr/bin/python3", "python3", "python"}));
}

TEST_F(PlotTest, FindPythonTakesTheFirstThatImportsMatplotlib) {
  const std::string without =
      fake_python("without", "ModuleNotFoundError: No module named 'matplotlib'", 1);
  const std::string with = fake_python("with", "", 0);
  EXPECT_EQ(find_python({"/nonexistent/python3", without, with, without}), with);
}

TEST_F(PlotTest, NoUsablePythonIsAnIoErrorThatSaysWhatWasTriedAndWhy) {
  const std::string without =
      fake_python("without", "ModuleNotFoundError: No module named 'matplotlib'", 1);
  const std::string silent = fake_python("silent", "", 7);
  write_file(root_ / "not-executable", "");
  // "silent" again, now looked up on PATH.
  const std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  ::setenv("PATH", root_.c_str(), 1);
  const std::string message = message_of<IoError>([&] {
    find_python({"/nonexistent/python3", without, silent, "silent", dir("not-executable"),
                 "herd-no-such-python"});
  });
  ::setenv("PATH", path.c_str(), 1);
  EXPECT_EQ(message, "no python3 with matplotlib found; tried: /nonexistent/python3 (not found), " +
                         without + " (No module named 'matplotlib'), " + silent +
                         " (exit status 7), silent = " + silent + " (tried above), " +
                         dir("not-executable") +
                         " (not executable), herd-no-such-python (not on PATH); install Debian's "
                         "python3-matplotlib, or set HERD_PYTHON to a Python that has matplotlib");
}

TEST(PlotScript, EmbeddedCopyIsToolsHerdPlotPyAndAscii) {
  const std::string file = read_file(fs::path(HERD_SOURCE_DIR) / "tools" / "herd_plot.py");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(plot_script(), file);
  EXPECT_TRUE(
      std::ranges::all_of(file, [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
}

}  // namespace
}  // namespace herd::cli
