#pragma once
// The in-process communicator of the threads runtime: P ranks are P fibres of a FiberPool
// (fiber_pool.hpp) on a few OS threads of one process.
// Collectives meet at a generation barrier; each call is matched by its sequence number and
// checked for the same kind and length on every rank, and reductions add the ranks'
// contributions in rank order 0..P-1, so results are reproducible bit for bit whatever the
// thread schedule. Point-to-point messages go through per-rank mailboxes.
#include <memory>
#include <vector>

#include "herd/comm/communicator.hpp"
#include "herd/comm/compute_model.hpp"

namespace herd::comm {

class InProcWorld;  // shared by all ranks (and sub-communicators) of one job
class FiberPool;

// One communicator per rank of the pool, all made at once: make_inproc(pool)[r] is rank r,
// to be used by rank r's fibre only (its waits park that fibre). With a non-empty compute
// model, compute() sleeps the modelled time (emulated heterogeneity).
std::vector<std::unique_ptr<Communicator>> make_inproc(FiberPool& ranks,
                                                       const ComputeModel& model = {});

}  // namespace herd::comm
