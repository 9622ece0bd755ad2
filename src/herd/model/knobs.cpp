#include "herd/model/knobs.hpp"

namespace herd::model::knobs {

const OptionSpec& l2() {
  static const OptionSpec spec =
      number("model.l2", 0.0, "L2 regularisation: lambda = l2 + l2_over_n / n_train.").ge(0);
  return spec;
}

const OptionSpec& l2_over_n() {
  static const OptionSpec spec =
      number("model.l2_over_n", 1.0,
             "L2 regularisation scaled by the training set size n_train; the default 1 gives "
             "the lambda = 1/n of the literature.")
          .ge(0);
  return spec;
}

const OptionSpec& dim() {
  static const OptionSpec spec = integer("model.dim", 10, "Dimension.").ge(1);
  return spec;
}

const OptionSpec& noise() {
  static const OptionSpec spec =
      number("model.noise", 1.0, "Gradient noise sigma per sample (0 = exact gradients).").ge(0);
  return spec;
}

const OptionSpec& init() {
  static const OptionSpec spec =
      choice("model.init", {"zeros", "normal"}, "zeros",
             "Starting point x_0: zeros, or normal (entries drawn from N(0, init_scale^2), "
             "from run.seed's initialisation stream). For the quadratic, zeros is the origin, "
             "which is its optimum x* when model.spread = 0; normal starts it elsewhere.");
  return spec;
}

const OptionSpec& init_scale() {
  static const OptionSpec spec =
      number("model.init_scale", 0.01, "Standard deviation of the normal initialisation.").ge(0);
  return spec;
}

const OptionSpec& hidden() {
  static const OptionSpec spec =
      text("model.hidden", "64",
           "Widths of the hidden layers, comma-separated (e.g. \"128,64\"); empty = no hidden "
           "layer.");
  return spec;
}

const OptionSpec& activation() {
  static const OptionSpec spec =
      choice("model.activation", {"relu", "tanh"}, "relu",
             "Activation between layers (He initialisation for relu, Glorot for tanh).");
  return spec;
}

double lambda(double l2, double l2_over_n, const ModelData& data) {
  return l2 + l2_over_n / double(data.train->rows);
}

}  // namespace herd::model::knobs
