// The LibTorch models: the networks, the flat-buffer binding, the problem and its per-worker
// oracles, and their registration. The only translation unit that includes torch's headers.
#include "herd/model/torch/torch_problem.hpp"

#include <fmt/format.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <sstream>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"
#include "herd/core/text.hpp"
#include "herd/data/image.hpp"
#include "herd/model/knobs.hpp"
#include "herd/model/linear_models.hpp"
#include "herd/model/registry.hpp"

namespace herd::model {
namespace {

// Rows per forward/backward block of a full-set evaluation (bounds the activations' memory).
constexpr std::size_t eval_block_rows = 1000;

std::string shape_text(c10::IntArrayRef shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return s;
}

// ---- The networks ----------------------------------------------------------------------

// What herd needs of a network, whether written with the C++ API or loaded from TorchScript.
class Net {
 public:
  virtual ~Net() = default;
  virtual std::vector<at::Tensor> parameters() = 0;
  virtual std::vector<std::string> parameter_names() = 0;  // in the order of parameters()
  virtual std::vector<at::Tensor> buffers() = 0;
  virtual at::Tensor forward(const at::Tensor& input) = 0;
  virtual void train(bool on) = 0;
};

// features -> hidden... -> classes, as MlpNet (model/mlp.hpp): nn::Linear's weight is
// out x in row-major and its bias follows it, the native MLP's flat layout.
struct MlpModule : torch::nn::Module {
  MlpModule(const std::vector<std::size_t>& layers, Activation a) : activation(a) {
    for (std::size_t l = 0; l + 1 < layers.size(); ++l)
      fc.push_back(
          register_module("fc" + std::to_string(l),
                          torch::nn::Linear(std::int64_t(layers[l]), std::int64_t(layers[l + 1]))));
  }
  at::Tensor forward(at::Tensor x) {
    for (std::size_t l = 0; l < fc.size(); ++l) {
      x = fc[l]->forward(x);
      if (l + 1 < fc.size()) x = activation == Activation::relu ? torch::relu(x) : torch::tanh(x);
    }
    return x;
  }
  Activation activation;
  std::vector<torch::nn::Linear> fc;
};

// LeNet-5 with ReLU and max pooling: conv 5x5 (C -> 6, padding 2), pool 2, conv 5x5 (6 -> 16),
// pool 2, linear 16 h w -> 120 -> 84 -> classes. For 28 x 28 images: h = w = 5.
struct LeNet5Module : torch::nn::Module {
  LeNet5Module(std::int64_t channels, std::int64_t height, std::int64_t width, std::int64_t classes)
      : conv1(register_module(
            "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 6, 5).padding(2)))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 16, 5)))),
        fc1(register_module(
            "fc1", torch::nn::Linear(16 * ((height / 2 - 4) / 2) * ((width / 2 - 4) / 2), 120))),
        fc2(register_module("fc2", torch::nn::Linear(120, 84))),
        fc3(register_module("fc3", torch::nn::Linear(84, classes))) {}
  at::Tensor forward(at::Tensor x) {
    x = torch::max_pool2d(torch::relu(conv1->forward(x)), 2);
    x = torch::max_pool2d(torch::relu(conv2->forward(x)), 2);
    x = x.flatten(1);
    x = torch::relu(fc1->forward(x));
    x = torch::relu(fc2->forward(x));
    return fc3->forward(x);
  }
  torch::nn::Conv2d conv1, conv2;
  torch::nn::Linear fc1, fc2, fc3;
};

// cnn7, the 7-layer CNN of our reading of the LSGD paper (Teng et al. 2019), whose layers the
// paper does not list: conv 3x3 (C -> 64), conv 3x3 (64 -> 64), pool 2, conv 3x3 (64 -> 128),
// conv 3x3 (128 -> 128), pool 2, linear 128 (h/4) (w/4) -> 256 -> 256 -> classes; padding 1,
// ReLU after every layer but the last, no BatchNorm. 2,425,930 parameters for CIFAR-10.
struct Cnn7Module : torch::nn::Module {
  Cnn7Module(std::int64_t channels, std::int64_t height, std::int64_t width, std::int64_t classes)
      : conv1(register_module("conv1", conv(channels, 64))),
        conv2(register_module("conv2", conv(64, 64))),
        conv3(register_module("conv3", conv(64, 128))),
        conv4(register_module("conv4", conv(128, 128))),
        fc1(register_module("fc1", torch::nn::Linear(128 * (height / 4) * (width / 4), 256))),
        fc2(register_module("fc2", torch::nn::Linear(256, 256))),
        fc3(register_module("fc3", torch::nn::Linear(256, classes))) {}
  static torch::nn::Conv2d conv(std::int64_t in, std::int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
  }
  at::Tensor forward(at::Tensor x) {
    x = torch::relu(conv2->forward(torch::relu(conv1->forward(x))));
    x = torch::max_pool2d(x, 2);
    x = torch::relu(conv4->forward(torch::relu(conv3->forward(x))));
    x = torch::max_pool2d(x, 2).flatten(1);
    x = torch::relu(fc1->forward(x));
    x = torch::relu(fc2->forward(x));
    return fc3->forward(x);
  }
  torch::nn::Conv2d conv1, conv2, conv3, conv4;
  torch::nn::Linear fc1, fc2, fc3;
};

// ResNet-20 for CIFAR-10 (He et al. 2016, section 4.2): conv 3x3 (C -> 16), BatchNorm, ReLU;
// three stages of three basic blocks (16, 32, 64 channels; the 2nd and 3rd stages start with
// stride 2); global average pooling; linear 64 -> classes. Shortcuts are parameter-free
// (option A): subsampled identity, zero-padded to the new channels.
struct BasicBlock : torch::nn::Module {
  BasicBlock(std::int64_t in, std::int64_t out, std::int64_t stride)
      : conv1(register_module(
            "conv1",
            torch::nn::Conv2d(
                torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(out))),
        conv2(register_module(
            "conv2",
            torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(out))),
        pad(out - in),
        stride_(stride) {}
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor h = torch::relu(bn1->forward(conv1->forward(x)));
    h = bn2->forward(conv2->forward(h));
    at::Tensor shortcut = x;
    if (stride_ != 1)
      shortcut = shortcut.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_);
    if (pad > 0)
      shortcut = torch::constant_pad_nd(shortcut, {0, 0, 0, 0, pad / 2, pad - pad / 2}, 0);
    return torch::relu(h + shortcut);
  }
  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  torch::nn::BatchNorm2d bn2;
  std::int64_t pad, stride_;
};

struct ResNet20Module : torch::nn::Module {
  ResNet20Module(std::int64_t channels, std::int64_t classes)
      : conv(register_module(
            "conv",
            torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 16, 3).padding(1).bias(false)))),
        bn(register_module("bn", torch::nn::BatchNorm2d(16))) {
    std::int64_t in = 16;
    for (const std::int64_t width : {16, 32, 64})
      for (int b = 0; b < 3; ++b) {
        const std::int64_t stride = (b == 0 && width != 16) ? 2 : 1;
        blocks.push_back(register_module("block" + std::to_string(blocks.size()),
                                         std::make_shared<BasicBlock>(in, width, stride)));
        in = width;
      }
    fc = register_module("fc", torch::nn::Linear(64, classes));
  }
  at::Tensor forward(at::Tensor x) {
    x = torch::relu(bn->forward(conv->forward(x)));
    for (const auto& b : blocks) x = b->forward(x);
    return fc->forward(x.mean({2, 3}));
  }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
  std::vector<std::shared_ptr<BasicBlock>> blocks;
  torch::nn::Linear fc{nullptr};
};

// VGG-16 with BatchNorm for CIFAR-10: 13 conv 3x3 + BatchNorm + ReLU in five stages (64, 128,
// 256, 512, 512 channels) each closed by max pooling 2, then global average pooling (1 x 1
// for 32 x 32 images) and linear 512 -> classes.
struct Vgg16Module : torch::nn::Module {
  Vgg16Module(std::int64_t channels, std::int64_t classes) {
    const std::int64_t cfg[] = {64, 64,  0,   128, 128, 0,   256, 256, 256,
                                0,  512, 512, 512, 0,   512, 512, 512, 0};
    std::int64_t in = channels;
    for (const std::int64_t width : cfg) {
      if (width == 0) {
        features->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
        continue;
      }
      features->push_back(
          torch::nn::Conv2d(torch::nn::Conv2dOptions(in, width, 3).padding(1).bias(false)));
      features->push_back(torch::nn::BatchNorm2d(width));
      features->push_back(torch::nn::ReLU());
      in = width;
    }
    register_module("features", features);
    fc = register_module("fc", torch::nn::Linear(512, classes));
  }
  at::Tensor forward(const at::Tensor& x) { return fc->forward(features->forward(x).mean({2, 3})); }
  torch::nn::Sequential features;
  torch::nn::Linear fc{nullptr};
};

template <class M>
class ModuleNet final : public Net {
 public:
  explicit ModuleNet(std::shared_ptr<M> m) : m_(std::move(m)) {}
  std::vector<at::Tensor> parameters() override { return m_->parameters(); }
  std::vector<std::string> parameter_names() override {
    std::vector<std::string> out;
    for (const auto& p : m_->named_parameters()) out.push_back(p.key());
    return out;
  }
  std::vector<at::Tensor> buffers() override { return m_->buffers(); }
  at::Tensor forward(const at::Tensor& input) override { return m_->forward(input); }
  void train(bool on) override { m_->train(on); }

