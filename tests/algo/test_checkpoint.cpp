// Checkpoints: a run that crashes after a checkpoint and is resumed ends bit for bit where
// the uninterrupted run ends, on threads and on the simulator (there with the same virtual
// times), and the metric rows of its two parts are the uninterrupted run's, each once.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "../data/temp_files.hpp"
#include "herd/algo/checkpoint.hpp"
#include "herd/algo/job.hpp"
#include "herd/algo/registry.hpp"
#include "herd/comm/sim.hpp"
#include "herd/comm/threads.hpp"
#include "herd/data/partition.hpp"
#include "herd/data/synthetic.hpp"
#include "herd/model/factory.hpp"
#include "job_helpers.hpp"
#include "support/runtime_kind.hpp"

namespace herd::algo {
namespace {

using data::TempDir;

constexpr int K = 4;

// Logistic regression on 240 rows, shards of 60 read in shuffled epochs of batches of 7
// (a fresh permutation every 8 or 9 steps, mid-batch ones included).
std::unique_ptr<model::Problem> shuffled_problem() {
  data::SyntheticSpec s;
  s.rows = 240;
  s.cols = 8;
  s.noise = 0.1;
  s.seed = 3;
  auto train = std::make_shared<data::Dataset>(data::make_synthetic(s));
  Rng rng(5, streams::partition);
  model::DataProblemSpec spec;
  spec.shards = data::partition(*train, K, {}, rng);
  spec.train = std::move(train);
  spec.lambda = 1e-3;
  spec.batch = 7;
  spec.sampling = data::Sampling::shuffled_epochs;
  return model::make_data_problem(std::move(spec));
}

// Heterogeneous workers with random compute times: the virtual clocks and the noise streams
// must both be restored for the times to match.
const Runtime sim = [](int ranks, const std::function<void(comm::Communicator&)>& program) {
  comm::SimSpec spec;
  for (int r = 0; r < ranks; ++r) spec.compute.tau.push_back(0.5 + 0.25 * r);
  spec.compute.reference_batch = 7;
  spec.compute.noise = comm::ComputeNoise::exponential;
  spec.compute.noise_scale.assign(std::size_t(ranks), 0.1);
  spec.compute.seed = 9;
  spec.network.latency = 1e-3;
  spec.network.bandwidth = 1e6;
  comm::run_sim(spec, ranks, program);
};

struct CrashedOnPurpose : std::runtime_error {
  CrashedOnPurpose() : std::runtime_error("crashed on purpose") {}
};

// Records rows, and crashes the job when asked to record the evaluation at `crash_step`.
class CrashingSink final : public MetricsSink {
 public:
  explicit CrashingSink(std::int64_t crash_step) : crash_step_(crash_step) {}
  void record(const MetricsRow& row) override {
    if (std::int64_t(row.number("step")) == crash_step_) throw CrashedOnPurpose();
    rows.push_back(row);
  }
  std::vector<MetricsRow> rows;

 private:
  std::int64_t crash_step_;
};

// 60 steps, momentum, a step-decay schedule, evaluated every 5 steps.
JobSpec base_job(const model::Problem& p, const std::string& algo, MetricsSink* sink) {
  JobSpec j = job_for(p, algo, K, 60, 0.4, sink);
  j.optimizer.rule = optim::Rule::nesterov;
  j.schedule.kind = optim::ScheduleKind::step;
  j.schedule.decay_every = 25;
  j.schedule.decay_factor = 0.5;
  j.monitor.eval_every = 5;
  return j;
}

// Every field equal, the times too when `with_times` (wall-clock times cannot be).
void expect_same_rows(std::vector<MetricsRow> a, std::vector<MetricsRow> b, bool with_times) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!with_times)
      for (auto* row : {&a[i], &b[i]})
        std::erase_if(row->fields, [](const auto& f) { return f.first == "time"; });
    EXPECT_EQ(a[i].fields, b[i].fields) << "row " << i;
  }
}

