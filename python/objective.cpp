#include "objective.hpp"

#include <fmt/format.h>
#include <pybind11/numpy.h>

#include <algorithm>
#include <utility>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"
#include "herd/core/settings.hpp"
#include "herd/data/sampler.hpp"
#include "herd/model/registry.hpp"

namespace herd::python {
namespace {

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

PyObjective* current = nullptr;

std::string shape_of(const py::array& a) {
  std::vector<std::string> dims;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) dims.push_back(std::to_string(a.shape(i)));
  return "(" + fmt::format("{}", fmt::join(dims, ", ")) + (a.ndim() == 1 ? ",)" : ")");
}

// `value` as a vector of exactly `dim` numbers; InvalidInput naming `what` otherwise.
std::vector<double> vector_of(py::handle value, std::size_t dim, const std::string& what) {
  DoubleArray a;
  try {
    a = DoubleArray::ensure(value);
  } catch (const py::error_already_set&) {
  }
  if (!a) {
    PyErr_Clear();
    throw InvalidInput(
        fmt::format("{} is a {}, not an array of numbers", what,
                    py::str(py::type::of(value).attr("__name__")).cast<std::string>()));
  }
  if (a.ndim() != 1 || std::size_t(a.shape(0)) != dim)
    throw InvalidInput(
        fmt::format("{} has shape {}; the objective's dim is {}, so it must have shape ({},)", what,
                    shape_of(a), dim, dim));
  return std::vector<double>(a.data(), a.data() + dim);
}

std::optional<double> optional_number(const py::object& o, const char* name) {
  if (!py::hasattr(o, name) || o.attr(name).is_none()) return std::nullopt;
  try {
    return o.attr(name).cast<double>();
  } catch (const py::cast_error&) {
    throw InvalidInput(fmt::format("objective.{} must be a number", name));
  }
}

}  // namespace

PyObjective::PyObjective(py::object objective) : object(std::move(objective)) {
  for (const char* name : {"dim", "initial_point", "loss_grad"})
    if (!py::hasattr(object, name))
      throw InvalidInput(fmt::format(
          "the objective has no {}: an objective has dim, initial_point(), loss_grad(x, batch) "
          "and optionally data (docs/python.md)",
          name));
  py::ssize_t d = 0;
  try {
    d = object.attr("dim").cast<py::ssize_t>();
  } catch (const py::cast_error&) {
    throw InvalidInput("objective.dim must be an integer");
  }
  if (d < 1) throw InvalidInput(fmt::format("objective.dim = {} must be at least 1", d));
  dim = std::size_t(d);
  loss_grad = object.attr("loss_grad");
  x0 = vector_of(object.attr("initial_point")(), dim, "objective.initial_point()");
  data = py::hasattr(object, "data") ? py::object(object.attr("data")) : py::none();
  if (!data.is_none()) {
    rows = py::len(data);
    if (rows == 0) throw InvalidInput("objective.data is empty; give it rows or set it to None");
  }
  f_star = optional_number(object, "optimum_value");
  if (py::hasattr(object, "optimum_point") && !object.attr("optimum_point").is_none())
    x_star = vector_of(object.attr("optimum_point"), dim, "objective.optimum_point");
  curvature.mu = optional_number(object, "mu").value_or(0.0);
  curvature.L = optional_number(object, "L").value_or(0.0);
}

PyObjective::~PyObjective() = default;

double PyObjective::call(CSpan x, const std::vector<data::Index>* batch, Span g) {
  py::gil_scoped_acquire gil;
  // Another worker's objective failed: the run is ending, with that error.
  if (error) throw InvalidInput("the run ended: the Python objective raised an exception");
  try {
    py::array_t<double> xa{py::ssize_t(dim)};
    std::copy(x.begin(), x.end(), xa.mutable_data());
    py::object rows_of = py::none();
    if (batch) {
      py::array_t<std::int64_t> idx{py::ssize_t(batch->size())};
      std::copy(batch->begin(), batch->end(), idx.mutable_data());
      rows_of = data[idx];
    }
    const py::object result = loss_grad(xa, rows_of);
    if (!py::isinstance<py::tuple>(result) || py::len(result) != 2)
      throw InvalidInput(
          "objective.loss_grad(x, batch) must return a tuple (loss, gradient), not a " +
          py::str(py::type::of(result).attr("__name__")).cast<std::string>());
    const py::tuple pair = result;
    double loss = 0;
    try {
      loss = pair[0].cast<double>();
    } catch (const py::cast_error&) {
      throw InvalidInput("objective.loss_grad returned a loss that is not a number");
    }
    const std::vector<double> grad =
        vector_of(pair[1], dim, "the gradient that objective.loss_grad returned");
    std::transform(grad.begin(), grad.end(), g.begin(), [](double v) { return float(v); });
    return loss;
  } catch (py::error_already_set& e) {
    const std::string what = e.what();
    error.emplace(std::move(e));
    throw InvalidInput("the Python objective raised " + what);
  }
}

