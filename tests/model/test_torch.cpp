// The LibTorch models (model/torch/torch_problem.hpp): torch_mlp and a TorchScript export of
// the same network agree with the native MLP; the flat buffer (parameters and BatchNorm
// statistics in x, gradients written into g); synchronous runs bit-identical on threads and
// sim; kill-and-resume bit for bit; the refusals of bad TorchScript files.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../data/cifar_files.hpp"
#include "../data/temp_files.hpp"
#include "herd/algo/checkpoint.hpp"
#include "herd/algo/job.hpp"
#include "herd/comm/sim.hpp"
#include "herd/comm/threads.hpp"
#include "herd/core/error.hpp"
#include "herd/data/image.hpp"
#include "herd/model/mlp.hpp"
#include "herd/model/registry.hpp"
#include "herd/model/torch/torch_problem.hpp"
#include "support/cli_files.hpp"
#include "support/lsan.hpp"
#include "test_data.hpp"

namespace herd::model {
namespace {

using data::TempDir;

constexpr int K = 2;

std::shared_ptr<const data::Dataset> classes_set(std::size_t rows, std::size_t cols, int classes,
                                                 std::uint64_t seed) {
  data::Dataset d = testing::dense_random(rows, cols, seed);
  testing::set_classes(d, classes, seed + 1);
  return testing::shared(std::move(d));
}

std::vector<std::vector<data::Index>> halves(std::size_t rows) {
  std::vector<std::vector<data::Index>> shards(K);
  for (std::size_t i = 0; i < rows; ++i) shards[i * K / rows].push_back(data::Index(i));
  return shards;
}

MlpProblemSpec native_spec(Activation a, double lambda) {
  MlpProblemSpec s;
  s.train = classes_set(64, 6, 3, 5);
  s.test = classes_set(20, 6, 3, 9);
  s.shards = halves(64);
  s.hidden = {7, 5};
  s.activation = a;
  s.lambda = lambda;
  s.batch = 8;
  s.seed = 13;
  return s;
}

TorchProblemSpec torch_spec(const MlpProblemSpec& n, TorchNet net) {
  TorchProblemSpec s;
  s.train = n.train;
  s.test = n.test;
  s.shards = n.shards;
  s.net = net;
  s.hidden = n.hidden;
  s.activation = n.activation;
  s.lambda = n.lambda;
  s.batch = n.batch;
  s.seed = n.seed;
  s.eval_grad = true;
  return s;
}

double relative(double a, double b) {
  return std::abs(a - b) / std::max(std::abs(b), 1e-12);
}

// Same loss and gradient on the same minibatches, to 1e-5 relative (the gradient's error
// relative to its largest entry), and the same evaluation.
void expect_same_oracle(const Problem& native, const Problem& torch) {
  ASSERT_EQ(native.dim(), torch.dim());
  std::vector<float> x(native.dim()), xt(torch.dim());
  native.initial_point(x);
  torch.initial_point(xt);
  ASSERT_EQ(x, xt);  // the same initial parameters, bit for bit
  auto a = native.local(1, 21);
  auto b = torch.local(1, 21);
  std::vector<float> ga(x.size()), gb(x.size());
  for (int step = 0; step < 3; ++step) {
    const double la = a->grad(x, ga);
    const double lb = b->grad(x, gb);
    EXPECT_LT(relative(lb, la), 1e-5) << "step " << step << ": " << la << " vs " << lb;
    float top = 0;
    for (const float v : ga) top = std::max(top, std::abs(v));
    ASSERT_GT(top, 0.0f);
    for (std::size_t j = 0; j < x.size(); ++j)
      ASSERT_LE(std::abs(ga[j] - gb[j]), 1e-5 * top) << "step " << step << ", entry " << j;
    for (std::size_t j = 0; j < x.size(); ++j) x[j] -= 0.5f * ga[j];  // move on
  }
  const Evaluation ea = native.evaluate(x), eb = torch.evaluate(x);
  EXPECT_LT(relative(eb.train_loss, ea.train_loss), 1e-5);
  EXPECT_LT(relative(eb.grad_norm2, ea.grad_norm2), 1e-4);
  EXPECT_NEAR(*eb.train_acc, *ea.train_acc, 1e-12);  // weights summed in another order
  EXPECT_LT(relative(*eb.test_loss, *ea.test_loss), 1e-5);
  EXPECT_NEAR(*eb.test_acc, *ea.test_acc, 1e-12);
}

TEST(TorchMlp, MatchesTheNativeMlp) {
  for (const Activation a : {Activation::relu, Activation::tanh}) {
    SCOPED_TRACE(to_string(a));
    const MlpProblemSpec spec = native_spec(a, 0.01);
    const MlpProblem native(spec);
    const auto torch = make_torch_problem(torch_spec(spec, TorchNet::mlp));
    expect_same_oracle(native, *torch);
  }
}

// ---- TorchScript files written without Python ------------------------------------------

torch::jit::Module script_module() {
  torch::jit::Module m("HerdTestNet");
  m.register_attribute("training", c10::BoolType::get(), true);
  return m;
}

// The native MLP 6 -> 7 -> 5 -> 3 (relu) at its initial point, as a TorchScript module.
std::string save_mlp_script(const MlpProblem& native, const std::string& path) {
  std::vector<float> x(native.dim());
  native.initial_point(x);
  const auto& layers = native.net().layers();
  torch::jit::Module m = script_module();
  std::size_t off = 0;
  for (std::size_t l = 0; l + 1 < layers.size(); ++l) {
    const auto in = std::int64_t(layers[l]), out = std::int64_t(layers[l + 1]);
    const at::Tensor w = torch::from_blob(x.data() + off, {out, in}, torch::kFloat).clone();
    const at::Tensor b = torch::from_blob(x.data() + off + std::size_t(out * in), {out}).clone();
    const std::string index = std::to_string(l);  // (GCC 12 warns on "w" + to_string(l))
    m.register_parameter(std::string("w").append(index), w.requires_grad_(), false);
    m.register_parameter(std::string("b").append(index), b.requires_grad_(), false);
    off += std::size_t(out * (in + 1));
  }
  m.define(R"(
    def forward(self, x):
        h = torch.relu(torch.matmul(x, self.w0.t()) + self.b0)
        h = torch.relu(torch.matmul(h, self.w1.t()) + self.b1)
        return torch.matmul(h, self.w2.t()) + self.b2
  )");
  m.save(path);
  return path;
}

TEST(TorchScript, ExportOfTheMlpMatchesTheNativeMlp) {
  const TempDir dir;
  const MlpProblemSpec spec = native_spec(Activation::relu, 0.01);
  const MlpProblem native(spec);
  TorchProblemSpec ts = torch_spec(spec, TorchNet::script);
  ts.path = save_mlp_script(native, dir.path("mlp.pt"));
  const auto torch = make_torch_problem(ts);
  expect_same_oracle(native, *torch);
}

// Linear 6 -> 5, BatchNorm (running statistics as buffers), ReLU, linear 5 -> 3.
std::string save_batchnorm_script(const std::string& path) {
  torch::manual_seed(3);
  torch::jit::Module m = script_module();
  m.register_parameter("w0", (torch::randn({5, 6}) * 0.5).requires_grad_(), false);
  m.register_parameter("b0", torch::zeros({5}).requires_grad_(), false);
  m.register_parameter("gamma", torch::ones({5}).requires_grad_(), false);
  m.register_parameter("beta", torch::zeros({5}).requires_grad_(), false);
  m.register_buffer("running_mean", torch::zeros({5}));
  m.register_buffer("running_var", torch::ones({5}));
  m.register_parameter("w1", (torch::randn({3, 5}) * 0.5).requires_grad_(), false);
  m.register_parameter("b1", torch::zeros({3}).requires_grad_(), false);
  m.define(R"(
    def forward(self, x):
        h = torch.matmul(x, self.w0.t()) + self.b0
        h = torch.batch_norm(h, self.gamma, self.beta, self.running_mean, self.running_var,
                             self.training, 0.1, 1e-5, False)
        return torch.matmul(torch.relu(h), self.w1.t()) + self.b1
  )");
  m.save(path);
  return path;
}

TorchProblemSpec batchnorm_spec(const std::string& path) {
  TorchProblemSpec s;
  s.train = classes_set(64, 6, 3, 5);
  s.shards = halves(64);
  s.net = TorchNet::script;
  s.path = path;
  s.batch = 8;
  s.sampling = data::Sampling::shuffled_epochs;
  s.eval_grad = true;
  return s;
}

TEST(TorchFlatBuffer, ParametersAndRunningStatisticsLiveInXGradientsInG) {
  const TempDir dir;
  const auto p = make_torch_problem(batchnorm_spec(save_batchnorm_script(dir.path("bn.pt"))));
  const std::size_t params = 5 * 6 + 5 + 5 + 5 + 3 * 5 + 3;
  ASSERT_EQ(p->dim(), params + 10);  // + running mean and variance
  std::vector<float> x(p->dim());
  p->initial_point(x);
  // Parameters first (module order: w0 b0 gamma beta w1 b1), then running_mean, running_var.
  for (std::size_t j = 0; j < 5; ++j) {
    EXPECT_EQ(x[params + j], 0.0f);
    EXPECT_EQ(x[params + 5 + j], 1.0f);
  }
  auto local = p->local(0, 4);
  std::vector<float> g(p->dim(), 7.0f);
  const std::vector<float> before = x;
  local->grad(x, g);
  // Training mode: BatchNorm moved its running statistics, in x.
  bool moved = false;
  for (std::size_t j = params; j < p->dim(); ++j) moved = moved || x[j] != before[j];
  EXPECT_TRUE(moved);
  for (std::size_t j = 0; j < params; ++j) EXPECT_EQ(x[j], before[j]);    // parameters untouched
  for (std::size_t j = params; j < p->dim(); ++j) EXPECT_EQ(g[j], 0.0f);  // no gradient
  float norm = 0;
  for (std::size_t j = 0; j < params; ++j) norm += g[j] * g[j];
  EXPECT_GT(norm, 0.0f);  // backward wrote into g
  // A second oracle at another x: its own views (one module per worker, never copied).
  auto other = p->local(1, 4);
  std::vector<float> x2 = before, g2(p->dim());
  other->grad(x2, g2);
  EXPECT_NE(g2, std::vector<float>(p->dim(), 0.0f));
  const Evaluation e = p->evaluate(x);
  EXPECT_TRUE(std::isfinite(e.train_loss));
  EXPECT_GT(e.grad_norm2, 0.0);
}

// The evaluation at x_0, and after `steps` plain SGD steps of worker 0's oracle.
std::pair<Evaluation, Evaluation> descent(const Problem& p, int steps, float lr) {
  std::vector<float> x(p.dim()), g(p.dim());
  p.initial_point(x);
  const Evaluation first = p.evaluate(x);
  auto local = p.local(0, 1);
  for (int t = 0; t < steps; ++t) {
    local->grad(x, g);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] -= lr * g[j];
  }
  return {first, p.evaluate(x)};
}

TEST(TorchLeNet5, BuildsOnSquareImagesAndDescends) {
  data::Dataset d = testing::dense_random(48, 16 * 16, 3);
  testing::set_classes(d, 4, 4);
  TorchProblemSpec s;
  s.train = testing::shared(std::move(d));
  s.shards = halves(48);
  s.net = TorchNet::lenet5;
  s.batch = 48 / K;
  s.sampling = data::Sampling::shuffled_epochs;
  const auto p = make_torch_problem(s);
  // 16 x 16: conv1 (1 -> 6), conv2 (6 -> 16), 16 * 2 * 2 -> 120 -> 84 -> 4.
  EXPECT_EQ(p->dim(), std::size_t(156 + 2416 + (64 * 120 + 120) + (120 * 84 + 84) + (84 * 4 + 4)));
  const auto [first, e] = descent(*p, 30, 0.05f);
  EXPECT_LT(e.train_loss, first.train_loss);
  EXPECT_TRUE(std::isnan(e.grad_norm2));  // model.eval_grad = false: forward passes only
  s.input_shape = {1, 8, 32};
  EXPECT_THROW(make_torch_problem(s), InvalidInput);  // below 12 x 12
  s.input_shape = {2, 16, 16};
  EXPECT_THROW(make_torch_problem(s), InvalidInput);  // 512 values, 256 features
}

TorchProblemSpec image_spec(TorchNet net, std::size_t side, std::size_t rows) {
  data::Dataset d = testing::dense_random(rows, 3 * side * side, 3);
  testing::set_classes(d, 4, 4);
  TorchProblemSpec s;
  s.train = testing::shared(std::move(d));
  s.shards = halves(rows);
  s.net = net;
  s.batch = 4;
  s.sampling = data::Sampling::shuffled_epochs;
  return s;
}

TEST(TorchImageNets, ResNet20AndVgg16HaveTheirSizesAndBatchNormState) {
  // ResNet-20 (3 x 8 x 8 inferred from 192 features): 269,332 parameters for 4 classes (the
  // 0.27M of He et al. with a 4-way classifier), running mean and variance of 688 channels.
  const auto resnet = make_torch_problem(image_spec(TorchNet::resnet20, 8, 16));
  EXPECT_EQ(resnet->dim(), std::size_t(269332 + 2 * 688));
  std::vector<float> x(resnet->dim()), g(resnet->dim());
  resnet->initial_point(x);
  EXPECT_EQ(x[432], 1.0f);       // the first BatchNorm's scale, after the first convolution
  EXPECT_EQ(x[432 + 16], 0.0f);  // its shift
  const std::vector<float> before = x;
  resnet->local(0, 1)->grad(x, g);
  EXPECT_NE(x, before);  // running statistics moved, in x
  EXPECT_TRUE(std::isfinite(resnet->evaluate(x).train_loss));
  // VGG-16 with BatchNorm on 3 x 32 x 32: 14,710,464 conv weights, 2 x 4,224 BatchNorm
  // parameters, a 512 -> 4 classifier; as many buffer values as BatchNorm parameters.
  const auto vgg = make_torch_problem(image_spec(TorchNet::vgg16, 32, 4));
  EXPECT_EQ(vgg->dim(), std::size_t(14710464 + 8448 + 2052 + 8448));
  TorchProblemSpec small = image_spec(TorchNet::vgg16, 16, 4);
  EXPECT_THROW(make_torch_problem(small), InvalidInput);  // below 32 x 32
}

TEST(TorchCnn7, HasItsSizeAndDescends) {
  // 3 x 32 x 32, 4 classes: conv 3 -> 64 (1,792), 64 -> 64 (36,928), 64 -> 128 (73,856),
  // 128 -> 128 (147,584), linear 8192 -> 256 (2,097,408), 256 -> 256 (65,792), 256 -> 4
  // (1,028); with 10 classes (CIFAR-10) 2,425,930. No BatchNorm: no buffers.
  TorchProblemSpec s = image_spec(TorchNet::cnn7, 32, 8);
  s.batch = 4;
  const auto p = make_torch_problem(s);
  EXPECT_EQ(p->dim(), std::size_t(2424388));
  EXPECT_EQ(p->averaged_dim(), p->dim());
  const auto [first, last] = descent(*p, 10, 0.01f);
  EXPECT_LT(last.train_loss, first.train_loss);
  TorchProblemSpec tiny = image_spec(TorchNet::cnn7, 3, 8);  // 3 x 3: below 4 x 4
  EXPECT_THROW(make_torch_problem(tiny), InvalidInput);
}

// ---- Image transforms -----------------------------------------------------------------

// ResNet-20 on 3 x 8 x 8 images, normalised per channel and augmented.
TorchProblemSpec augmented_spec() {
  TorchProblemSpec s = image_spec(TorchNet::resnet20, 8, 16);
  s.normalize = true;
  s.augment = true;
  return s;
}

TEST(TorchTransforms, AugmentationDrawsFromTheWorkersStreamAndResumesExactly) {
  const auto plain = make_torch_problem(image_spec(TorchNet::resnet20, 8, 16));
  const auto augmented = make_torch_problem(augmented_spec());
  std::vector<float> x(plain->dim()), g0(x.size()), g1(x.size()), g2(x.size());
  plain->initial_point(x);
  // The same x, the same stream: reproducible; different from the unaugmented gradient.
  std::vector<float> xa = x, xb = x, xc = x;
  auto a = augmented->local(1, 7);
  auto b = augmented->local(1, 7);
  a->grad(xa, g1);
  b->grad(xb, g2);
  EXPECT_EQ(g1, g2);
  auto unaugmented = plain->local(1, 7);
  unaugmented->grad(xc, g0);
  EXPECT_NE(g0, g1);
  // The augmentation's draws are in the saved state: a restored oracle continues exactly.
  const OracleState saved = a->save_state();
  EXPECT_EQ(saved.order, unaugmented->save_state().order);  // the same batch ...
  EXPECT_NE(saved.rng, unaugmented->save_state().rng);      // ... and 3 draws per image more
  a->grad(xa, g1);
  auto c = augmented->local(1, 7);
  c->restore_state(saved);
  std::vector<float> xr = xb;
  c->grad(xr, g2);
  EXPECT_EQ(g1, g2);
  EXPECT_EQ(xa, xr);  // the same BatchNorm statistics too
  // Shapes the transforms cannot take: flat features, statistics of the wrong length.
  TorchProblemSpec flat = torch_spec(native_spec(Activation::relu, 0), TorchNet::mlp);
  flat.augment = true;
  EXPECT_THROW(make_torch_problem(flat), InvalidInput);
  TorchProblemSpec given = augmented_spec();
  given.channel_mean = {0.5, 0.5};
  given.channel_std = {0.25, 0.25};
  EXPECT_THROW(make_torch_problem(given), InvalidInput);  // 2 values, 3 channels
}

TEST(TorchTransforms, NormalisationUsesTheTrainingSetsOrTheGivenStatistics) {
  // Given statistics equal to the computed ones give the same evaluation as computed ones.
  TorchProblemSpec computed = image_spec(TorchNet::lenet5, 12, 16);
  computed.normalize = true;
  const auto p = make_torch_problem(computed);
  const data::ChannelStats stats =
      data::channel_stats(*computed.train, data::ImageShape{3, 12, 12});
  // testing::dense_random: 0 with probability 0.35, else a standard normal: mean about 0,
  // std about sqrt(0.65) = 0.806 over 16 x 144 values per channel, not exactly.
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(stats.mean[c], 0.0, 0.1);
    EXPECT_NEAR(stats.std[c], 0.806, 0.03);
    EXPECT_NE(stats.std[c], 0.806);
  }
  TorchProblemSpec given = computed;
  given.channel_mean = stats.mean;
  given.channel_std = stats.std;
  const auto q = make_torch_problem(given);
  TorchProblemSpec none = computed;
  none.normalize = false;
  const auto r = make_torch_problem(none);
  std::vector<float> x(p->dim());
  p->initial_point(x);
  EXPECT_EQ(p->evaluate(x).train_loss, q->evaluate(x).train_loss);
  EXPECT_NE(p->evaluate(x).train_loss, r->evaluate(x).train_loss);
}

