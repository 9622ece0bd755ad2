#include "herd/model/mlp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include <Eigen/Dense>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"
#include "herd/core/text.hpp"
#include "herd/model/knobs.hpp"
#include "herd/model/registry.hpp"

namespace herd::model {
namespace {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// Rows per forward/backward block: bounds the activations' memory on full-set evaluation.
constexpr std::size_t block_rows = 512;

void check_classes(const data::Dataset& d, int classes, const std::string& role) {
  for (std::size_t i = 0; i < d.rows; ++i) {
    const float y = d.y[i];
    if (!(y >= 0) || y >= float(classes) || y != std::floor(y))
      throw InvalidInput("mlp problem: " + role + " row " + std::to_string(i) + " has label " +
                         std::to_string(y) + ", not a class 0.." + std::to_string(classes - 1));
  }
}

class MlpLocal final : public LocalObjective {
 public:
  MlpLocal(std::shared_ptr<const data::Dataset> data, MlpNet net, double lambda,
           data::BatchSampler sampler)
      : data_(std::move(data)),
        net_(std::move(net)),
        lambda_(lambda),
        sampler_(std::move(sampler)) {}

  double grad(CSpan x, Span g) override {
    const std::span<const data::Index> rows = sampler_.next();
    weights_.assign(rows.size(), 1.0 / double(rows.size()));
    return net_.loss_grad<float>(*data_, rows, weights_, lambda_, x, g);
  }
  std::size_t batch() const override { return sampler_.batch(); }
  double epochs() const override { return sampler_.epochs(); }
  OracleState save_state() const override { return sampler_.state(); }
  void restore_state(const OracleState& s) override { sampler_.restore(s); }

 private:
  std::shared_ptr<const data::Dataset> data_;
  MlpNet net_;
  double lambda_;
  data::BatchSampler sampler_;
  std::vector<double> weights_;
};

// Summed in the order loss_grad sums hits, so that all rows right gives exactly 1.
double total_weight(const WeightedRows& rows) {
  double s = 0;
  for (const double w : rows.weight) s += w;
  return s;
}

}  // namespace

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::relu;
  if (name == "tanh") return Activation::tanh;
  throw InvalidInput("unknown activation '" + name + "' (expected relu or tanh)");
}

std::string to_string(Activation a) {
  return a == Activation::relu ? "relu" : "tanh";
}

std::vector<std::size_t> parse_hidden_widths(const std::string& text) {
  const NumberList list = parse_number_list(text);
  std::vector<std::size_t> widths;
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    const std::optional<double> w = list.values[i];
    if (!w || *w < 1 || *w != std::floor(*w))
      throw InvalidInput(fmt::format("model.hidden = \"{}\": \"{}\" is not a positive layer width",
                                     text, list.items[i]));
    widths.push_back(std::size_t(*w));
  }
  return widths;
}

MlpNet::MlpNet(std::vector<std::size_t> layers, Activation activation)
    : layers_(std::move(layers)), activation_(activation) {
  if (layers_.size() < 2) throw InvalidInput("mlp: needs at least an input and an output layer");
  for (const std::size_t width : layers_)
    if (width == 0) throw InvalidInput("mlp: layer widths must be >= 1");
  for (std::size_t l = 0; l + 1 < layers_.size(); ++l) {
    offset_.push_back(dim_);
    dim_ += layers_[l + 1] * (layers_[l] + 1);
  }
}

void MlpNet::initialize(Rng& rng, Span x) const {
  for (std::size_t l = 0; l + 1 < layers_.size(); ++l) {
    const std::size_t in = layers_[l], out = layers_[l + 1];
    const double std_dev = activation_ == Activation::relu ? std::sqrt(2.0 / double(in))
                                                           : std::sqrt(2.0 / double(in + out));
    float* w = x.data() + offset_[l];
    for (std::size_t j = 0; j < in * out; ++j) w[j] = float(std_dev * rng.normal());
    std::fill(w + in * out, w + in * out + out, 0.0f);
  }
}