// Runs `job` uninterrupted (no checkpoints), then again with checkpoints every `every`
// rounds, crashing at the evaluation of `crash_step`, and resumed from the last checkpoint:
// same final parameters on every rank, same rows (times too when `same_times`).
void expect_resumed_run_matches(const JobSpec& job, const Runtime& runtime, std::int64_t every,
                                std::int64_t crash_step, std::int64_t checkpoint_step,
                                bool same_times) {
  const TempDir dir;
  RowSink reference_rows;
  JobSpec reference = job;
  reference.monitor.sink = &reference_rows;
  const JobResult expected = run_job(reference, runtime);

  CrashingSink first_rows(crash_step);
  JobSpec first = job;
  first.monitor.sink = &first_rows;
  first.checkpoint.file = dir.path("job.ckpt");
  first.checkpoint.every = every;
  EXPECT_THROW(run_job(first, runtime), CrashedOnPurpose);

  const CheckpointInfo info = read_checkpoint_info(first.checkpoint.file);
  EXPECT_EQ(info.step, checkpoint_step);
  EXPECT_EQ(info.job.algorithm, job.algorithm);
  EXPECT_EQ(info.job.workers, K);
  EXPECT_EQ(info.job.seed, job.seed);
  EXPECT_FALSE(info.stopped);
  // The rows recorded up to the checkpoint's step: evaluations at 0, 5, ..., step.
  ASSERT_EQ(info.rows_recorded, checkpoint_step / 5 + 1);
  ASSERT_GE(std::int64_t(first_rows.rows.size()), info.rows_recorded);
  first_rows.rows.resize(std::size_t(info.rows_recorded));  // what the driver truncates to

  RowSink second_rows;
  JobSpec second = first;
  second.monitor.sink = &second_rows;
  second.checkpoint.resume = true;
  const JobResult resumed = run_job(second, runtime);

  EXPECT_EQ(resumed.final_x, expected.final_x);  // bit for bit, every rank
  EXPECT_EQ(resumed.stop_reason, expected.stop_reason);
  std::vector<MetricsRow> rows = first_rows.rows;
  rows.insert(rows.end(), second_rows.rows.begin(), second_rows.rows.end());
  ASSERT_EQ(rows.size(), reference_rows.rows.size());
  expect_same_rows(rows, reference_rows.rows, same_times);
  // The last checkpoint is the end of the run.
  EXPECT_EQ(read_checkpoint_info(first.checkpoint.file).step, 60);
}

class Runtimes : public ::testing::TestWithParam<test::RuntimeKind> {
 protected:
  bool on_sim() const { return GetParam() == test::RuntimeKind::sim; }
  const Runtime& runtime() const {
    static const Runtime threads = comm::run_threads;
    return on_sim() ? sim : threads;
  }
};

TEST_P(Runtimes, MinibatchSgdResumesBitForBit) {
  const auto problem = shuffled_problem();
  // A checkpoint every 7 rounds (steps); crash at the evaluation of step 40 after the
  // checkpoint of step 35.
  expect_resumed_run_matches(base_job(*problem, "minibatch_sgd", nullptr), runtime(), 7, 40, 35,
                             on_sim());
}

TEST_P(Runtimes, LocalSgdResumesBitForBit) {
  const auto problem = shuffled_problem();
  JobSpec j = base_job(*problem, "local_sgd", nullptr);
  j.set("algo.period", 3);
  j.set("algo.post_local_steps", 4);  // rounds at steps 1..4, then every 3 steps: 7, 10, ...
  // Every 4 rounds: steps 4, 16, 28, 40, 52; crash at 45 after the checkpoint of step 40.
  expect_resumed_run_matches(j, runtime(), 4, 45, 40, on_sim());
}

TEST_P(Runtimes, HierarchicalLocalSgdWithOuterNesterovResumesBitForBit) {
  const auto problem = shuffled_problem();
  JobSpec j = base_job(*problem, "local_sgd", nullptr);
  j.set("algo.period", 2);  // group rounds every 2 steps, global ones every 6
  j.set("algo.group_size", 2);
  j.set("algo.global_period", 6);
  j.set("algo.outer_optimizer", "nesterov");
  j.set("algo.outer_lr", 0.8f);
  j.set("algo.outer_momentum", 0.5f);
  // Every 5 rounds: steps 10, 20, 30, ...; crash at 25 after the checkpoint of step 20.
  expect_resumed_run_matches(j, runtime(), 5, 25, 20, on_sim());
}

TEST_P(Runtimes, EasgdAndEamsgdResumeBitForBit) {
  const auto problem = shuffled_problem();
  for (const char* name : {"easgd", "eamsgd"}) {
    JobSpec j = base_job(*problem, name, nullptr);
    j.set("algo.period", 3);
    j.set("algo.elastic_alpha", 0.2);
    // Every 4 rounds: steps 12, 24, 36, 48; crash at 40 after the checkpoint of step 36.
    expect_resumed_run_matches(j, runtime(), 4, 40, 36, on_sim());
  }
}