// ---- Runs ----------------------------------------------------------------------------

const algo::Runtime threads = comm::run_threads;
const algo::Runtime sim = [](int ranks, const std::function<void(comm::Communicator&)>& program) {
  comm::SimSpec spec;
  for (int r = 0; r < ranks; ++r) spec.compute.tau.push_back(0.5 + 0.25 * r);
  comm::run_sim(spec, ranks, program);
};

algo::JobSpec job(const Problem& p, const std::string& algo, std::int64_t steps) {
  algo::JobSpec j;
  j.problem = &p;
  j.algorithm = algo;
  j.workers = K;
  j.seed = 11;
  j.set("algo.period", 3);
  j.schedule.lr = 0.1;
  j.optimizer.rule = optim::Rule::momentum;
  j.monitor.problem = &p;
  j.monitor.stop.max_steps = steps;
  j.monitor.eval_every = 5;
  return j;
}

TEST(TorchRuns, LocalSgdIsBitIdenticalOnThreadsAndSim) {
  const TempDir dir;
  const auto mlp = make_torch_problem(torch_spec(native_spec(Activation::relu, 0), TorchNet::mlp));
  const auto bn = make_torch_problem(batchnorm_spec(save_batchnorm_script(dir.path("bn.pt"))));
  const auto resnet = make_torch_problem(image_spec(TorchNet::resnet20, 8, 16));
  const auto augmented = make_torch_problem(augmented_spec());  // crop, flip, normalisation
  for (const Problem* p : {mlp.get(), bn.get(), resnet.get(), augmented.get()}) {
    const algo::JobResult a = algo::run_job(job(*p, "local_sgd", 20), threads);
    const algo::JobResult b = algo::run_job(job(*p, "local_sgd", 20), sim);
    EXPECT_EQ(a.final_x, b.final_x);
    EXPECT_EQ(a.last.number("train_loss"), b.last.number("train_loss"));
    std::vector<float> x0(p->dim());
    p->initial_point(x0);
    EXPECT_NE(a.final_x[0], x0);
  }
}