template <class T>
double MlpNet::loss_grad(const data::Dataset& data, std::span<const data::Index> rows,
                         std::span<const double> weights, double lambda, std::span<const T> x,
                         std::span<T> g, double* correct) const {
  const std::size_t n_layers = layers_.size() - 1;  // weight layers
  const Eigen::Index classes = Eigen::Index(layers_.back());
  const bool want_grad = !g.empty();
  if (want_grad) std::fill(g.begin(), g.end(), T(0));
  if (correct) *correct = 0;
  auto weight = [&](std::size_t l) {
    return Eigen::Map<const RowMatrix<T>>(x.data() + offset_[l], Eigen::Index(layers_[l + 1]),
                                          Eigen::Index(layers_[l]));
  };
  auto bias = [&](std::size_t l) {
    return Eigen::Map<const Vector<T>>(x.data() + offset_[l] + layers_[l + 1] * layers_[l],
                                       Eigen::Index(layers_[l + 1]));
  };

  double loss = 0;
  std::vector<RowMatrix<T>> act(n_layers);  // act[0]: inputs; act[l]: output of layer l - 1
  RowMatrix<T> z, dz;
  for (std::size_t start = 0; start < rows.size(); start += block_rows) {
    const std::size_t n = std::min(block_rows, rows.size() - start);
    const auto block = rows.subspan(start, n);
    act[0].setZero(Eigen::Index(n), Eigen::Index(layers_[0]));
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t i = block[r];
      if (data.sparse) {
        for (std::uint64_t p = data.row_ptr[i]; p < data.row_ptr[i + 1]; ++p)
          act[0](Eigen::Index(r), Eigen::Index(data.col[p])) = T(data.val[p]);
      } else {
        for (std::size_t j = 0; j < data.cols; ++j)
          act[0](Eigen::Index(r), Eigen::Index(j)) = T(data.val[i * data.cols + j]);
      }
    }

    for (std::size_t l = 0; l < n_layers; ++l) {
      z.noalias() = act[l] * weight(l).transpose();
      z.rowwise() += bias(l).transpose();
      if (l + 1 == n_layers) break;
      if (activation_ == Activation::relu)
        act[l + 1] = z.cwiseMax(T(0));
      else
        act[l + 1] = z.array().tanh().matrix();
    }

    // Softmax cross-entropy on the logits z; dz = w_r (p - e_y), the weighted loss gradient.
    dz.resize(Eigen::Index(n), classes);
    for (std::size_t r = 0; r < n; ++r) {
      const Eigen::Index ri = Eigen::Index(r);
      const double w = weights[start + r];
      const Eigen::Index y = Eigen::Index(data.y[block[r]]);
      Eigen::Index best = 0;
      const double top = double(z.row(ri).maxCoeff(&best));
      double sum = 0;
      for (Eigen::Index c = 0; c < classes; ++c) sum += std::exp(double(z(ri, c)) - top);
      const double log_sum = top + std::log(sum);
      loss += w * (log_sum - double(z(ri, y)));
      if (correct && best == y) *correct += w;
      for (Eigen::Index c = 0; c < classes; ++c)
        dz(ri, c) = T(w * (std::exp(double(z(ri, c)) - log_sum) - (c == y ? 1.0 : 0.0)));
    }
    if (!want_grad) continue;

    for (std::size_t l = n_layers; l-- > 0;) {
      const std::size_t out = layers_[l + 1], in = layers_[l];
      Eigen::Map<RowMatrix<T>>(g.data() + offset_[l], Eigen::Index(out), Eigen::Index(in))
          .noalias() += dz.transpose() * act[l];
      Eigen::Map<Vector<T>>(g.data() + offset_[l] + out * in, Eigen::Index(out)) +=
          dz.colwise().sum().transpose();
      if (l == 0) break;
      // Back through the activation, written in terms of its output a = act[l].
      RowMatrix<T> da = dz * weight(l);
      if (activation_ == Activation::relu)
        dz = (act[l].array() > T(0)).select(da, T(0));
      else
        dz = da.array() * (T(1) - act[l].array().square());
    }
  }

  double norm2 = 0;
  for (const T v : x) norm2 += double(v) * double(v);
  if (want_grad && lambda != 0)
    for (std::size_t j = 0; j < g.size(); ++j) g[j] += T(lambda) * x[j];
  return loss + 0.5 * lambda * norm2;
}

template double MlpNet::loss_grad<float>(const data::Dataset&, std::span<const data::Index>,
                                         std::span<const double>, double, std::span<const float>,
                                         std::span<float>, double*) const;
template double MlpNet::loss_grad<double>(const data::Dataset&, std::span<const data::Index>,
                                          std::span<const double>, double, std::span<const double>,
                                          std::span<double>, double*) const;

