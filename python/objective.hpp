#pragma once
// A user's objective written in Python (docs/python.md), as the model "python" of herd's model
// registry: herd.run(config, objective=obj) makes it the problem of that run. Every call into
// Python holds the GIL, so the workers' gradients are serialised through it, whatever the
// runtime; herd's own work (sampling, communication, updates) runs without it.
#include <pybind11/pybind11.h>

#include <cstddef>
#include <optional>
#include <vector>

#include "herd/model/problem.hpp"

namespace herd::python {

namespace py = pybind11;

// What herd holds of the user's object, read once (with the GIL) before the run. It lives in
// the herd.run call that made it, which holds the GIL when it is destroyed: the problem and its
// oracles only point at it.
struct PyObjective {
  // Reads dim, initial_point(), data and the optional optimum_value, optimum_point, mu and L
  // of `objective`; InvalidInput naming what is missing or of the wrong shape.
  explicit PyObjective(py::object objective);
  ~PyObjective();

  py::object object, loss_grad, data;  // data: None when the objective samples nothing
  std::size_t dim = 0, rows = 0;       // rows: len(data), 0 without data
  std::vector<double> x0;
  std::optional<double> f_star;
  std::optional<std::vector<double>> x_star;
  model::Curvature curvature;
  // The first Python exception raised by loss_grad; the run ends with it (herd.run raises it
  // again once the run has written its record). Set and read with the GIL held.
  std::optional<py::error_already_set> error;

  // loss_grad(x, batch) with the GIL acquired: the loss, and the gradient written into g.
  // batch: rows of data (None without data). InvalidInput for a result of the wrong kind or
  // shape; a Python exception is recorded in `error` and ends the run as an InvalidInput.
  double call(CSpan x, const std::vector<data::Index>* batch, Span g);
};

// The objective that herd.run sets for the run it makes (null outside one): the "python"
// model builds its problem from it. Set and cleared with the GIL held, by one run at a time.
void set_current_objective(PyObjective* objective);

}  // namespace herd::python