void set_current_objective(PyObjective* objective) {
  current = objective;
}

namespace {

// Worker k's oracle: minibatches of `batch` rows of the objective's data, drawn from its own
// random stream (every worker samples the whole data: F_k = F).
class PyLocal final : public model::LocalObjective {
 public:
  PyLocal(PyObjective& f, std::size_t batch, Rng rng)
      : f_(f),
        sampler_(all_rows(f.rows),
                 std::max<std::size_t>(1, std::min(batch, std::max<std::size_t>(1, f.rows))),
                 data::Sampling::with_replacement, std::move(rng)) {}
  double grad(CSpan x, Span g) override {
    if (f_.rows == 0) return f_.call(x, nullptr, g);
    const auto next = sampler_.next();
    rows_.assign(next.begin(), next.end());
    return f_.call(x, &rows_, g);
  }
  std::size_t batch() const override { return f_.rows == 0 ? 1 : sampler_.batch(); }
  double epochs() const override { return f_.rows == 0 ? 0.0 : sampler_.epochs(); }
  model::OracleState save_state() const override { return sampler_.state(); }
  void restore_state(const model::OracleState& s) override { sampler_.restore(s); }

 private:
  static std::vector<data::Index> all_rows(std::size_t n) {
    std::vector<data::Index> rows(std::max<std::size_t>(n, 1));
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = data::Index(i);
    return rows;
  }
  PyObjective& f_;
  data::BatchSampler sampler_;
  std::vector<data::Index> rows_;
};

class PyProblem final : public model::Problem {
 public:
  PyProblem(PyObjective& f, int workers, std::size_t batch)
      : f_(f), workers_(workers), batch_(batch) {}
  std::string describe() const override {
    return fmt::format("Python objective, d = {}, {} rows", f_.dim, f_.rows);
  }
  std::size_t dim() const override { return f_.dim; }
  int workers() const override { return workers_; }
  void initial_point(Span x) const override {
    std::transform(f_.x0.begin(), f_.x0.end(), x.begin(), [](double v) { return float(v); });
  }
  std::unique_ptr<model::LocalObjective> local(int k, std::uint64_t seed) const override {
    return std::make_unique<PyLocal>(f_, batch_,
                                     Rng(seed, streams::worker_base + std::uint64_t(k)));
  }
  model::Evaluation evaluate(CSpan x) const override {
    std::vector<data::Index> all(f_.rows);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = data::Index(i);
    std::vector<float> g(f_.dim);
    model::Evaluation e;
    e.train_loss = f_.call(x, f_.rows == 0 ? nullptr : &all, g);
    for (const float v : g) e.grad_norm2 += double(v) * double(v);
    return e;
  }
  std::optional<double> optimum_value() const override { return f_.f_star; }
  std::optional<std::vector<double>> optimum_point() const override { return f_.x_star; }
  model::Curvature curvature() const override { return f_.curvature; }
  std::size_t shard_size(int) const override { return f_.rows; }

 private:
  PyObjective& f_;
  int workers_;
  std::size_t batch_;
};

HERD_REGISTER_MODEL(python, model::ModelDef<NoSettings>{
                                .name = "python",
                                .summary = "An objective written in Python: herd.run(config, "
                                           "objective=...) of the Python module (docs/python.md).",
                                .order = 1000,
                                .build = [](const NoSettings&, const model::ModelContext& c) {
                                  if (!current)
                                    throw InvalidInput(
                                        "model.name = \"python\" needs the objective: "
                                        "herd.run(config, objective=obj) from Python");
                                  model::BuiltModel built;
                                  built.problem =
                                      std::make_unique<PyProblem>(*current, c.workers, c.batch);
                                  built.description = built.problem->describe();
                                  return built;
                                }});

}  // namespace
}  // namespace herd::python