MlpProblem::MlpProblem(MlpProblemSpec spec)
    : spec_(std::move(spec)),
      net_(
          [&] {
            if (!spec_.train || spec_.train->rows == 0)
              throw InvalidInput("mlp problem: the training set is missing or empty");
            if (spec_.train->num_classes < 2)
              throw InvalidInput("mlp problem: train set " + spec_.train->name +
                                 " is not a classification set with >= 2 classes");
            std::vector<std::size_t> layers{
                std::max(spec_.train->cols, spec_.test ? spec_.test->cols : 0)};
            layers.insert(layers.end(), spec_.hidden.begin(), spec_.hidden.end());
            layers.push_back(std::size_t(spec_.train->num_classes));
            return layers;
          }(),
          spec_.activation) {
  if (!(spec_.lambda >= 0) || !std::isfinite(spec_.lambda))
    throw InvalidInput("mlp problem: lambda must be finite and >= 0");
  if (spec_.batch == 0) throw InvalidInput("mlp problem: batch must be >= 1");
  if (spec_.shards.empty()) throw InvalidInput("mlp problem: no shards (workers)");
  const int classes = spec_.train->num_classes;
  check_classes(*spec_.train, classes, "train set " + spec_.train->name);
  if (spec_.test && spec_.test->rows == 0) spec_.test.reset();  // nothing to report on
  if (spec_.test) {
    check_classes(*spec_.test, classes, "test set " + spec_.test->name);
    test_rows_ = all_rows_mean(*spec_.test);
  }

  train_rows_ = equal_worker_weights(spec_.shards, spec_.train->rows, "mlp problem");

  x0_.assign(dim(), 0.0f);
  Rng rng(spec_.seed, streams::init);
  net_.initialize(rng, x0_);
}

std::string MlpProblem::describe() const {
  const data::Dataset& d = *spec_.train;
  std::ostringstream s;
  s << "mlp ";
  for (std::size_t l = 0; l < net_.layers().size(); ++l) s << (l ? "-" : "") << net_.layers()[l];
  s << " (" << to_string(spec_.activation) << ") on " << d.name << " (" << d.rows << " x " << d.cols
    << (d.sparse ? " sparse" : " dense") << "), dim " << dim() << ", " << workers()
    << " workers, lambda " << spec_.lambda << ", batch " << spec_.batch << " ("
    << data::sampling_name(spec_.sampling) << ")";
  if (spec_.test) s << ", test set " << spec_.test->name << " (" << spec_.test->rows << " rows)";
  return s.str();
}

void MlpProblem::initial_point(Span x) const {
  copy(x0_, x);
}

std::unique_ptr<LocalObjective> MlpProblem::local(int k, std::uint64_t seed) const {
  auto sampler = worker_sampler(spec_.shards, k, spec_.batch, spec_.sampling, seed, "mlp problem");
  return std::make_unique<MlpLocal>(spec_.train, net_, spec_.lambda, std::move(sampler));
}

Evaluation MlpProblem::evaluate(CSpan x) const {
  const std::vector<double> xd(x.begin(), x.end());
  std::vector<double> g(dim());
  Evaluation e;
  double correct = 0;
  e.train_loss = net_.loss_grad<double>(*spec_.train, train_rows_.rows, train_rows_.weight,
                                        spec_.lambda, xd, g, &correct);
  for (const double v : g) e.grad_norm2 += v * v;
  e.train_acc = correct / total_weight(train_rows_);
  if (spec_.test) {
    e.test_loss = net_.loss_grad<double>(*spec_.test, test_rows_.rows, test_rows_.weight, 0.0, xd,
                                         {}, &correct);
    e.test_acc = correct / total_weight(test_rows_);
  }
  return e;
}

}  // namespace herd::model

// ---- Registration -----------------------------------------------------------------------

namespace herd::model {
namespace {

// Values come from the options' declared defaults (knobs()).
struct MlpSettings {
  double l2{};
  double l2_over_n{};
  std::string hidden;
  std::string activation;
  std::vector<std::size_t> widths;  // resolved from hidden

  static const Knobs<MlpSettings>& knobs() {
    using S = MlpSettings;
    static const auto k = Knobs<S>()
                              .add(knobs::l2(), &S::l2)
                              .add(knobs::l2_over_n(), &S::l2_over_n)
                              .add(knobs::hidden(), &S::hidden)
                              .add(knobs::activation(), &S::activation);
    return k;
  }
  void resolve(const ModelContext&) { widths = parse_hidden_widths(hidden); }
};

}  // namespace

HERD_REGISTER_MODEL(mlp,
                    ModelDef<MlpSettings>{
                        .name = "mlp",
                        .summary = "Multilayer perceptron classifier (non-convex).",
                        .order = 40,
                        .needs_data = true,
                        .build = [](const MlpSettings& s, const ModelContext& c) {
                          MlpProblemSpec spec;
                          spec.train = c.data->train;
                          spec.test = c.data->test;
                          spec.shards = c.data->shards;
                          spec.hidden = s.widths;
                          spec.activation = parse_activation(s.activation);
                          spec.lambda = knobs::lambda(s.l2, s.l2_over_n, *c.data);
                          spec.batch = c.batch;
                          spec.sampling = c.data->sampling;
                          spec.seed = c.seed;
                          return BuiltModel{std::make_unique<MlpProblem>(std::move(spec)), {}, ""};
                        }});

}  // namespace herd::model
