// herd._herd: the C++ half of the Python module `herd` (python/herd/__init__.py is the other).
// Every run goes through herd's own driver (run/compare.hpp), writes the same run directory as
// `herd run` and is read back with run/results.hpp, so what Python sees is what the files say.
// The GIL is released while a run runs; the objects Python gets are built after it.
#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "herd/algo/registry.hpp"
#include "herd/core/error.hpp"
#include "herd/core/interrupt.hpp"
#include "herd/model/registry.hpp"
#include "herd/run/compare.hpp"
#include "herd/run/config.hpp"
#include "herd/run/config_toml.hpp"
#include "herd/run/results.hpp"
#include "herd/study/sweep.hpp"
#include "objective.hpp"

namespace py = pybind11;
using namespace herd;

namespace {

constexpr const char* dict_source = "<dict>";

std::string type_name(py::handle value) {
  return py::str(py::type::of(value).attr("__name__")).cast<std::string>();
}

void put(toml::table& table, const std::string& key, py::handle value, const std::string& where);

// A Python value as a TOML node: bool, int, float, str, a list of them or of dicts, a dict.
// Anything else is refused naming the key and the type.
std::unique_ptr<toml::node> node_of(py::handle value, const std::string& where) {
  // numpy scalars (numpy.float64, numpy.int64, numpy.bool_) are their Python values.
  if (py::hasattr(value, "dtype") && py::hasattr(value, "item") &&
      py::getattr(value, "ndim", py::int_(1)).cast<int>() == 0)
    return node_of(value.attr("item")(), where);
  if (py::isinstance<py::bool_>(value))
    return std::make_unique<toml::value<bool>>(value.cast<bool>());
  if (py::isinstance<py::int_>(value))
    return std::make_unique<toml::value<std::int64_t>>(value.cast<std::int64_t>());
  if (py::isinstance<py::float_>(value))
    return std::make_unique<toml::value<double>>(value.cast<double>());
  if (py::isinstance<py::str>(value))
    return std::make_unique<toml::value<std::string>>(value.cast<std::string>());
  if (py::isinstance<py::dict>(value)) {
    auto table = std::make_unique<toml::table>();
    for (auto [k, v] : value.cast<py::dict>())
      put(*table, py::str(k).cast<std::string>(), v, where);
    return table;
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    auto array = std::make_unique<toml::array>();
    for (py::handle item : value) {
      auto node = node_of(item, where);
      if (auto* t = node->as_table())
        array->push_back(std::move(*t));
      else if (auto* a = node->as_array())
        array->push_back(std::move(*a));
      else
        node->visit([&](auto&& v) {
          if constexpr (toml::is_value<decltype(v)>) array->push_back(v.get());
        });
    }
    return array;
  }
  throw InvalidInput(fmt::format(
      "{}: {}: a Python {} is not a configuration value (bool, int, float, str, a list or dict "
      "of them)",
      dict_source, where, type_name(value)));
}

// table[key] = value; "algo.lr" puts lr into the table algo.
void put(toml::table& table, const std::string& key, py::handle value, const std::string& where) {
  const std::string here = where.empty() ? key : where + "." + key;
  if (const auto dot = key.find('.'); dot != std::string::npos) {
    const std::string head = key.substr(0, dot);
    if (!table.contains(head)) table.insert(head, toml::table{});
    if (auto* inner = table.get(head)->as_table())
      return put(*inner, key.substr(dot + 1), value, where.empty() ? head : where + "." + head);
  }
  auto node = node_of(value, here);
  node->visit([&](auto&& v) { table.insert_or_assign(key, std::move(v)); });
}

run::Config config_from_dict(const py::dict& d) {
  toml::table document;
  for (auto [k, v] : d) put(document, py::str(k).cast<std::string>(), v, "");
  return run::config_from_table(document, dict_source);
}

// kind: "file" (a path), "text" (TOML) or "dict". With `entry`, that [[compare]] entry alone,
// the overrides winning over its settings (herd run --entry).
run::Config make_config(const std::string& kind, const py::object& source,
                        const std::vector<std::string>& overrides, const std::string& entry = "") {
  run::Config config = kind == "dict" ? config_from_dict(source.cast<py::dict>())
                       : kind == "text"
                           ? run::Config::from_toml_string(source.cast<std::string>(), "<string>")
                           : run::Config::from_toml_file(source.cast<std::string>());
  if (!entry.empty()) config = config.variant(std::string_view(entry));
  for (const auto& o : overrides) config.apply_override(o);
  return config;
}

// Ctrl-C while herd runs: herd's handlers (core/interrupt.hpp) replace Python's, so the run
// stops at its next evaluation with its record whole; Python's come back afterwards, and the
// interruption is raised as KeyboardInterrupt.
class InterruptScope {
 public:
  InterruptScope() {
    sigaction(SIGINT, nullptr, &old_int_);
    sigaction(SIGTERM, nullptr, &old_term_);
    set_interrupt_signal(0);
    install_interrupt_handlers();
  }
  ~InterruptScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
  // With the GIL held: KeyboardInterrupt when a signal stopped the run.
  static void raise_if_interrupted() {
    if (const int signal = interrupt_signal(); signal != 0) {
      set_interrupt_signal(0);
      PyErr_SetString(
          PyExc_KeyboardInterrupt,
          fmt::format("herd: interrupted by signal {}; what was recorded is kept", signal).c_str());
      throw py::error_already_set();
    }
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

py::dict result_dict(const run::RunResult& r) {
  py::dict d;
  d["dir"] = r.dir.string();
  d["label"] = r.label;
  d["algorithm"] = r.algorithm;
  d["status"] = r.status;
  d["error"] = r.error;
  d["stop_reason"] = r.stop_reason;
  d["wall_seconds"] = r.wall_seconds;
  d["parameters_crc32"] = r.parameters_crc32;
  py::array_t<float> x(py::ssize_t(r.parameters.size()));
  std::copy(r.parameters.begin(), r.parameters.end(), x.mutable_data());
  d["parameters"] = x;
  return d;
}

// run_all (run/compare.hpp) on the configuration: the results, one per run; the first failure
// of a comparison entry is raised after all have run, as `herd run` does. `single`: refuse a
// configuration with [[compare]] entries (herd.run), before anything runs.
py::list run_configuration(const std::string& kind, const py::object& source,
                           const std::vector<std::string>& overrides, const std::string& out,
                           bool force, const std::string& label, const py::object& objective,
                           bool progress, const std::string& entry, bool single) {
  run::Config config = make_config(kind, source, overrides, entry);
  if (single && !config.compare().empty())
    throw InvalidInput(fmt::format(
        "{}: the configuration has {} [[compare]] entries: herd.compare runs them all, and "
        "herd.run(..., entry=LABEL) one of them",
        config.source().empty() ? "<config>" : config.source(), config.compare().size()));
  std::optional<python::PyObjective> user;
  if (!objective.is_none()) {
    if (config.is_set_explicitly("model.name") && config.get_string("model.name") != "python")
      throw InvalidInput(fmt::format(
          "model.name = \"{}\": with an objective from Python, model.name is \"python\" (or "
          "left unset)",
          config.get_string("model.name")));
    config.set("model.name", std::string("python"));
    // The GIL lets one Python call run at a time: ranks on one OS thread take turns without
    // contending for it. On several, the thread holding the GIL takes it back at once after
    // each call, and the ranks of the others wait up to its 5 ms switch interval per
    // gradient: asynchronous methods then see workers hundreds of times slower than others.
    if (!config.is_set_explicitly("run.threads")) config.set("run.threads", std::int64_t(1));
    user.emplace(objective);
  }
  struct Current {  // the "python" model's objective, for this run only
    explicit Current(python::PyObjective* o) { python::set_current_objective(o); }
    ~Current() { python::set_current_objective(nullptr); }
  } current(user ? &*user : nullptr);

  run::Comparison done;
  std::exception_ptr failure;
  {
    InterruptScope interrupts;
    py::gil_scoped_release released;
    try {
      done = run::run_all(config, out, progress ? run::Progress::lines : run::Progress::none, label,
                          force);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  // A Python exception inside the objective ends the run with that exception.
  if (user && user->error) {
    py::error_already_set e = std::move(*user->error);
    user->error.reset();
    e.restore();
    throw py::error_already_set();
  }
  if (failure) std::rethrow_exception(failure);
  InterruptScope::raise_if_interrupted();
  if (done.failure) std::rethrow_exception(done.failure);
  py::list results;
  for (const auto& r : done.results) results.append(result_dict(r));
  return results;
}

// metrics.jsonl as columns: the keys in order of first appearance; a column of integers is
// int64, of numbers float64 (NaN where a row has none or null), and a column with text a list.
py::dict metrics_columns(const std::filesystem::path& file) {
  const std::vector<algo::MetricsRow> rows = run::read_metrics(file);
  std::vector<std::string> keys;
  std::map<std::string, std::vector<const algo::MetricValue*>> columns;
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (const auto& [key, value] : rows[i].fields) {
      auto [it, added] = columns.try_emplace(key, rows.size(), nullptr);
      if (added) keys.push_back(key);
      it->second[i] = &value;
    }
  py::dict out;
  for (const std::string& key : keys) {
    const auto& cells = columns[key];
    bool all_int = true, any_text = false;
    for (const auto* c : cells) {
      all_int = all_int && c && std::holds_alternative<std::int64_t>(*c);
      any_text = any_text || (c && std::holds_alternative<std::string>(*c));
    }
    if (any_text) {
      py::list items;
      for (const auto* c : cells)
        if (c && std::holds_alternative<std::string>(*c))
          items.append(std::get<std::string>(*c));
        else
          items.append(py::none());
      out[key.c_str()] = items;
    } else if (all_int) {
      py::array_t<std::int64_t> a(py::ssize_t(cells.size()));
      for (std::size_t i = 0; i < cells.size(); ++i)
        a.mutable_data()[i] = std::get<std::int64_t>(*cells[i]);
      out[key.c_str()] = a;
    } else {
      py::array_t<double> a(py::ssize_t(cells.size()));
      for (std::size_t i = 0; i < cells.size(); ++i) {
        double v = std::numeric_limits<double>::quiet_NaN();
        if (cells[i] && std::holds_alternative<std::int64_t>(*cells[i]))
          v = double(std::get<std::int64_t>(*cells[i]));
        else if (cells[i] && std::holds_alternative<double>(*cells[i]))
          v = std::get<double>(*cells[i]);
        a.mutable_data()[i] = v;
      }
      out[key.c_str()] = a;
    }
  }
  return out;
}

// herd sweep (study/sweep.hpp): the runs are `herd` processes (herd_binary); returns sweep.csv
// as columns (numbers where every cell is one, else text).
py::dict sweep(const std::string& config_path,
               const std::vector<std::pair<std::string, std::vector<std::string>>>& axes,
               const std::vector<std::string>& overrides, const std::vector<std::int64_t>& seeds,
               bool zip, const std::string& out, int jobs, const std::string& herd_binary) {
  study::SweepSpec spec;
  spec.config_path = config_path;
  spec.overrides = overrides;
  for (const auto& [key, values] : axes) {
    std::string argument = key + "=";
    for (std::size_t i = 0; i < values.size(); ++i) argument += (i ? "," : "") + values[i];
    spec.axes.push_back(study::parse_axis(argument));
  }
  spec.zip = zip;
  spec.seeds = seeds;
  spec.out = out;
  spec.jobs = jobs;
  spec.quiet = true;
  spec.herd_binary = herd_binary;
  study::SweepTable table;
  {
    py::gil_scoped_release released;
    const study::Sweep prepared = study::prepare_sweep(spec);
    table = study::tabulate(prepared, study::run_sweep(prepared));
  }
  py::dict columns;
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    bool numeric = true;
    for (std::size_t r = 0; r < table.text.size(); ++r)
      numeric = numeric && (table.text[r][c].empty() || !std::isnan(table.value[r][c]));
    if (numeric) {
      py::array_t<double> a(py::ssize_t(table.text.size()));
      for (std::size_t r = 0; r < table.text.size(); ++r) a.mutable_data()[r] = table.value[r][c];
      columns[table.columns[c].c_str()] = a;
    } else {
      py::list items;
      for (std::size_t r = 0; r < table.text.size(); ++r) items.append(table.text[r][c]);
      columns[table.columns[c].c_str()] = items;
    }
  }
  return columns;
}

}  // namespace

PYBIND11_MODULE(_herd, m) {
  m.doc() = "herd's engine (the C++ half of the Python module herd; docs/python.md)";
  // The error hierarchy of core/error.hpp, with herd's messages. InvalidInput is a ValueError
  // and IoError an OSError too, so that code catching those catches herd's.
  PyObject* error = PyErr_NewException("herd.Error", PyExc_Exception, nullptr);
  auto subclass = [&](const char* name, PyObject* also) {
    PyObject* bases = also ? PyTuple_Pack(2, error, also) : PyTuple_Pack(1, error);
    PyObject* type = PyErr_NewException(fmt::format("herd.{}", name).c_str(), bases, nullptr);
    Py_DECREF(bases);
    m.attr(name) = py::handle(type);
    return type;
  };
  m.attr("Error") = py::handle(error);
  static PyObject* types[4];
  types[int(ErrorKind::invalid_input)] = subclass("InvalidInput", PyExc_ValueError);
  types[int(ErrorKind::io)] = subclass("IoError", nullptr);
  types[int(ErrorKind::communication)] = subclass("CommError", nullptr);
  types[int(ErrorKind::divergence)] = subclass("Diverged", nullptr);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(types[int(e.kind())], e.what());
    }
  });

  m.def("run_configuration", &run_configuration, py::arg("kind"), py::arg("source"),
        py::arg("overrides"), py::arg("out"), py::arg("force"), py::arg("label"),
        py::arg("objective"), py::arg("progress"), py::arg("entry"), py::arg("single"));
  m.def("metrics_columns", &metrics_columns, py::arg("file"));
  m.def("sweep", &sweep);
  m.def("check_config", [](const std::string& kind, const py::object& source,
                           const std::vector<std::string>& overrides) {
    run::Config config = make_config(kind, source, overrides);
    config.check();
    config.make_data_paths_absolute();  // the same files from wherever the TOML is written
    return config.to_toml();
  });
  m.def("algorithms", [] { return algo::algorithm_names(); });
  m.def("models", [] { return model::model_names(); });
}