struct CrashedOnPurpose : std::runtime_error {
  CrashedOnPurpose() : std::runtime_error("crashed on purpose") {}
};

class CrashingSink final : public algo::MetricsSink {
 public:
  explicit CrashingSink(std::int64_t crash_step) : crash_step_(crash_step) {}
  void record(const algo::MetricsRow& row) override {
    if (std::int64_t(row.number("step")) == crash_step_) throw CrashedOnPurpose();
  }

 private:
  std::int64_t crash_step_;
};

// With BatchNorm: the running statistics are in x, so the checkpoint keeps them; also when
// they stay per worker (model.average_buffers = false), with augmented inputs.
TEST(TorchRuns, KillAndResumeEndsOnTheUninterruptedParameters) {
  const TempDir dir;
  const auto bn = make_torch_problem(batchnorm_spec(save_batchnorm_script(dir.path("bn.pt"))));
  TorchProblemSpec own = augmented_spec();
  own.average_buffers = false;
  const auto augmented = make_torch_problem(own);
  const std::pair<const Problem*, const algo::Runtime*> runs[] = {
      {bn.get(), &threads}, {bn.get(), &sim}, {augmented.get(), &sim}};
  for (const auto& [p, runtime] : runs) {
    const algo::JobSpec base = job(*p, "local_sgd", 30);
    const algo::JobResult expected = algo::run_job(base, *runtime);
    CrashingSink crash(25);
    algo::JobSpec first = base;
    first.monitor.sink = &crash;
    first.checkpoint.file = dir.path("job.ckpt");
    first.checkpoint.every = 2;  // rounds: steps 6, 12, 18, 24, 30
    EXPECT_THROW(algo::run_job(first, *runtime), CrashedOnPurpose);
    EXPECT_EQ(algo::read_checkpoint_info(first.checkpoint.file).step, 24);
    algo::JobSpec second = first;
    second.monitor.sink = nullptr;
    second.checkpoint.resume = true;
    EXPECT_EQ(algo::run_job(second, *runtime).final_x, expected.final_x);
  }
}