 private:
  std::shared_ptr<M> m_;
};

class ScriptNet final : public Net {
 public:
  ScriptNet(torch::jit::Module m, std::string path) : m_(std::move(m)), path_(std::move(path)) {}
  std::vector<at::Tensor> parameters() override {
    std::vector<at::Tensor> out;
    for (const at::Tensor& p : m_.parameters()) out.push_back(p);
    return out;
  }
  std::vector<std::string> parameter_names() override {
    std::vector<std::string> out;
    for (const auto& p : m_.named_parameters()) out.push_back(p.name);
    return out;
  }
  std::vector<at::Tensor> buffers() override {
    std::vector<at::Tensor> out;
    for (const at::Tensor& b : m_.buffers()) out.push_back(b);
    return out;
  }
  at::Tensor forward(const at::Tensor& input) override {
    const c10::IValue out = m_.forward({input});
    if (!out.isTensor())
      throw InvalidInput(
          fmt::format("{}: forward returned a {}, not a tensor of logits", path_, out.tagKind()));
    return out.toTensor();
  }
  // Modules saved by PyTorch have `training`; one defined in C++ may not (then: no mode).
  void train(bool on) override {
    if (m_.hasattr("training")) m_.train(on);
  }

 private:
  torch::jit::Module m_;
  std::string path_;
};

// Loads a TorchScript file, InvalidInput naming it for every failure.
torch::jit::Module load_script(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw InvalidInput(fmt::format("model.path: TorchScript file {} does not exist", path));
  if (std::filesystem::is_directory(path, ec))
    throw InvalidInput(fmt::format("model.path: {} is a directory, not a TorchScript file", path));
  if (!std::ifstream(path, std::ios::binary))
    throw InvalidInput(fmt::format("model.path: cannot read TorchScript file {}", path));
  try {
    torch::jit::Module m = torch::jit::load(path, torch::kCPU);
    if (!m.find_method("forward"))
      throw InvalidInput(
          fmt::format("model.path: TorchScript file {} has no forward method", path));
    return m;
  } catch (const c10::Error& e) {
    // c10's messages carry a C++ backtrace after the first line; keep that line.
    std::string what = e.what_without_backtrace();
    if (const auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    if (what.find("maximum supported version for reading") != std::string::npos)
      throw InvalidInput(fmt::format(
          "model.path: {} was saved by a newer PyTorch than this LibTorch ({}) can read; save "
          "it with PyTorch {} or older ({})",
          path, TORCH_VERSION, TORCH_VERSION, what));
    throw InvalidInput(fmt::format(
        "model.path: {} is not a TorchScript file this LibTorch ({}) can load (a file saved by "
        "torch.jit.save from the same or an older PyTorch): {}",
        path, TORCH_VERSION, what));
  }
}

// ---- One flat buffer -------------------------------------------------------------------

// A network whose parameters and floating-point buffers are views into one float vector x
// (parameters first, in the module's order), with the parameters' gradients views into g.
class Bound {
 public:
  explicit Bound(std::unique_ptr<Net> net) : net_(std::move(net)) {
    torch::NoGradGuard no_grad;
    for (at::Tensor& p : net_->parameters()) {
      if (p.scalar_type() != at::kFloat)
        throw InvalidInput("torch model: parameters must be float32, found " +
                           std::string(c10::toString(p.scalar_type())));
      params_.push_back(p);
      param_dim_ += std::size_t(p.numel());
    }
    dim_ = param_dim_;
    for (at::Tensor& b : net_->buffers()) {
      if (b.scalar_type() != at::kFloat) continue;  // e.g. num_batches_tracked (int64): local
      buffers_.push_back(b);
      dim_ += std::size_t(b.numel());
    }
  }

  Net& net() { return *net_; }
  std::size_t dim() const { return dim_; }
  std::size_t param_dim() const { return param_dim_; }

  // The module's current values, flattened (its initial point).
  void read(Span x) {
    torch::NoGradGuard no_grad;
    std::size_t off = 0;
    for (const auto* group : {&params_, &buffers_})
      for (const at::Tensor& t : *group) {
        const at::Tensor c = t.detach().contiguous();
        std::copy_n(c.data_ptr<float>(), c.numel(), x.data() + off);
        off += std::size_t(c.numel());
      }
  }

  // The parameters and buffers become views into x (the module reads them there, and train-mode
  // BatchNorm updates its running statistics there), their gradients views into g (when given).
  void bind(float* x, float* g) {
    if (x != x_) {
      torch::NoGradGuard no_grad;
      std::size_t off = 0;
      for (const auto* group : {&params_, &buffers_})
        for (const at::Tensor& t : *group) {
          at::Tensor view = torch::from_blob(x + off, t.sizes(), torch::kFloat);
          at::Tensor(t).set_data(view);
          off += std::size_t(view.numel());
        }
      x_ = x;
    }
    if (g && g != g_) {
      std::size_t off = 0;
      for (at::Tensor& p : params_) {
        p.mutable_grad() = torch::from_blob(g + off, p.sizes(), torch::kFloat);
        off += std::size_t(p.numel());
      }
      g_ = g;
    }
  }
  // Debug check of the design: the parameters still read x and the gradients land in g.
  bool bound_to(const float* x, const float* g) const {
    if (params_.empty()) return true;
    return params_.front().data_ptr<float>() == x &&
           (!g || params_.front().grad().data_ptr<float>() == g);
  }

 private:
  std::unique_ptr<Net> net_;
  std::vector<at::Tensor> params_, buffers_;
  std::size_t param_dim_ = 0, dim_ = 0;
  const float* x_ = nullptr;
  const float* g_ = nullptr;
};

// The calling thread's intra-op threads (OpenMP's setting is per thread).
void use_threads(int threads) {
  thread_local int current = 0;
  if (current != threads) {
    at::set_num_threads(threads);
    current = threads;
  }
}

// Rows of a data set as a float tensor N x shape..., sparse rows scattered, missing columns 0.
at::Tensor inputs(const data::Dataset& d, std::span<const data::Index> rows,
                  const std::vector<std::int64_t>& shape, std::size_t features) {
  at::Tensor t = torch::zeros({std::int64_t(rows.size()), std::int64_t(features)}, torch::kFloat);
  float* out = t.data_ptr<float>();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::size_t i = rows[r];
    float* row = out + r * features;
    if (d.sparse) {
      for (std::uint64_t p = d.row_ptr[i]; p < d.row_ptr[i + 1]; ++p)
        if (d.col[p] < features) row[d.col[p]] = d.val[p];
    } else {
      std::copy_n(d.val.data() + i * d.cols, std::min(d.cols, features), row);
    }
  }
  std::vector<std::int64_t> full{std::int64_t(rows.size())};
  full.insert(full.end(), shape.begin(), shape.end());
  return t.view(full);
}

at::Tensor labels(const data::Dataset& d, std::span<const data::Index> rows) {
  at::Tensor t = torch::empty({std::int64_t(rows.size())}, torch::kLong);
  std::int64_t* out = t.data_ptr<std::int64_t>();
  for (std::size_t r = 0; r < rows.size(); ++r) out[r] = std::int64_t(d.y[rows[r]]);
  return t;
}

void check_classes(const data::Dataset& d, int classes, const std::string& role) {
  for (std::size_t i = 0; i < d.rows; ++i) {
    const float y = d.y[i];
    if (!(y >= 0) || y >= float(classes) || y != std::floor(y))
      throw InvalidInput(fmt::format("torch model: {} row {} has label {}, not a class 0..{}", role,
                                     i, y, classes - 1));
  }
}

// ---- The problem ------------------------------------------------------------------------

class TorchProblem;

class TorchLocal final : public LocalObjective {
 public:
  TorchLocal(const TorchProblem& p, std::unique_ptr<Net> net, data::BatchSampler sampler);
  double grad(CSpan x, Span g) override;
  std::size_t batch() const override { return sampler_.batch(); }
  double epochs() const override { return sampler_.epochs(); }
  OracleState save_state() const override { return sampler_.state(); }
  void restore_state(const OracleState& s) override { sampler_.restore(s); }