TEST_P(Runtimes, LeaderSgdWithGroupsResumesBitForBit) {
  const auto problem = shuffled_problem();
  for (const bool every_step : {false, true}) {
    JobSpec j = base_job(*problem, "lsgd", nullptr);
    j.set("algo.period", 2);  // group leaders every 2 steps, the global leader every 4
    j.set("algo.group_size", 2);
    j.set("algo.global_period", 4);
    j.set("algo.leader_window", 3);
    j.set("algo.pull_every_step", every_step);
    // Every 5 rounds: steps 10, 20, 30, ...; crash at 25 after the checkpoint of step 20.
    expect_resumed_run_matches(j, runtime(), 5, 25, 20, on_sim());
  }
}

TEST_P(Runtimes, FedProxResumesBitForBit) {
  const auto problem = shuffled_problem();
  JobSpec j = base_job(*problem, "fedprox", nullptr);
  j.set("algo.period", 3);
  j.set("algo.proximal_mu", 0.3);
  // Rounds every 3 steps; every 4 rounds: steps 12, 24, 36, 48; crash at 40 after 36.
  expect_resumed_run_matches(j, runtime(), 4, 40, 36, on_sim());
}

TEST_P(Runtimes, ARunStoppedAtItsStepLimitExtendsToTheLongerRun) {
  const auto problem = shuffled_problem();
  const TempDir dir;
  RowSink reference_rows, first_rows, second_rows;
  JobSpec j = base_job(*problem, "local_sgd", &reference_rows);
  j.set("algo.period", 4);
  const JobResult expected = run_job(j, runtime());

  JobSpec first = j;  // 30 steps, no periodic checkpoint: the one at the end
  first.monitor.sink = &first_rows;
  first.monitor.stop.max_steps = 30;
  first.checkpoint.file = dir.path("job.ckpt");
  run_job(first, runtime());
  const CheckpointInfo info = read_checkpoint_info(first.checkpoint.file);
  EXPECT_EQ(info.step, 30);
  EXPECT_EQ(info.rounds, 7);  // averaging at steps 4, 8, ..., 28
  EXPECT_EQ(info.rows_recorded, 7);
  EXPECT_EQ(std::int64_t(first_rows.rows.size()), info.rows_recorded);
  if (on_sim())  // the reported time of the last evaluation (later on a wall clock)
    EXPECT_EQ(info.time, first_rows.rows.back().number("time"));
  else
    EXPECT_GE(info.time, first_rows.rows.back().number("time"));

  JobSpec second = j;
  second.monitor.sink = &second_rows;
  second.checkpoint = first.checkpoint;
  second.checkpoint.resume = true;
  EXPECT_EQ(run_job(second, runtime()).final_x, expected.final_x);
  std::vector<MetricsRow> rows = first_rows.rows;
  rows.insert(rows.end(), second_rows.rows.begin(), second_rows.rows.end());
  ASSERT_EQ(rows.size(), reference_rows.rows.size());
  expect_same_rows(rows, reference_rows.rows, on_sim());
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, Runtimes, ::testing::ValuesIn(test::every_runtime),
                         test::RuntimeName());

// A finished checkpoint of minibatch SGD, and its bytes.
struct SavedJob {
  std::unique_ptr<model::Problem> problem = shuffled_problem();
  TempDir dir;
  JobSpec job = base_job(*problem, "minibatch_sgd", nullptr);
  std::string bytes;
  SavedJob() {
    job.monitor.stop.max_steps = 10;
    job.checkpoint.file = dir.path("job.ckpt");
    run_job(job, comm::run_threads);
    std::ifstream in(job.checkpoint.file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    job.checkpoint.resume = true;
  }
  void overwrite(const std::string& contents) const {
    std::ofstream(job.checkpoint.file, std::ios::binary | std::ios::trunc) << contents;
  }
};

// `f` throws E with a message that contains `needle`.
template <class E, class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning " << needle;
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, CorruptOrTruncatedFilesAreIoErrorsNamingTheFile) {
  const SavedJob saved;
  const std::string file = saved.job.checkpoint.file.string();
  auto resume = [&] { run_job(saved.job, comm::run_threads); };
  auto info = [&] { read_checkpoint_info(file); };

  std::string flipped = saved.bytes;
  flipped[flipped.size() / 2] = char(flipped[flipped.size() / 2] ^ 0x10);
  saved.overwrite(flipped);
  expect_error<IoError>(resume, file);
  expect_error<IoError>(info, "checksum");

  saved.overwrite(saved.bytes.substr(0, saved.bytes.size() / 2));
  expect_error<IoError>(resume, file);
  saved.overwrite(saved.bytes.substr(0, 6));
  expect_error<IoError>(info, "truncated");
  saved.overwrite("not a checkpoint at all");
  expect_error<IoError>(info, "not a herd checkpoint");
  std::filesystem::remove(file);
  expect_error<IoError>(resume, file);

  saved.overwrite(saved.bytes);  // intact again: it resumes (and has nothing left to do)
  EXPECT_NO_THROW(resume());
}

