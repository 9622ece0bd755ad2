// herd's torch step, alone: LeNet-5 on Fashion-MNIST (28 x 28), batch 32 drawn with
// replacement, one intra-op thread, plain SGD. One iteration is what a Local SGD worker does
// per local step: the torch problem's oracle (sample the rows, build the input tensor, forward,
// cross-entropy, backward straight into the flat gradient buffer) and LocalOptimizer's step
// on the flat parameter buffer. No job, no evaluation, no start-up: items_per_second is steps
// per second. bench/torch_vs_pytorch.py runs it interleaved with the same loop in PyTorch
// (docs/performance.md, "LibTorch models against PyTorch").
//   build/bench/bench_torch_step [--benchmark_min_time=5]
// The images are read from $HERD_FASHION_DIR (default /usr/share/datasets/fashion-mnist).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "herd/data/idx.hpp"
#include "herd/model/torch/torch_problem.hpp"
#include "herd/optim/optimizer.hpp"

namespace {

using namespace herd;

constexpr std::size_t batch = 32;
constexpr float lr = 0.01f;

std::string fashion_dir() {
  const char* dir = std::getenv("HERD_FASHION_DIR");
  return dir != nullptr ? dir : "/usr/share/datasets/fashion-mnist";
}

void HerdTorchStep(benchmark::State& state) {
  const std::string dir = fashion_dir();
  const std::string images = dir + "/train-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(images)) {
    state.SkipWithError(("no Fashion-MNIST at " + dir + " (set HERD_FASHION_DIR)").c_str());
    return;
  }
  auto train =
      std::make_shared<data::Dataset>(data::read_idx(images, dir + "/train-labels-idx1-ubyte.gz"));
  model::TorchProblemSpec spec;
  spec.train = train;
  spec.shards.emplace_back(train->rows);
  for (std::size_t i = 0; i < train->rows; ++i) spec.shards[0][i] = data::Index(i);
  spec.net = model::TorchNet::lenet5;
  spec.threads = 1;
  spec.batch = batch;
  spec.sampling = data::Sampling::with_replacement;
  spec.seed = 1;
  const auto problem = model::make_torch_problem(std::move(spec));
  const auto oracle = problem->local(0, 1);
  std::vector<float> x(problem->dim()), g(problem->dim());
  problem->initial_point(x);
  optim::LocalOptimizer opt(optim::OptimizerSpec{}, x.size());  // plain SGD
  for (int warm = 0; warm < 20; ++warm) {
    oracle->grad(x, g);
    opt.step(x, g, lr);
  }
  double loss = 0;
  for (auto _ : state) {
    loss += oracle->grad(x, g);
    opt.step(x, g, lr);
  }
  benchmark::DoNotOptimize(loss);
  state.SetItemsProcessed(state.iterations());
  state.counters["mean_loss"] = loss / double(state.iterations());
}
BENCHMARK(HerdTorchStep)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