 private:
  const TorchProblem& p_;
  Bound net_;
  data::BatchSampler sampler_;
};

class TorchProblem final : public Problem {
 public:
  explicit TorchProblem(TorchProblemSpec spec);

  std::string describe() const override;
  std::size_t dim() const override { return dim_; }
  std::size_t averaged_dim() const override { return spec_.average_buffers ? dim_ : param_dim_; }
  int workers() const override { return int(spec_.shards.size()); }
  void initial_point(Span x) const override { copy(x0_, x); }
  std::unique_ptr<LocalObjective> local(int k, std::uint64_t seed) const override {
    auto sampler =
        worker_sampler(spec_.shards, k, spec_.batch, spec_.sampling, seed, "torch model");
    return std::make_unique<TorchLocal>(*this, make_net(), std::move(sampler));
  }
  Evaluation evaluate(CSpan x) const override;
  std::optional<double> optimum_value() const override { return std::nullopt; }
  Curvature curvature() const override { return {0.0, 0.0}; }  // unknown: non-convex
  std::size_t shard_size(int k) const override { return spec_.shards.at(std::size_t(k)).size(); }

  const TorchProblemSpec& spec() const { return spec_; }
  std::size_t features() const { return features_; }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::size_t param_dim() const { return param_dim_; }
  // A fresh network of this problem (one per worker: modules are never copied).
  std::unique_ptr<Net> make_net() const;
  // The network's inputs for rows of d: augmented with draws from `augment` (training, when
  // configured; null: not augmented), then normalised per channel (when configured).
  at::Tensor batch(const data::Dataset& d, std::span<const data::Index> rows, Rng* augment) const;