// decode_checkpoint, what a resume decodes before restoring any rank (and what
// fuzz/fuzz_checkpoint.cpp feeds): the header read_checkpoint_info gives, one record per rank
// within the bytes, and the job identity that job_identity() computes for the same job.
TEST(Checkpoint, DecodingGivesTheHeaderAndOneRecordPerRank) {
  const SavedJob saved;
  const Bytes bytes(saved.bytes.begin(), saved.bytes.end());
  const CheckpointContents c = decode_checkpoint(bytes, "checkpoint saved");
  const CheckpointInfo info = read_checkpoint_info(saved.job.checkpoint.file);
  EXPECT_EQ(c.info.step, info.step);
  EXPECT_EQ(c.info.rows_recorded, info.rows_recorded);
  EXPECT_EQ(c.info.job.problem, info.job.problem);
  const JobIdentity identity = job_identity(saved.job);
  EXPECT_NO_THROW(check_same_job(c.info.job, identity, saved.job.checkpoint.file));
  ASSERT_EQ(c.records.size(), std::size_t(identity.ranks));
  for (const ByteSpan r : c.records) {
    EXPECT_GE(r.data(), bytes.data());
    EXPECT_LE(r.data() + r.size(), bytes.data() + bytes.size());
  }
  JobIdentity other = identity;
  other.seed += 1;
  expect_error<InvalidInput>([&] { check_same_job(c.info.job, other, "c.bin"); },
                             "checkpoint c.bin was written by another job");
  expect_error<IoError>([&] { decode_checkpoint(ByteSpan(bytes).first(20), "checkpoint cut"); },
                        "checkpoint cut");
}

TEST(Checkpoint, AnotherJobsCheckpointIsInvalidInput) {
  const SavedJob saved;
  JobSpec other_seed = saved.job;
  other_seed.seed = 12;
  expect_error<InvalidInput>([&] { run_job(other_seed, comm::run_threads); }, "seed: saved 11");
  JobSpec other_algorithm = saved.job;
  other_algorithm.algorithm = "local_sgd";
  expect_error<InvalidInput>([&] { run_job(other_algorithm, comm::run_threads); },
                             "algorithm: saved minibatch_sgd, this job local_sgd");
  JobSpec fewer_workers = saved.job;
  fewer_workers.workers = 2;
  expect_error<InvalidInput>([&] { run_job(fewer_workers, comm::run_threads); },
                             "workers: saved 4, this job 2");
  JobSpec other_optimizer = saved.job;  // the identity matches, the saved velocity does not
  other_optimizer.optimizer.rule = optim::Rule::sgd;
  expect_error<InvalidInput>([&] { run_job(other_optimizer, comm::run_threads); }, "velocity");
}

TEST(Checkpoint, HeaderTellsWhereTheRunStood) {
  const SavedJob saved;
  const CheckpointInfo info = read_checkpoint_info(saved.job.checkpoint.file);
  EXPECT_EQ(info.job.algorithm, "minibatch_sgd");
  EXPECT_EQ(info.job.problem, saved.problem->describe());
  EXPECT_EQ(info.job.workers, K);
  EXPECT_EQ(info.job.ranks, K);
  EXPECT_EQ(info.job.dim, saved.problem->dim());
  EXPECT_EQ(info.job.seed, 11u);
  EXPECT_EQ(info.step, 10);
  EXPECT_EQ(info.rounds, 10);
  EXPECT_EQ(info.rows_recorded, 3);  // steps 0, 5, 10
  EXPECT_EQ(info.stop_reason, "steps");
  EXPECT_GT(info.time, 0.0);
}

