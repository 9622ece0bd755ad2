#pragma once
// The model.* options several models read, declared once each; a model lists the ones it
// reads in its settings' knobs() (core/settings.hpp). Options one settings struct reads are
// declared beside that model.
#include "herd/core/options.hpp"
#include "herd/model/registry.hpp"

namespace herd::model::knobs {

const OptionSpec& l2();          // model.l2: lambda = l2 + l2_over_n / n_train
const OptionSpec& l2_over_n();   // model.l2_over_n
const OptionSpec& dim();         // model.dim: dimension of the data-free problems
const OptionSpec& noise();       // model.noise: gradient noise of the data-free problems
const OptionSpec& init();        // model.init: zeros or normal starting point
const OptionSpec& init_scale();  // model.init_scale: its standard deviation
const OptionSpec& hidden();      // model.hidden: hidden layer widths (mlp, torch_mlp)
const OptionSpec& activation();  // model.activation: relu or tanh (mlp, torch_mlp)

// lambda = l2 + l2_over_n / n_train for the context's training set.
double lambda(double l2, double l2_over_n, const ModelData& data);

}  // namespace herd::model::knobs
