#pragma once
// The runtimes by name (run.runtime). Each runtime registers itself at the end of its own
// .cpp file (threads.cpp, sim.cpp, mpi.cpp) with HERD_REGISTER_RUNTIME: its name, a one-line
// summary, its order (its place in run.runtime's choices), whether it runs the whole job in
// this process, and how it runs P ranks of a program given the modelled cluster. The run
// layer takes run.runtime's choices and each job's runtime from this registry.
//
// herd_comm and herd_comm_mpi are linked as whole archives: nothing else references the
// runtimes' registrars.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "herd/comm/communicator.hpp"
#include "herd/comm/sim.hpp"
#include "herd/core/options.hpp"

namespace herd::comm {

// The modelled cluster ([cluster]) as the runtimes take it, laid out by rank.
struct ClusterModel {
  SimSpec spec;          // compute model, network, faults, time model
  bool emulate = false;  // real runtimes: sleep the modelled compute times
  int os_threads = 0;    // threads runtime: OS threads carrying the ranks (run.threads); 0: cores
};

using Program = std::function<void(Communicator&)>;
// Runs a per-rank program on `ranks` ranks (algo::Runtime has this signature).
using RankRunner = std::function<void(int ranks, const Program& program)>;

struct RuntimeInfo {
  std::string name;
  std::string summary;  // one line, for the documentation
  int order = 0;        // position in run.runtime's choices (multiples of 10; unique)
  // false: one process per rank, started by mpirun; the run must be started with as many.
  bool in_process = true;
  // How the runtime runs P ranks on the modelled cluster.
  std::function<RankRunner(const ClusterModel&)> make;
  std::vector<const OptionSpec*> options = {};  // the runtimes read [cluster]: none of their own
};

void register_runtime(RuntimeInfo info);

struct RuntimeRegistrar {
  explicit RuntimeRegistrar(RuntimeInfo info) { register_runtime(std::move(info)); }
};

#define HERD_REGISTER_RUNTIME(id, ...)                                                \
  [[maybe_unused]] static const ::herd::comm::RuntimeRegistrar herd_runtime_##id##_ { \
    __VA_ARGS__                                                                       \
  }

const std::vector<const RuntimeInfo*>& runtimes();  // in order
std::vector<std::string> runtime_names();
const RuntimeInfo* find_runtime(std::string_view name);
// InvalidInput "run.runtime: unknown runtime ..." for a name nobody registered (e.g. mpi in
// a program that does not link herd_comm_mpi).
const RuntimeInfo& runtime_or_throw(std::string_view name);

}  // namespace herd::comm