 private:
  // Checks the normalisation and augmentation settings against the shape; the statistics.
  void set_up_transforms(const std::string& who);

  TorchProblemSpec spec_;
  std::size_t features_ = 0;
  int classes_ = 0;
  std::vector<std::int64_t> shape_;
  data::ImageShape image_;                   // shape_ as an image (normalize, augment)
  std::optional<data::ChannelStats> stats_;  // the normalisation, when on
  std::size_t dim_ = 0, param_dim_ = 0;
  std::vector<float> x0_;
  WeightedRows train_rows_, test_rows_;
  mutable std::mutex eval_mutex_;
  mutable std::unique_ptr<Bound> eval_net_;  // evaluate()'s own network, under eval_mutex_
};

TorchLocal::TorchLocal(const TorchProblem& p, std::unique_ptr<Net> net, data::BatchSampler sampler)
    : p_(p), net_(std::move(net)), sampler_(std::move(sampler)) {
  net_.net().train(true);
}

double TorchLocal::grad(CSpan x, Span g) {
  use_threads(p_.spec().threads);
  const std::span<const data::Index> rows = sampler_.next();
  const data::Dataset& d = *p_.spec().train;
  std::fill(g.begin(), g.end(), 0.0f);
  // The module reads x in place (and BatchNorm writes its statistics there): the worker's x.
  net_.bind(const_cast<float*>(x.data()), g.data());
  const at::Tensor logits = net_.net().forward(p_.batch(d, rows, &sampler_.rng()));
  const at::Tensor loss = torch::nn::functional::cross_entropy(logits, labels(d, rows));
  loss.backward();  // accumulates into the zeroed views of g
  double value = loss.item<double>();
  if (const double lambda = p_.spec().lambda; lambda != 0) {
    double norm2 = 0;
    for (std::size_t j = 0; j < p_.param_dim(); ++j) {
      norm2 += double(x[j]) * double(x[j]);
      g[j] += float(lambda) * x[j];
    }
    value += 0.5 * lambda * norm2;
  }
  return value;
}

std::unique_ptr<Net> TorchProblem::make_net() const {
  torch::NoGradGuard no_grad;
  switch (spec_.net) {
    case TorchNet::mlp: {
      std::vector<std::size_t> layers{features_};
      layers.insert(layers.end(), spec_.hidden.begin(), spec_.hidden.end());
      layers.push_back(std::size_t(classes_));
      return std::make_unique<ModuleNet<MlpModule>>(
          std::make_shared<MlpModule>(layers, spec_.activation));
    }
    case TorchNet::lenet5:
      return std::make_unique<ModuleNet<LeNet5Module>>(
          std::make_shared<LeNet5Module>(shape_[0], shape_[1], shape_[2], classes_));
    case TorchNet::cnn7:
      return std::make_unique<ModuleNet<Cnn7Module>>(
          std::make_shared<Cnn7Module>(shape_[0], shape_[1], shape_[2], classes_));
    case TorchNet::resnet20:
      return std::make_unique<ModuleNet<ResNet20Module>>(
          std::make_shared<ResNet20Module>(shape_[0], classes_));
    case TorchNet::vgg16:
      return std::make_unique<ModuleNet<Vgg16Module>>(
          std::make_shared<Vgg16Module>(shape_[0], classes_));
    case TorchNet::script:
      return std::make_unique<ScriptNet>(load_script(spec_.path), spec_.path);
  }
  throw std::logic_error("torch model: unknown network");
}

std::string net_name(TorchNet n) {
  switch (n) {
    case TorchNet::mlp:
      return "torch_mlp";
    case TorchNet::lenet5:
      return "lenet5";
    case TorchNet::cnn7:
      return "cnn7";
    case TorchNet::resnet20:
      return "resnet20";
    case TorchNet::vgg16:
      return "vgg16";
    case TorchNet::script:
      return "torchscript";
  }
  return "?";
}

TorchProblem::TorchProblem(TorchProblemSpec spec) : spec_(std::move(spec)) {
  const std::string who = net_name(spec_.net);
  if (!spec_.train || spec_.train->rows == 0)
    throw InvalidInput(who + ": the training set is missing or empty");
  if (spec_.train->num_classes < 2)
    throw InvalidInput(fmt::format("{}: train set {} is not a classification set with >= 2 classes",
                                   who, spec_.train->name));
  if (!(spec_.lambda >= 0) || !std::isfinite(spec_.lambda))
    throw InvalidInput(who + ": lambda must be finite and >= 0");
  if (spec_.batch == 0) throw InvalidInput(who + ": batch must be >= 1");
  if (spec_.shards.empty()) throw InvalidInput(who + ": no shards (workers)");
  if (spec_.threads < 1) throw InvalidInput(who + ": model.threads must be >= 1");
  classes_ = spec_.train->num_classes;
  features_ = std::max(spec_.train->cols, spec_.test ? spec_.test->cols : 0);
  check_classes(*spec_.train, classes_, "train set " + spec_.train->name);
  if (spec_.test && spec_.test->rows == 0) spec_.test.reset();
  if (spec_.test) {
    check_classes(*spec_.test, classes_, "test set " + spec_.test->name);
    test_rows_ = all_rows_mean(*spec_.test);
  }
  train_rows_ = equal_worker_weights(spec_.shards, spec_.train->rows, who);

  // The shape of one sample.
  shape_ = spec_.input_shape;
  const bool image_net = spec_.net != TorchNet::mlp && spec_.net != TorchNet::script;
  if (shape_.empty() && image_net) {
    for (const std::int64_t c : {1, 3}) {
      const auto side = std::int64_t(std::llround(std::sqrt(double(features_) / double(c))));
      if (std::size_t(c * side * side) == features_) {
        shape_ = {c, side, side};
        break;
      }
    }
    if (shape_.empty())
      throw InvalidInput(fmt::format(
          "{}: {} features are not a square image of 1 or 3 channels; set model.input_shape = "
          "\"C,H,W\"",
          who, features_));
  }
  if (shape_.empty()) shape_ = {std::int64_t(features_)};
  const std::int64_t product =
      std::accumulate(shape_.begin(), shape_.end(), std::int64_t{1}, std::multiplies<>());
  if (product != std::int64_t(features_))
    throw InvalidInput(
        fmt::format("model.input_shape = {} has {} values per sample; the data have "
                    "{} features",
                    shape_text(shape_), product, features_));
  if (spec_.net == TorchNet::lenet5 &&
      (shape_.size() != 3 || shape_[1] / 2 - 4 < 2 || shape_[2] / 2 - 4 < 2))
    throw InvalidInput(fmt::format("lenet5: takes images C x H x W of at least 12 x 12, not {}",
                                   shape_text(shape_)));
  if (image_net && shape_.size() != 3)
    throw InvalidInput(fmt::format("{}: takes images C x H x W, not {}", who, shape_text(shape_)));
  if (spec_.net == TorchNet::vgg16 && (shape_[1] < 32 || shape_[2] < 32))
    throw InvalidInput(fmt::format("vgg16: takes images C x H x W of at least 32 x 32, not {}",
                                   shape_text(shape_)));
  if (spec_.net == TorchNet::resnet20 && (shape_[1] < 8 || shape_[2] < 8))
    throw InvalidInput(fmt::format("resnet20: takes images C x H x W of at least 8 x 8, not {}",
                                   shape_text(shape_)));
  if (spec_.net == TorchNet::cnn7 && (shape_[1] < 4 || shape_[2] < 4))
    throw InvalidInput(
        fmt::format("cnn7: takes images C x H x W of at least 4 x 4, not {}", shape_text(shape_)));
  set_up_transforms(who);

  // The reference network: x_0, the layout, and the evaluation's network.
  use_threads(spec_.threads);
  eval_net_ = std::make_unique<Bound>(make_net());
  dim_ = eval_net_->dim();
  param_dim_ = eval_net_->param_dim();
  if (param_dim_ == 0) throw InvalidInput(who + ": the network has no parameters");
  x0_.assign(dim_, 0.0f);
  switch (spec_.net) {
    case TorchNet::mlp: {
      // The native MLP's draws (MlpNet::initialize), in the same flat layout.
      std::vector<std::size_t> layers{features_};
      layers.insert(layers.end(), spec_.hidden.begin(), spec_.hidden.end());
      layers.push_back(std::size_t(classes_));
      Rng rng(spec_.seed, streams::init);
      MlpNet(layers, spec_.activation).initialize(rng, x0_);
      break;
    }
    case TorchNet::lenet5:
    case TorchNet::cnn7:
    case TorchNet::resnet20:
    case TorchNet::vgg16: {
      // He normal weights (std sqrt(2 / fan_in)), zero biases, BatchNorm scales 1, from
      // herd's RNG: reproducible and independent of torch's global generator.
      Rng rng(spec_.seed, streams::init);
      std::size_t off = 0;
      const std::vector<at::Tensor> params = eval_net_->net().parameters();
      const std::vector<std::string> names = eval_net_->net().parameter_names();
      for (std::size_t i = 0; i < params.size(); ++i) {
        const at::Tensor& p = params[i];
        const auto n = std::size_t(p.numel());
        if (p.dim() >= 2) {
          const double std_dev = std::sqrt(2.0 / double(p.numel() / p.size(0)));
          for (std::size_t j = 0; j < n; ++j) x0_[off + j] = float(std_dev * rng.normal());
        } else if (names[i].ends_with("weight")) {  // a normalisation's scale
          std::fill_n(x0_.begin() + std::ptrdiff_t(off), n, 1.0f);
        }
        off += n;
      }
      std::vector<float> all(dim_);  // buffers: as built
      eval_net_->read(all);
      std::copy(all.begin() + std::ptrdiff_t(param_dim_), all.end(),
                x0_.begin() + std::ptrdiff_t(param_dim_));
      break;
    }
    case TorchNet::script:
      eval_net_->read(x0_);  // the file's values
      break;
  }

  // The output must be logits N x C with C >= the classes of the labels.
  try {
    torch::NoGradGuard no_grad;
    std::vector<float> x = x0_;
    eval_net_->bind(x.data(), nullptr);
    eval_net_->net().train(false);
    const data::Index two[] = {0, data::Index(std::min<std::size_t>(1, spec_.train->rows - 1))};
    const at::Tensor out = eval_net_->net().forward(batch(*spec_.train, two, nullptr));
    if (out.dim() != 2 || out.size(0) != 2 || out.size(1) < classes_ ||
        out.scalar_type() != at::kFloat)
      throw InvalidInput(fmt::format(
          "{}: the network maps 2 samples of shape {} to {} {}, not float logits 2 x C with C >= "
          "{} (the classes of the labels)",
          spec_.net == TorchNet::script ? spec_.path : who, shape_text(shape_),
          c10::toString(out.scalar_type()), shape_text(out.sizes()), classes_));
  } catch (const InvalidInput&) {
    throw;
  } catch (const std::exception& e) {  // c10::Error, or TorchScript's JITException
    std::string what = e.what();
    // The first line of LibTorch's message, or the interpreter's last (its RuntimeError).
    if (const auto last = what.rfind("RuntimeError: "); last != std::string::npos)
      what = what.substr(last);
    if (const auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    throw InvalidInput(fmt::format("{}: forward fails on inputs N x {}: {}",
                                   spec_.net == TorchNet::script ? spec_.path : who,
                                   shape_text(shape_), what));
  }
}

// The augmentation's crop padding (torchvision's RandomCrop(32, padding=4) of the CIFAR runs).
constexpr std::size_t crop_padding = 4;

void TorchProblem::set_up_transforms(const std::string& who) {
  if (!spec_.normalize && !spec_.augment) return;
  if (shape_.size() != 3)
    throw InvalidInput(
        fmt::format("{}: model.normalize and model.augment take images; the inputs are {} (set "
                    "model.input_shape = \"C,H,W\")",
                    who, shape_text(shape_)));
  image_ = {std::size_t(shape_[0]), std::size_t(shape_[1]), std::size_t(shape_[2])};
  if (!spec_.normalize) return;
  if (spec_.channel_mean.empty() && spec_.channel_std.empty()) {
    if (spec_.train->sparse || spec_.train->cols != image_.size())
      throw InvalidInput(fmt::format(
          "{}: model.normalize = \"channel\" computes the statistics of dense images of {} "
          "features; {} is not (give model.channel_mean and model.channel_std)",
          who, image_.size(), spec_.train->name));
    stats_ = data::channel_stats(*spec_.train, image_);
    return;
  }
  const auto channels = std::size_t(shape_[0]);
  if (spec_.channel_mean.size() != channels || spec_.channel_std.size() != channels)
    throw InvalidInput(fmt::format(
        "model.channel_mean and model.channel_std: {} and {} values for {} channels (give one "
        "per channel, or neither: the training set's)",
        spec_.channel_mean.size(), spec_.channel_std.size(), channels));
  for (const double v : spec_.channel_std)
    if (!(v > 0) || !std::isfinite(v))
      throw InvalidInput(fmt::format("model.channel_std: {} is not a positive deviation", v));
  stats_ = data::ChannelStats{spec_.channel_mean, spec_.channel_std};
}

at::Tensor TorchProblem::batch(const data::Dataset& d, std::span<const data::Index> rows,
                               Rng* augment) const {
  at::Tensor t = inputs(d, rows, shape_, features_);
  const std::span<float> all(t.data_ptr<float>(), std::size_t(t.numel()));
  if (augment && spec_.augment) {
    std::vector<float> original(image_.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::span<float> one = all.subspan(r * image_.size(), image_.size());
      std::copy(one.begin(), one.end(), original.begin());
      data::crop_flip(original, one, image_, crop_padding, *augment);
    }
  }
  if (stats_) data::normalize_channels(all, image_, *stats_);
  return t;
}

std::string TorchProblem::describe() const {
  const data::Dataset& d = *spec_.train;
  std::ostringstream s;
  s << net_name(spec_.net);
  if (spec_.net == TorchNet::script) s << " " << spec_.path;
  s << " (inputs N x " << shape_text(shape_) << ", " << param_dim_ << " parameters";
  if (dim_ > param_dim_)
    s << " + " << dim_ - param_dim_ << " buffer values"
      << (spec_.average_buffers ? "" : " (per worker, not averaged)");
  s << ", LibTorch " << TORCH_VERSION << ", " << spec_.threads << " thread"
    << (spec_.threads == 1 ? "" : "s") << " per worker) on " << d.name << " (" << d.rows << " x "
    << d.cols << "), " << workers() << " workers, lambda " << spec_.lambda << ", batch "
    << spec_.batch << " (" << data::sampling_name(spec_.sampling) << ")";
  if (spec_.test) s << ", test set " << spec_.test->name << " (" << spec_.test->rows << " rows)";
  if (spec_.augment) s << ", training augmentation crop (padding 4) + flip";
  if (stats_) {
    s << ", normalised per channel (mean";
    for (const double m : stats_->mean) s << " " << m;
    s << ", std";
    for (const double v : stats_->std) s << " " << v;
    s << ")";
  }
  return s.str();
}

Evaluation TorchProblem::evaluate(CSpan x) const {
  const std::lock_guard lock(eval_mutex_);
  use_threads(spec_.threads);
  Bound& net = *eval_net_;
  net.net().train(false);  // BatchNorm: the running statistics in x
  std::vector<float> g(dim_, 0.0f);
  // Only read: in evaluation mode the network writes nothing into x.
  net.bind(const_cast<float*>(x.data()), g.data());

  auto pass = [&](const data::Dataset& d, const WeightedRows& rows, bool with_grad,
                  double& correct) {
    double loss = 0;
    correct = 0;
    for (std::size_t start = 0; start < rows.rows.size(); start += eval_block_rows) {
      const std::size_t n = std::min(eval_block_rows, rows.rows.size() - start);
      const auto block = std::span(rows.rows).subspan(start, n);
      const at::Tensor w = torch::from_blob(const_cast<double*>(rows.weight.data() + start),
                                            {std::int64_t(n)}, torch::kDouble);
      const at::Tensor y = labels(d, block);
      std::optional<torch::NoGradGuard> no_grad;
      if (!with_grad) no_grad.emplace();
      const at::Tensor logits = net.net().forward(batch(d, block, nullptr));
      const at::Tensor per_row = torch::nn::functional::cross_entropy(
          logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
      const at::Tensor weighted = (per_row.to(torch::kDouble) * w).sum();
      if (with_grad) weighted.backward();
      loss += weighted.item<double>();
      const at::Tensor hit = (logits.detach().argmax(1) == y).to(torch::kDouble);
      correct += (hit * w).sum().item<double>();
    }
    return loss;
  };

  Evaluation e;
  double correct = 0;
  e.train_loss = pass(*spec_.train, train_rows_, spec_.eval_grad, correct);
  double total = 0;
  for (const double w : train_rows_.weight) total += w;
  e.train_acc = correct / total;
  double norm2 = 0;
  for (std::size_t j = 0; j < param_dim_; ++j) {
    norm2 += double(x[j]) * double(x[j]);
    const double gj = double(g[j]) + spec_.lambda * double(x[j]);
    e.grad_norm2 += gj * gj;
  }
  if (!spec_.eval_grad) e.grad_norm2 = std::numeric_limits<double>::quiet_NaN();
  e.train_loss += 0.5 * spec_.lambda * norm2;
  if (spec_.test) {
    e.test_loss = pass(*spec_.test, test_rows_, false, correct);
    double test_total = 0;
    for (const double w : test_rows_.weight) test_total += w;
    e.test_acc = correct / test_total;
  }
  return e;
}

}  // namespace

std::unique_ptr<Problem> make_torch_problem(TorchProblemSpec spec) {
  try {
    return std::make_unique<TorchProblem>(std::move(spec));
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    if (const auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    throw InvalidInput("torch model: " + what);
  }
}

std::vector<std::int64_t> parse_input_shape(const std::string& text) {
  const NumberList list = parse_number_list(text);
  std::vector<std::int64_t> shape;
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    const std::optional<double> v = list.values[i];
    if (!v || *v < 1 || *v != std::floor(*v))
      throw InvalidInput(fmt::format(
          "model.input_shape = \"{}\": \"{}\" is not a positive size (expected e.g. \"1,28,28\")",
          text, list.items[i]));
    shape.push_back(std::int64_t(*v));
  }
  return shape;
}

}  // namespace herd::model

// ---- Registration -----------------------------------------------------------------------

namespace herd::model {
namespace {

const OptionSpec& threads_knob() {
  static const OptionSpec spec =
      integer("model.threads", 1,
              "Intra-op threads of each worker's LibTorch calls (and of the evaluation's); the "
              "torch models only.")
          .ge(1)
          .le(256);
  return spec;
}

const OptionSpec& device_knob() {
  static const OptionSpec spec =
      choice("model.device", {"cpu", "cuda"}, "cpu",
             "Where the torch models compute. Only cpu for now: Debian's LibTorch is built "
             "without CUDA, and herd's flat parameter buffer lives in host memory.");
  return spec;
}

const OptionSpec& eval_grad_knob() {
  static const OptionSpec spec =
      boolean("model.eval_grad", false,
              "Evaluations of the torch models also compute ||grad F(x)||^2 (grad_norm2), a "
              "backward pass over the whole training set that costs about an epoch; otherwise "
              "they run forward passes only and grad_norm2 is null.");
  return spec;
}

const OptionSpec& input_shape_knob() {
  static const OptionSpec spec =
      text("model.input_shape", "",
           "Shape of one sample as the torch network takes it, \"C,H,W\" for images (e.g. "
           "\"1,28,28\") or empty: flat features (N x features) for torchscript, a square image "
           "of 1 or 3 channels inferred from the features for lenet5, cnn7, resnet20 and vgg16.");
  return spec;
}

const OptionSpec& path_knob() {
  static const OptionSpec spec = text(
      "model.path", "",
      "TorchScript file (torch.jit.save) of model.name = \"torchscript\": forward takes float "
      "inputs N x model.input_shape and returns logits N x C, C at least the number of classes; "
      "trained with softmax cross-entropy. Relative to the configuration file.");
  return spec;
}

const OptionSpec& average_buffers_knob() {
  static const OptionSpec spec = boolean(
      "model.average_buffers", true,
      "The torch network's floating-point buffers (BatchNorm's running statistics), which sit "
      "in x after the parameters, are averaged with them (true), or stay each worker's own "
      "(false: algorithms that average the workers' x average the parameters only; the "
      "statistics are still checkpointed per worker).");
  return spec;
}

const OptionSpec& normalize_knob() {
  static const OptionSpec spec =
      choice("model.normalize", {"none", "channel"}, "none",
             "Normalisation of the torch network's image inputs: channel = (v - mean_c) / std_c "
             "per channel, after the augmentation, in training and evaluation; mean and std "
             "from model.channel_mean and model.channel_std, or computed from the training set "
             "when both are empty.");
  return spec;
}

const OptionSpec& channel_mean_knob() {
  static const OptionSpec spec =
      text("model.channel_mean", "",
           "model.normalize = \"channel\": the means, one per channel, comma-separated (e.g. "
           "\"0.4914,0.4822,0.4465\"); empty = the training set's.");
  return spec;
}

const OptionSpec& channel_std_knob() {
  static const OptionSpec spec =
      text("model.channel_std", "",
           "model.normalize = \"channel\": the standard deviations, one per channel, "
           "comma-separated; empty = the training set's.");
  return spec;
}

const OptionSpec& augment_knob() {
  static const OptionSpec spec = choice(
      "model.augment", {"none", "crop_flip"}, "none",
      "Training augmentation of the torch network's image inputs: crop_flip = random crop with "
      "zero padding 4 and horizontal flip (probability 1/2), drawn from each worker's sample "
      "stream (reproducible; kept in checkpoints). Evaluations see the images as they are.");
  return spec;
}

// "0.5,0.25" -> {0.5, 0.25}; "" -> {}. InvalidInput naming the option otherwise.
std::vector<double> parse_numbers(const std::string& key, const std::string& text) {
  const NumberList list = parse_number_list(text);
  std::vector<double> out;
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    if (!list.values[i])
      throw InvalidInput(
          fmt::format("{} = \"{}\": \"{}\" is not a number (expected e.g. \"0.5,0.5,0.5\")", key,
                      text, list.items[i]));
    out.push_back(*list.values[i]);
  }
  return out;
}

// What every torch model reads; values come from the options' declared defaults.
struct TorchCommon {
  double l2{};
  double l2_over_n{};
  std::int64_t threads{};
  std::string device;
  bool eval_grad{};
  bool average_buffers{};
  std::string normalize, channel_mean, channel_std, augment;
  std::vector<double> means, stds;

