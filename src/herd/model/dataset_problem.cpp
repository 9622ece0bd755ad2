#include "herd/model/dataset_problem.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "herd/core/error.hpp"
#include "herd/model/knobs.hpp"
#include "herd/model/registry.hpp"
#include "herd/model/solver.hpp"

namespace herd::model {
namespace {

// Newton's method when one Hessian costs at most this many flops (a9a: ~6e6 sparse).
constexpr double newton_max_hessian_cost = 2e9;
constexpr std::size_t newton_max_dim = 2000;

LinearModel checked_model(const DataProblemSpec& spec) {
  if (!spec.train || spec.train->rows == 0)
    throw InvalidInput("data problem: the training set is missing or empty");
  const std::size_t features = std::max(spec.train->cols, spec.test ? spec.test->cols : 0);
  LinearModel m =
      LinearModel::for_data(spec.model, *spec.train, features, "train set " + spec.train->name);
  if (spec.test) m.check_labels(*spec.test, "test set " + spec.test->name);
  return m;
}

class DatasetLocal final : public LocalObjective {
 public:
  DatasetLocal(std::shared_ptr<const data::Dataset> data, LinearModel model, double lambda,
               data::BatchSampler sampler)
      : data_(std::move(data)), model_(model), lambda_(lambda), sampler_(std::move(sampler)) {}

  double grad(CSpan x, Span g) override {
    return model_.batch_loss_grad(*data_, sampler_.next(), lambda_, x, g);
  }
  std::size_t batch() const override { return sampler_.batch(); }
  double epochs() const override { return sampler_.epochs(); }
  OracleState save_state() const override { return sampler_.state(); }
  void restore_state(const OracleState& s) override { sampler_.restore(s); }

 private:
  std::shared_ptr<const data::Dataset> data_;
  LinearModel model_;
  double lambda_;
  data::BatchSampler sampler_;
};

}  // namespace

DatasetProblem::DatasetProblem(DataProblemSpec spec)
    : spec_(std::move(spec)), model_(checked_model(spec_)) {
  if (!(spec_.lambda >= 0) || !std::isfinite(spec_.lambda))
    throw InvalidInput("data problem: lambda must be finite and >= 0");
  if (spec_.batch == 0) throw InvalidInput("data problem: batch must be >= 1");
  if (spec_.shards.empty()) throw InvalidInput("data problem: no shards (workers)");
  if (!(spec_.init.scale >= 0)) throw InvalidInput("data problem: init scale must be >= 0");

  train_rows_ = equal_worker_weights(spec_.shards, spec_.train->rows, "data problem");
  if (spec_.test && spec_.test->rows == 0) spec_.test.reset();  // nothing to report on
  if (spec_.test) test_rows_ = all_rows_mean(*spec_.test);

  const std::vector<double> x0 = draw_initial_point(spec_.init, dim(), spec_.seed);
  x0_.resize(x0.size());
  for (std::size_t j = 0; j < x0.size(); ++j) x0_[j] = float(x0[j]);
}

std::string DatasetProblem::describe() const {
  const data::Dataset& d = *spec_.train;
  std::ostringstream s;
  s << to_string(spec_.model) << " on " << d.name << " (" << d.rows << " x " << d.cols
    << (d.sparse ? " sparse" : " dense") << "), dim " << dim() << ", " << workers()
    << " workers, lambda " << spec_.lambda << ", batch " << spec_.batch << " ("
    << (spec_.sampling == data::Sampling::with_replacement ? "with replacement" : "shuffled epochs")
    << ")";
  if (spec_.test) s << ", test set " << spec_.test->name << " (" << spec_.test->rows << " rows)";
  return s.str();
}

void DatasetProblem::initial_point(Span x) const {
  copy(x0_, x);
}

std::unique_ptr<LocalObjective> DatasetProblem::local(int k, std::uint64_t seed) const {
  auto sampler = worker_sampler(spec_.shards, k, spec_.batch, spec_.sampling, seed, "data problem");
  return std::make_unique<DatasetLocal>(spec_.train, model_, spec_.lambda, std::move(sampler));
}

Evaluation DatasetProblem::evaluate(CSpan x) const {
  const std::vector<double> xd(x.begin(), x.end());
  std::vector<double> g(dim());
  Evaluation e;
  e.train_loss = model_.loss_grad(*spec_.train, train_rows_, spec_.lambda, xd, g);
  for (const double v : g) e.grad_norm2 += v * v;
  e.train_acc = model_.accuracy(*spec_.train, train_rows_, xd);
  if (spec_.test) {
    e.test_loss = model_.loss_grad(*spec_.test, test_rows_, 0.0, xd, {});
    e.test_acc = model_.accuracy(*spec_.test, test_rows_, xd);
  }
  return e;
}

bool DatasetProblem::hessian_affordable() const {
  return dim() <= newton_max_dim &&
         model_.hessian_cost(*spec_.train, train_rows_) <= newton_max_hessian_cost;
}

const std::optional<DatasetProblem::Optimum>& DatasetProblem::solve() const {
  std::call_once(optimum_once_, [this] {
    if (spec_.lambda == 0 && spec_.model != ModelKind::least_squares) return;
    const data::Dataset& d = *spec_.train;
    SmoothFunction fn;
    fn.dim = dim();
    fn.value_grad = [&](std::span<const double> x, std::span<double> g) {
      return model_.loss_grad(d, train_rows_, spec_.lambda, x, g);
    };
    if (hessian_affordable())
      fn.hessian = [&](std::span<const double> x) {
        return model_.hessian(d, train_rows_, spec_.lambda, x);
      };
    MinimizeResult r = minimize(fn, std::vector<double>(dim(), 0.0));
    optimum_ = Optimum{r.value, std::move(r.x)};
  });
  return optimum_;
}

std::optional<double> DatasetProblem::optimum_value() const {
  const auto& opt = solve();
  return opt ? std::optional<double>(opt->value) : std::nullopt;
}

std::optional<std::vector<double>> DatasetProblem::optimum_point() const {
  const auto& opt = solve();
  return opt ? std::optional<std::vector<double>>(opt->x) : std::nullopt;
}

Curvature DatasetProblem::curvature() const {
  std::call_once(curvature_once_, [this] {
    if (spec_.model == ModelKind::least_squares && hessian_affordable()) {
      // A constant Hessian: both constants exactly, from its spectrum.
      const Eigen::VectorXd eig = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(
                                      model_.hessian(*spec_.train, train_rows_, spec_.lambda,
                                                     std::vector<double>(dim(), 0.0)),
                                      Eigen::EigenvaluesOnly)
                                      .eigenvalues();
      curvature_ = {std::max(eig.minCoeff(), spec_.lambda), eig.maxCoeff()};
      return;
    }
    const double gram = weighted_gram_max_eigenvalue(*spec_.train, train_rows_, model_.features());
    curvature_ = {spec_.lambda, model_.curvature_factor() * gram + spec_.lambda};
  });
  return curvature_;
}

}  // namespace herd::model