// An algorithm that runs a loop of its own instead of the framework's helpers
// (sync_loop.hpp, server_channel.hpp), so it never starts the checkpoints.
class OwnLoop final : public Algorithm {
 public:
  void run(Worker& w) const override {
    const ReportedModel model{"average", w.x};
    w.monitor.evaluate(w, 0, {&model, 1});
  }
};
HERD_REGISTER_ALGORITHM(test_own_loop,
                        AlgorithmDef<NoSettings>{
                            .name = "test_own_loop",
                            .summary = "A test algorithm without checkpoint support.",
                            .order = 9990,
                            .make = [](const NoSettings&) { return std::make_unique<OwnLoop>(); }});

TEST(Checkpoint, AnAlgorithmThatNeverStartsCheckpointsFailsInsteadOfRunningWithout) {
  const auto problem = shuffled_problem();
  const TempDir dir;
  JobSpec j = job_for(*problem, "test_own_loop", K, 10, 0.1);
  j.checkpoint.file = dir.path("job.ckpt");
  j.checkpoint.every = 5;
  expect_error<std::logic_error>([&] { run_job(j, comm::run_threads); },
                                 "ran without starting the checkpoints");
  EXPECT_FALSE(std::filesystem::exists(dir.path("job.ckpt")));
}

// The algorithms with a server resume from the server's state alone: not bit for bit, but
// every evaluation of the uninterrupted run is recorded once, at the same steps, and the
// counters and the clock carry on from the checkpoint.
class ServerAlgorithms : public ::testing::TestWithParam<const char*> {};

TEST_P(ServerAlgorithms, ResumeFromTheServersCheckpointRecordsEachEvaluationOnce) {
  const auto problem = shuffled_problem();
  const TempDir dir;
  RowSink reference_rows, second_rows;
  JobSpec j = job_for(*problem, GetParam(), K, 120, 0.2, &reference_rows);
  j.monitor.eval_every = 10;
  j.set("algo.period", 2);  // async_local_sgd's local steps
  j.set("algo.rescale_tau", "estimated");
  j.set("algo.ringmaster_mode", "restart");
  j.set("algo.delay_threshold", 3);
  const JobResult expected = run_job(j, sim);

  CrashingSink first_rows(80);
  JobSpec first = j;
  first.monitor.sink = &first_rows;
  first.checkpoint.file = dir.path("job.ckpt");
  first.checkpoint.every = 30;  // results received
  EXPECT_THROW(run_job(first, sim), CrashedOnPurpose);
  const CheckpointInfo info = read_checkpoint_info(first.checkpoint.file);
  EXPECT_TRUE(info.server_only);
  EXPECT_EQ(info.job.ranks, K + 1);
  EXPECT_EQ(info.rounds % 30, 0);
  EXPECT_GT(info.step, 0);
  EXPECT_LT(info.step, 80);
  ASSERT_EQ(info.rows_recorded, info.step / 10 + 1);
  first_rows.rows.resize(std::size_t(info.rows_recorded));

  JobSpec second = first;
  second.monitor.sink = &second_rows;
  second.checkpoint.resume = true;
  const JobResult resumed = run_job(second, sim);
  std::vector<MetricsRow> rows = first_rows.rows;
  rows.insert(rows.end(), second_rows.rows.begin(), second_rows.rows.end());
  ASSERT_EQ(rows.size(), reference_rows.rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].number("step"), reference_rows.rows[i].number("step")) << "row " << i;
    if (i == 0) continue;
    for (const char* counter : {"time", "grads", "rounds", "bytes"})
      EXPECT_GT(rows[i].number(counter), rows[i - 1].number(counter)) << counter << ", row " << i;
  }
  EXPECT_EQ(rows[std::size_t(info.rows_recorded)].number("rounds") > double(info.rounds), true);
  EXPECT_EQ(resumed.stop_reason, "steps");
  // Different interleavings of the same algorithm end about as well.
  const double loss = resumed.last.number("train_loss"),
               reference = expected.last.number("train_loss");
  EXPECT_NEAR(loss, reference, 0.05 * reference);
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, ServerAlgorithms,
                         ::testing::Values("asgd", "rescaled_asgd", "delay_adaptive_asgd",
                                           "ringmaster_asgd", "ia2sgd", "malenia_sgd",
                                           "rennala_sgd", "ringleader_asgd", "async_local_sgd",
                                           "async_easgd", "async_lsgd"));

}  // namespace
}  // namespace herd::algo
