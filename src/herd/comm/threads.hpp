#pragma once
// The threads runtime: runs one per-rank program on P threads of this process over the
// in-process communicator. The first rank to fail aborts the job (every other rank's
// pending call throws CommError), and its exception, the root cause, is rethrown here.
#include <functional>

#include "herd/comm/communicator.hpp"
#include "herd/comm/compute_model.hpp"

namespace herd::comm {

void run_threads(int ranks, const std::function<void(Communicator&)>& program);
// The same, with compute() sleeping the modelled compute time of each rank.
void run_threads_emulated(const ComputeModel& model, int ranks,
                          const std::function<void(Communicator&)>& program);

}  // namespace herd::comm
