#pragma once
// Classifiers written with LibTorch, trained by herd's algorithms (docs/models.md):
//   torch_mlp    the native MLP's network (model/mlp.hpp) with the same flat layout and
//                initialisation, to cross-check both;
//   lenet5       LeNet-5 (two 5x5 convolutions with max pooling, three linear layers, ReLU)
//                for images C x H x W;
//   cnn7         a 7-layer CNN for CIFAR-10 (four 3x3 convolutions in two max-pooled stages,
//                three linear layers, ReLU; our reading of the LSGD paper's CNN7, see
//                docs/models.md), images C x H x W of at least 4 x 4;
//   resnet20     ResNet-20 for CIFAR (He et al. 2016: 3 stages of 3 basic blocks, 16/32/64
//                channels, BatchNorm, parameter-free shortcuts), images C x H x W >= 8 x 8;
//   vgg16        VGG-16 with BatchNorm for CIFAR (13 convolutions, one linear classifier),
//                images C x H x W of at least 32 x 32;
//   torchscript  a TorchScript file saved by PyTorch (torch.jit.script/trace + save): its
//                forward takes a float tensor N x C x H x W (model.input_shape = "C,H,W") or
//                N x features (flat, the default) and returns logits N x classes.
// The loss of a row is the softmax cross-entropy of its logits, and F weighs the workers as
// the native models do: F(x) = (1/K) sum_k mean_{i in D_k} f_i(x) + (lambda/2) ||theta||^2,
// theta the parameters.
//
// One flat buffer: the module's parameters, then its floating-point buffers (BatchNorm's
// running statistics), are views into the worker's x, in the module's order; backward writes
// the gradient straight into the worker's gradient span (each parameter's .grad() is a view
// into it; the buffers' entries are 0). Nothing is copied per step, and the communicators see
// one span: model state is kept in checkpoints with x, and averaged with the parameters
// unless average_buffers is false (then averaged_dim() is the parameters' length).
//
// Image inputs can be augmented for training (random crop with padding 4 and horizontal
// flip, data/image.hpp, drawn from the worker's sample stream) and normalised per channel
// (after the augmentation, in training and evaluation), as torchvision's transforms do.
//
// This header includes no torch header: only torch_problem.cpp does (each such translation
// unit costs ~25 s to compile).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "herd/data/dataset.hpp"
#include "herd/data/sampler.hpp"
#include "herd/model/mlp.hpp"
#include "herd/model/problem.hpp"

namespace herd::model {

enum class TorchNet { mlp, lenet5, cnn7, resnet20, vgg16, script };

struct TorchProblemSpec {
  std::shared_ptr<const data::Dataset> train;
  std::shared_ptr<const data::Dataset> test;     // optional; one with 0 rows counts as none
  std::vector<std::vector<data::Index>> shards;  // rows of train, one list per worker
  TorchNet net = TorchNet::mlp;
  std::vector<std::size_t> hidden = {64};  // torch_mlp: hidden widths
  Activation activation = Activation::relu;
  std::string path;  // torchscript: the file
  // Shape of one sample as the network takes it ({C, H, W} for images); empty: flat features
  // for torch_mlp and torchscript, inferred for lenet5 (1 x s x s or 3 x s x s from the
  // number of features; also resnet20 and vgg16). Its product must equal the number of
  // features.
  std::vector<std::int64_t> input_shape;
  // Per-channel normalisation of image inputs, (v - mean_c) / std_c; with empty channel_mean
  // and channel_std, the training set's (data::channel_stats).
  bool normalize = false;
  std::vector<double> channel_mean, channel_std;
  bool augment = false;  // training inputs: random crop (zero padding 4), horizontal flip
  // false: the floating-point buffers (BatchNorm statistics) stay per worker: averaged_dim()
  // is the parameters' length.
  bool average_buffers = true;
  int threads = 1;  // intra-op threads of each worker's (and the evaluation's) torch calls
  // Evaluations compute ||grad F(x)||^2 (a backward pass over the whole training set, about
  // an epoch of compute); otherwise they run forward passes only and grad_norm2 is NaN.
  bool eval_grad = false;
  double lambda = 0;
  std::size_t batch = 1;
  data::Sampling sampling = data::Sampling::with_replacement;
  std::uint64_t seed = 0;  // x_0 of the built-in networks: stream streams::init of this seed
};

// InvalidInput for a missing/empty training set, labels that are not classes 0..C-1, a bad
// shape, an empty or out-of-range shard, lambda < 0, batch 0, and a TorchScript file that is
// missing, unreadable, not TorchScript, saved by a newer PyTorch, or whose output does not fit
// the labels (N x C logits with C at least the number of classes): the message names the file.
std::unique_ptr<Problem> make_torch_problem(TorchProblemSpec spec);

// "1,28,28" -> {1, 28, 28}; "" -> {}. InvalidInput naming model.input_shape otherwise.
std::vector<std::int64_t> parse_input_shape(const std::string& text);

}  // namespace herd::model