// model.average_buffers: after a round of Local SGD the parameters are equal on every
// worker, and the BatchNorm statistics are too (true) or each worker's own (false).
TEST(TorchRuns, BatchNormStatisticsAreAveragedOrStayPerWorker) {
  const TempDir dir;
  const std::string path = save_batchnorm_script(dir.path("bn.pt"));
  const std::size_t params = 63;  // then running mean and variance, 5 each
  for (const bool average : {true, false}) {
    SCOPED_TRACE(average);
    TorchProblemSpec s = batchnorm_spec(path);
    s.average_buffers = average;
    const auto p = make_torch_problem(s);
    ASSERT_EQ(p->dim(), params + 10);
    EXPECT_EQ(p->averaged_dim(), average ? params + 10 : params);
    const algo::JobResult r = algo::run_job(job(*p, "local_sgd", 3), threads);  // one round
    const std::vector<float>&x0 = r.final_x[0], &x1 = r.final_x[1];
    EXPECT_TRUE(std::equal(x0.begin(), x0.begin() + params, x1.begin()));
    int differ = 0;
    for (std::size_t j = params; j < x0.size(); ++j) differ += x0[j] != x1[j];
    EXPECT_EQ(differ, average ? 0 : 10);
  }
}

// ---- Refusals --------------------------------------------------------------------------

