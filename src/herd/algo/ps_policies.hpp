#pragma once
// The policies and tasks of the parameter-server family (ps.hpp), one factory each; the name
// table that pairs them is make_parameter_server_algorithm.
#include <memory>

#include "herd/algo/ps.hpp"

namespace herd::algo {

// ps_asgd.cpp: one gradient, one update, with a per-arrival step size or acceptance rule.
std::unique_ptr<ServerPolicy> make_asgd_policy(const ParameterServer& s);
std::unique_ptr<ServerPolicy> make_rescaled_asgd_policy(const ParameterServer& s);
std::unique_ptr<ServerPolicy> make_delay_adaptive_asgd_policy(const ParameterServer& s);
std::unique_ptr<ServerPolicy> make_ringmaster_asgd_policy(const ParameterServer& s);

// ps_buffered.cpp: updates from a table or buffer of gradients.
std::unique_ptr<ServerPolicy> make_ia2sgd_policy(const ParameterServer& s);
std::unique_ptr<ServerPolicy> make_malenia_sgd_policy(const ParameterServer& s);
std::unique_ptr<ServerPolicy> make_rennala_sgd_policy(const ParameterServer& s);
std::unique_ptr<ServerPolicy> make_ringleader_asgd_policy(const ParameterServer& s);

// ps_local_sgd.cpp: asynchronous Local SGD.
std::unique_ptr<ServerPolicy> make_async_local_sgd_policy(const ParameterServer& s);
std::unique_ptr<WorkerTask> make_local_steps_task(const Worker& w);

// ps.cpp: one stochastic gradient at w.x.
std::unique_ptr<WorkerTask> make_gradient_task(const Worker& w);

}  // namespace herd::algo
