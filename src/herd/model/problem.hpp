#pragma once
// The distributed objective as algorithms and the run driver see it:
//   F(x) = (1/K) sum_k F_k(x),
// worker k owning F_k (its data shard, or its quadratic). An algorithm touches only a
// LocalObjective (a stochastic gradient oracle of F_k); the driver evaluates F itself.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/core/kernels.hpp"
#include "herd/data/sampler.hpp"

namespace herd::model {

// What a checkpoint keeps of an oracle: its randomness. A sampler's state covers every
// oracle; those that draw no rows (noise only) use its rng alone.
using OracleState = data::SamplerState;

// Stochastic first-order oracle of one worker's F_k; owns its sampler and RNG stream.
class LocalObjective {
 public:
  virtual ~LocalObjective() = default;
  // Draws the next minibatch, writes its mean gradient (regularisation included) into g and
  // returns the minibatch loss.
  virtual double grad(CSpan x, Span g) = 0;
  // Samples per gradient (b), so drivers and simulators can count and charge work.
  virtual std::size_t batch() const = 0;
  // Passes over this worker's local data so far (0 when F_k has no finite data).
  virtual double epochs() const = 0;

  // Checkpoints: the oracle's random state, and its restoration, after which the oracle
  // draws exactly what the saved one would have drawn next. An oracle that does not
  // override them cannot be checkpointed.
  virtual OracleState save_state() const {
    throw InvalidInput("this problem's stochastic oracle does not support checkpoints");
  }
  virtual void restore_state(const OracleState& s) {
    (void)s;
    throw InvalidInput("this problem's stochastic oracle does not support checkpoints");
  }
  // The same as bytes (core/bytes.hpp).
  void save(ByteWriter& out) const { save_state().save(out); }
  void load(ByteReader& in) { restore_state(OracleState::load(in)); }
  // A worker that restarts after a parameter server's checkpoint draws from a fresh stretch
  // of its sample stream, one per resume `generation`, so that no minibatch of the
  // interrupted run comes again; `drawn` samples so far.
  void restart_stream(std::uint64_t generation, std::uint64_t drawn) {
    restore_state(save_state().restarted(generation, drawn));
  }
};

struct Evaluation {
  double train_loss = 0;  // F(x), equal weight per worker, regularisation included
  double grad_norm2 = 0;  // ||grad F(x)||^2
  std::optional<double> train_acc;
  std::optional<double> test_loss, test_acc;
};

// Smoothness and strong convexity constants (estimates where exact ones are not cheap),
// for theory-driven step sizes such as Stich's 4 / (mu (a + t)).
struct Curvature {
  double mu = 0, L = 0;
};

class Problem {
 public:
  virtual ~Problem() = default;
  virtual std::string describe() const = 0;
  virtual std::size_t dim() const = 0;
  // The leading entries of x that averaging algorithms average (algo::Worker::average): all
  // of x, unless the model keeps state after its parameters that stays per worker (a torch
  // network's BatchNorm statistics with model.average_buffers = false).
  virtual std::size_t averaged_dim() const { return dim(); }
  virtual int workers() const = 0;
  // The common starting point x_0 (deterministic given the problem).
  virtual void initial_point(Span x) const = 0;
  // Worker k's oracle; its randomness is stream k of `seed`.
  virtual std::unique_ptr<LocalObjective> local(int k, std::uint64_t seed) const = 0;
  // Full evaluation of F (and of the test set, when there is one) at x.
  virtual Evaluation evaluate(CSpan x) const = 0;
  // F* = min F, exact or solved to high precision; nullopt when unknown (non-convex).
  virtual std::optional<double> optimum_value() const = 0;
  // A minimiser x* of F (double precision) when known or solved for, so drivers can report
  // ||x - x*||^2; nullopt otherwise.
  virtual std::optional<std::vector<double>> optimum_point() const { return std::nullopt; }
  virtual Curvature curvature() const = 0;
  // Samples in worker k's shard (0 for data-free problems).
  virtual std::size_t shard_size(int k) const = 0;
};

}  // namespace herd::model
