#pragma once
// The threads runtime: runs one per-rank program on the ranks of a FiberPool (fibres on at
// most one OS thread per core, or run.threads) over the in-process communicator. The first
// rank to fail aborts the job (every other rank's pending call throws CommError), and its
// exception, the root cause, is rethrown here.
#include <functional>

#include "herd/comm/communicator.hpp"
#include "herd/comm/compute_model.hpp"

namespace herd::comm {

struct ThreadsSpec {
  ComputeModel compute;  // non-empty: compute() sleeps each rank's modelled compute times
  int os_threads = 0;    // OS threads carrying the ranks; 0: one per core
};

// On one OS thread per core, without emulated compute times.
void run_threads(int ranks, const std::function<void(Communicator&)>& program);
void run_threads_with(const ThreadsSpec& spec, int ranks,
                      const std::function<void(Communicator&)>& program);

}  // namespace herd::comm