// ---- Registration: logistic, least_squares and softmax regression on a data set ----------

namespace herd::model {
namespace {

// Values come from the options' declared defaults (knobs()).
struct LinearModelSettings {
  double l2{};
  double l2_over_n{};
  std::string init;
  double init_scale{};

  static const Knobs<LinearModelSettings>& knobs() {
    using S = LinearModelSettings;
    static const auto k = Knobs<S>()
                              .add(knobs::l2(), &S::l2)
                              .add(knobs::l2_over_n(), &S::l2_over_n)
                              .add(knobs::init(), &S::init)
                              .add(knobs::init_scale(), &S::init_scale);
    return k;
  }
};

BuiltModel build_linear(ModelKind kind, const LinearModelSettings& s, const ModelContext& c) {
  DataProblemSpec spec;
  spec.train = c.data->train;
  spec.test = c.data->test;
  spec.shards = c.data->shards;
  spec.model = kind;
  spec.lambda = knobs::lambda(s.l2, s.l2_over_n, *c.data);
  spec.batch = c.batch;
  spec.sampling = c.data->sampling;
  spec.init.kind = parse_init_kind(s.init);
  spec.init.scale = s.init_scale;
  spec.seed = c.seed;
  return {std::make_unique<DatasetProblem>(std::move(spec)), {}, ""};
}

}  // namespace

HERD_REGISTER_MODEL(logistic, ModelDef<LinearModelSettings>{
                                  .name = "logistic",
                                  .summary = "Binary logistic regression.",
                                  .order = 10,
                                  .needs_data = true,
                                  .build = [](const LinearModelSettings& s, const ModelContext& c) {
                                    return build_linear(ModelKind::logistic, s, c);
                                  }});

HERD_REGISTER_MODEL(least_squares,
                    ModelDef<LinearModelSettings>{
                        .name = "least_squares",
                        .summary = "Least-squares regression.",
                        .order = 20,
                        .needs_data = true,
                        .build = [](const LinearModelSettings& s, const ModelContext& c) {
                          return build_linear(ModelKind::least_squares, s, c);
                        }});

HERD_REGISTER_MODEL(softmax, ModelDef<LinearModelSettings>{
                                 .name = "softmax",
                                 .summary = "Multiclass logistic regression.",
                                 .order = 30,
                                 .needs_data = true,
                                 .build = [](const LinearModelSettings& s, const ModelContext& c) {
                                   return build_linear(ModelKind::softmax, s, c);
                                 }});

}  // namespace herd::model