  void resolve_common() {
    if (device == "cuda") {
      if (!torch::cuda::is_available())
        throw InvalidInput(fmt::format(
            "model.device = \"cuda\": this LibTorch ({}) was built without CUDA or sees no GPU "
            "(Debian's libtorch-dev is CPU-only); use model.device = \"cpu\"",
            TORCH_VERSION));
      throw InvalidInput(
          "model.device = \"cuda\": not supported yet (herd's flat parameter buffer lives in "
          "host memory); use model.device = \"cpu\"");
    }
    means = parse_numbers("model.channel_mean", channel_mean);
    stds = parse_numbers("model.channel_std", channel_std);
    if (means.size() != stds.size())
      throw InvalidInput(fmt::format(
          "model.channel_mean has {} values and model.channel_std {}: give both or neither",
          means.size(), stds.size()));
    if (!means.empty() && normalize != "channel")
      throw InvalidInput(
          "model.channel_mean and model.channel_std need model.normalize = \"channel\"");
  }
  void fill(TorchProblemSpec& spec, const ModelContext& c) const {
    spec.train = c.data->train;
    spec.test = c.data->test;
    spec.shards = c.data->shards;
    spec.lambda = knobs::lambda(l2, l2_over_n, *c.data);
    spec.batch = c.batch;
    spec.sampling = c.data->sampling;
    spec.seed = c.seed;
    spec.threads = int(threads);
    spec.eval_grad = eval_grad;
    spec.average_buffers = average_buffers;
    spec.normalize = normalize == "channel";
    spec.channel_mean = means;
    spec.channel_std = stds;
    spec.augment = augment == "crop_flip";
  }
};

template <class S>
Knobs<S> common_knobs() {
  return Knobs<S>()
      .add(knobs::l2(), &S::l2)
      .add(knobs::l2_over_n(), &S::l2_over_n)
      .add(threads_knob(), &S::threads)
      .add(device_knob(), &S::device)
      .add(eval_grad_knob(), &S::eval_grad)
      .add(average_buffers_knob(), &S::average_buffers);
}

// The models whose inputs can be images: the common knobs and the image transforms.
template <class S>
Knobs<S> image_knobs() {
  return common_knobs<S>()
      .add(input_shape_knob(), &S::input_shape)
      .add(normalize_knob(), &S::normalize)
      .add(channel_mean_knob(), &S::channel_mean)
      .add(channel_std_knob(), &S::channel_std)
      .add(augment_knob(), &S::augment);
}

struct TorchMlpSettings : TorchCommon {
  std::string hidden;
  std::string activation;
  std::vector<std::size_t> widths;
  static const Knobs<TorchMlpSettings>& knobs() {
    using S = TorchMlpSettings;
    static const auto k =
        common_knobs<S>().add(knobs::hidden(), &S::hidden).add(knobs::activation(), &S::activation);
    return k;
  }
  void resolve(const ModelContext&) {
    resolve_common();
    widths = parse_hidden_widths(hidden);
  }
};

// The image networks (lenet5, cnn7, resnet20, vgg16).
struct LeNetSettings : TorchCommon {
  std::string input_shape;
  std::vector<std::int64_t> shape;
  static const Knobs<LeNetSettings>& knobs() {
    using S = LeNetSettings;
    static const auto k = image_knobs<S>();
    return k;
  }
  void resolve(const ModelContext&) {
    resolve_common();
    shape = parse_input_shape(input_shape);
    if (!shape.empty() && shape.size() != 3)
      throw InvalidInput("model.input_shape = \"" + input_shape +
                         "\": the image networks take images, \"C,H,W\"");
  }
};

struct ScriptSettings : TorchCommon {
  std::string path;
  std::string input_shape;
  std::vector<std::int64_t> shape;
  static const Knobs<ScriptSettings>& knobs() {
    using S = ScriptSettings;
    static const auto k = image_knobs<S>().add(path_knob(), &S::path);
    return k;
  }
  void resolve(const ModelContext&) {
    resolve_common();
    shape = parse_input_shape(input_shape);
    if (path.empty())
      throw InvalidInput("model.path: model.name = \"torchscript\" needs a TorchScript file");
    load_script(path);  // refused here already when missing or not TorchScript
  }
};

}  // namespace

HERD_REGISTER_MODEL(torch_mlp,
                    ModelDef<TorchMlpSettings>{
                        .name = "torch_mlp",
                        .summary = "The mlp's network written with LibTorch (same layout and "
                                   "initialisation; a cross-check of the torch path).",
                        .order = 70,
                        .needs_data = true,
                        .build = [](const TorchMlpSettings& s, const ModelContext& c) {
                          TorchProblemSpec spec;
                          s.fill(spec, c);
                          spec.net = TorchNet::mlp;
                          spec.hidden = s.widths;
                          spec.activation = parse_activation(s.activation);
                          return BuiltModel{make_torch_problem(std::move(spec)), {}, ""};
                        }});

HERD_REGISTER_MODEL(lenet5, ModelDef<LeNetSettings>{
                                .name = "lenet5",
                                .summary = "LeNet-5 (LibTorch) for images C x H x W.",
                                .order = 80,
                                .needs_data = true,
                                .build = [](const LeNetSettings& s, const ModelContext& c) {
                                  TorchProblemSpec spec;
                                  s.fill(spec, c);
                                  spec.net = TorchNet::lenet5;
                                  spec.input_shape = s.shape;
                                  return BuiltModel{make_torch_problem(std::move(spec)), {}, ""};
                                }});

HERD_REGISTER_MODEL(cnn7, ModelDef<LeNetSettings>{
                              .name = "cnn7",
                              .summary = "A 7-layer CNN for CIFAR-10 (LibTorch; the LSGD "
                                         "paper's CNN7 as docs/models.md reads it).",
                              .order = 85,
                              .needs_data = true,
                              .build = [](const LeNetSettings& s, const ModelContext& c) {
                                TorchProblemSpec spec;
                                s.fill(spec, c);
                                spec.net = TorchNet::cnn7;
                                spec.input_shape = s.shape;
                                return BuiltModel{make_torch_problem(std::move(spec)), {}, ""};
                              }});

HERD_REGISTER_MODEL(resnet20, ModelDef<LeNetSettings>{
                                  .name = "resnet20",
                                  .summary = "ResNet-20 for CIFAR (LibTorch; BatchNorm).",
                                  .order = 90,
                                  .needs_data = true,
                                  .build = [](const LeNetSettings& s, const ModelContext& c) {
                                    TorchProblemSpec spec;
                                    s.fill(spec, c);
                                    spec.net = TorchNet::resnet20;
                                    spec.input_shape = s.shape;
                                    return BuiltModel{make_torch_problem(std::move(spec)), {}, ""};
                                  }});

HERD_REGISTER_MODEL(vgg16, ModelDef<LeNetSettings>{
                               .name = "vgg16",
                               .summary = "VGG-16 with BatchNorm for CIFAR (LibTorch).",
                               .order = 100,
                               .needs_data = true,
                               .build = [](const LeNetSettings& s, const ModelContext& c) {
                                 TorchProblemSpec spec;
                                 s.fill(spec, c);
                                 spec.net = TorchNet::vgg16;
                                 spec.input_shape = s.shape;
                                 return BuiltModel{make_torch_problem(std::move(spec)), {}, ""};
                               }});

HERD_REGISTER_MODEL(torchscript,
                    ModelDef<ScriptSettings>{
                        .name = "torchscript",
                        .summary = "A TorchScript classifier from model.path (docs/models.md).",
                        .order = 110,
                        .needs_data = true,
                        .build = [](const ScriptSettings& s, const ModelContext& c) {
                          TorchProblemSpec spec;
                          s.fill(spec, c);
                          spec.net = TorchNet::script;
                          spec.path = s.path;
                          spec.input_shape = s.shape;
                          return BuiltModel{make_torch_problem(std::move(spec)), {}, ""};
                        }});

}  // namespace herd::model
