#pragma once
// Whether this machine can hold a job's ranks on its runtime, checked before the job
// starts: a job that it cannot hold (threads it cannot create, stacks it cannot map, memory
// beyond what is available) is refused with the number it would need and the setting to
// change (InvalidInput, exit code 2), instead of failing or hanging halfway through.
#include <cstddef>
#include <cstdint>
#include <string>

namespace herd::run {

// What the kernel and the machine allow this process now.
struct MachineLimits {
  std::uint64_t max_map_count = 0;             // vm.max_map_count: memory mappings per process
  std::uint64_t mappings_in_use = 0;           // this process's mappings now
  std::uint64_t threads_max = 0;               // kernel.threads-max and pid_max, the smaller
  std::uint64_t threads_limit = 0;             // RLIMIT_NPROC (soft); 0: unlimited
  double available_memory = 0;                 // MemAvailable, bytes
  std::uint64_t address_space_limit = 0;       // RLIMIT_AS (ulimit -v), bytes; 0: unlimited
  double address_space_in_use = 0;             // VmSize, bytes
  std::uint64_t thread_stack_bytes = 8 << 20;  // a new thread's stack (RLIMIT_STACK)
  static MachineLimits of_this_machine();
};

// Bytes the simulator needs per simulated process beyond its model copies: its scheduler
// state, its suspended frames, and the algorithm's objects (a parameter-server worker on a
// 1-D quadratic, measured: docs/performance.md), with a margin.
inline constexpr double sim_bytes_per_process = 4096;
// Bytes a rank makes resident on the threads runtime beyond its model copies (its fibre's
// touched stack pages, its allocator arena's share), with a margin.
inline constexpr double thread_bytes_per_rank = 64 * 1024;

// Throws InvalidInput when `ranks` ranks of `runtime` (threads, sim; others are not
// checked) with `model_bytes` of model state each do not fit in `limits`. `what` names the
// ranks for the message, e.g. "100000 workers + 1 parameter server". `os_threads`: the
// threads runtime's run.threads (0: one per core).
void check_capacity(const std::string& runtime, std::int64_t ranks, double model_bytes,
                    const std::string& what, const MachineLimits& limits, int os_threads = 0);

}  // namespace herd::run