// InvalidInput whose message names `path`.
void expect_refused(const TorchProblemSpec& spec, const std::string& path,
                    const std::string& what) {
  try {
    make_torch_problem(spec);
    ADD_FAILURE() << "accepted " << what;
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(TorchScript, BadFilesAreRefusedNamingTheFile) {
  const TempDir dir;
  TorchProblemSpec s = torch_spec(native_spec(Activation::relu, 0), TorchNet::script);
  s.path = dir.path("missing.pt");
  expect_refused(s, s.path, "a missing file");
  s.path = dir.path("");
  expect_refused(s, s.path, "a directory");
  s.path = dir.write("corrupt.pt", "PK\x03\x04 not really a zip archive");
  expect_refused(s, s.path, "a corrupt file");
  s.path = dir.path("tensor.pt");
  torch::save(torch::ones({3}), s.path);  // a zip archive, but a tensor, not TorchScript
  expect_refused(s, s.path, "a saved tensor");
  // Logits for 2 classes; the labels have 3.
  torch::jit::Module m = script_module();
  m.register_parameter("w", torch::zeros({2, 6}).requires_grad_(), false);
  m.define("def forward(self, x):\n    return torch.matmul(x, self.w.t())\n");
  s.path = dir.path("two_classes.pt");
  m.save(s.path);
  expect_refused(s, s.path, "logits too narrow");
  // Input of the wrong width.
  torch::jit::Module wide = script_module();
  wide.register_parameter("w", torch::zeros({3, 9}).requires_grad_(), false);
  wide.define("def forward(self, x):\n    return torch.matmul(x, self.w.t())\n");
  s.path = dir.path("nine_features.pt");
  wide.save(s.path);
  expect_refused(s, s.path, "a network for 9 features");
  // Through the registry (Config::check): the file is checked before any data is read.
  const ModelContext context{.workers = K, .batch = 4};
  EXPECT_THROW(model_or_throw("torchscript").check({}, context), InvalidInput);  // no path
  EXPECT_THROW(
      model_or_throw("torchscript").check({{"model.path", dir.path("missing.pt")}}, context),
      InvalidInput);
  EXPECT_THROW(model_or_throw("lenet5").check({{"model.device", std::string("cuda")}}, context),
               InvalidInput);
  EXPECT_THROW(
      model_or_throw("lenet5").check({{"model.input_shape", std::string("28,28")}}, context),
      InvalidInput);
}

// A copy of a TorchScript file whose format version is 100: one saved by a newer PyTorch.
std::string bump_version(const std::string& from, const std::string& to) {
  caffe2::serialize::PyTorchStreamReader in(from);
  caffe2::serialize::PyTorchStreamWriter out(to);
  const std::string version = "100\n";
  bool bumped = false;
  for (const std::string& name : in.getAllRecords()) {
    if (name == "version" || name == ".data/version") {
      out.writeRecord(name, version.data(), version.size());
      bumped = true;
      continue;
    }
    const auto [data, size] = in.getRecord(name);
    out.writeRecord(name, data.get(), size);
  }
  EXPECT_TRUE(bumped);
  out.writeEndOfFile();
  return to;
}

TEST(TorchScript, AFileFromANewerPyTorchIsRefusedNamingTheFile) {
  const TempDir dir;
  const MlpProblemSpec spec = native_spec(Activation::relu, 0.01);
  TorchProblemSpec s = torch_spec(spec, TorchNet::script);
  s.path = save_mlp_script(MlpProblem(spec), dir.path("mlp.pt"));
  ASSERT_NO_THROW(make_torch_problem(s));  // the original loads
  s.path = bump_version(s.path, dir.path("newer.pt"));
  try {
    // LibTorch loses the zip reader's state when it refuses the file (tools/lsan.supp).
    const test::LeaksIgnored libtorch_error_path;
    make_torch_problem(s);
    ADD_FAILURE() << "a file of format version 100 was accepted";
  } catch (const InvalidInput& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(s.path + " was saved by a newer PyTorch than this LibTorch (1.13"),
              std::string::npos)
        << what;
  }
  // Through herd run: exit code 2, the file named, nothing written.
  std::ofstream(dir.path("train.svm")) << "0 1:0.5 2:1\n1 1:-0.5 3:2\n2 2:0.25\n0 3:1\n";
  std::ofstream(dir.path("run.toml")) << "[data]\nformat = \"libsvm\"\ntrain = \"train.svm\"\n"
                                      << "[model]\nname = \"torchscript\"\npath = \"newer.pt\"\n"
                                      << "[algo]\nworkers = 2\nbatch = 1\n[stop]\nsteps = 3\n";
  const std::string out = dir.path("out");
  // herd meets the same loss; LeakSanitizer needs full stacks to match it by name.
  const test::FullStacksInChildren full_stacks;
  const auto [code, err] = test::herd_stderr("run " + dir.path("run.toml") + " --out " + out);
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find(s.path), std::string::npos) << err;
  EXPECT_NE(err.find("newer PyTorch"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// examples/cifar_cnn7.toml on tiny generated CIFAR-10 files: it parses, and its Local SGD
// entry runs two steps with normalisation and augmentation; a bad file is refused (exit 2)
// naming the file and the record.
TEST(TorchExamples, CifarCnn7RunsOnGeneratedFiles) {
  const TempDir dir;
  data::write_cifar_dir(dir, 4, 4);
  const std::string example = std::string(HERD_SOURCE_DIR) + "/examples/cifar_cnn7.toml";
  const std::string out = dir.path("out");
  const std::string args = "run " + example + " --entry \"Local SGD\" data.dir=" + dir.path("") +
                           " algo.workers=2 algo.batch=4 stop.epochs=0 stop.steps=2 eval.every=2";
  const auto [code, err] = test::herd_stderr(args + " --out " + out);
  ASSERT_EQ(code, 0) << err;
  const std::string metrics = test::read(std::filesystem::path(out) / "metrics.jsonl");
  EXPECT_NE(metrics.find("\"test_acc\""), std::string::npos) << metrics;
  const std::string config = test::read(std::filesystem::path(out) / "config.toml");
  EXPECT_NE(config.find("augment = \"crop_flip\""), std::string::npos);
  // Label 12 in record 2 of data_batch_3.bin.
  std::string bytes = data::cifar_records(4, 6, 3);
  bytes[2 * 3073] = char(12);
  const std::string bad = dir.write("data_batch_3.bin", bytes);
  const std::string out2 = dir.path("out2");
  const auto [code2, err2] = test::herd_stderr(args + " --out " + out2);
  EXPECT_EQ(code2, 2) << err2;
  EXPECT_NE(err2.find(bad + ": record 2 (byte offset 6146) has label 12"), std::string::npos)
      << err2;
  EXPECT_FALSE(std::filesystem::exists(out2));
  // CIFAR-10 has its own test file: data.split is refused.
  const auto [code3, err3] = test::herd_stderr(args + " data.split=10 --out " + out2);
  EXPECT_EQ(code3, 2) << err3;
  EXPECT_NE(err3.find("data.split: data.format = \"cifar10\" has its own test set"),
            std::string::npos)
      << err3;
}

// `herd run` with a bad TorchScript file: exit code 2, the file named, nothing written.
TEST(TorchScript, HerdRunRefusesABadFileBeforeWritingAnything) {
  const TempDir dir;
  std::ofstream(dir.path("train.svm")) << "0 1:0.5 2:1\n1 1:-0.5 3:2\n2 2:0.25\n0 3:1\n";
  const std::string bad = dir.write("bad.pt", "not torchscript");
  std::ofstream(dir.path("run.toml")) << "[data]\nformat = \"libsvm\"\ntrain = \"train.svm\"\n"
                                      << "[model]\nname = \"torchscript\"\npath = \"bad.pt\"\n"
                                      << "[algo]\nworkers = 2\nbatch = 1\n"
                                      << "[stop]\nsteps = 3\n";
  const std::string out = dir.path("out");
  const auto [code, err] = test::herd_stderr("run " + dir.path("run.toml") + " --out " + out);
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find(bad), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace herd::model
