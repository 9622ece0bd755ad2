#include "herd/run/capacity.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "herd/comm/fiber_pool.hpp"
#include "herd/comm/fiber_stacks.hpp"
#include "herd/comm/sim.hpp"
#include "herd/core/error.hpp"

namespace herd::run {

namespace {

std::uint64_t read_number(const char* path, std::uint64_t otherwise) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  return in >> v ? v : otherwise;
}

std::uint64_t count_lines(const char* path) {
  std::ifstream in(path);
  std::uint64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// A field of a /proc file of "Name:  value kB" lines (/proc/meminfo, /proc/self/status), in
// bytes; 0 when absent.
double kb_field(const char* path, const std::string& field) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(field + ":")) continue;
    std::istringstream rest(line.substr(field.size() + 1));
    double kb = 0;
    if (rest >> kb) return kb * 1024.0;
  }
  return 0;
}

// Threads of the whole system now (/proc/loadavg: "... running/total last-pid").
std::uint64_t system_threads() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c, runnable;
  if (!(in >> a >> b >> c >> runnable)) return 0;
  const auto slash = runnable.find('/');
  return slash == std::string::npos ? 0 : std::stoull(runnable.substr(slash + 1));
}

std::string gigabytes(double bytes) {
  return fmt::format("{:.1f} GB", bytes / 1e9);
}

}  // namespace

MachineLimits MachineLimits::of_this_machine() {
  MachineLimits m;
  constexpr auto many = std::numeric_limits<std::uint64_t>::max() / 4;
  m.max_map_count = read_number("/proc/sys/vm/max_map_count", many);
  m.mappings_in_use = count_lines("/proc/self/maps");
  // Every thread takes a pid; the threads of the other processes count against both limits.
  const std::uint64_t others = system_threads();
  const std::uint64_t kernel = std::min(read_number("/proc/sys/kernel/threads-max", many),
                                        read_number("/proc/sys/kernel/pid_max", many));
  m.threads_max = kernel > others ? kernel - others : 0;
  rlimit nproc{};
  if (::getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY)
    m.threads_limit = std::uint64_t(nproc.rlim_cur);
  m.available_memory = kb_field("/proc/meminfo", "MemAvailable");
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    m.address_space_limit = std::uint64_t(as.rlim_cur);
    m.address_space_in_use = kb_field("/proc/self/status", "VmSize");
  }
  rlimit stack{};
  if (::getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY)
    m.thread_stack_bytes = std::uint64_t(stack.rlim_cur);
  return m;
}

void check_capacity(const std::string& runtime, std::int64_t ranks, double model_bytes,
                    const std::string& what, const MachineLimits& limits, int os_threads) {
  const double available = limits.available_memory;
  const std::uint64_t free_mappings = limits.max_map_count > limits.mappings_in_use + 256
                                          ? limits.max_map_count - limits.mappings_in_use - 256
                                          : 0;
  if (runtime == "threads") {
    // Each rank is a fibre: a stack mapping with its guard page and the pages it touches.
    // Its OS threads (at most one per core, or run.threads): a pid and a stack each.
    const std::uint64_t threads = std::uint64_t(
        std::clamp<std::int64_t>(os_threads > 0 ? os_threads : comm::FiberPool::default_threads(),
                                 1, std::max<std::int64_t>(ranks, 1)));
    struct Bound {
      std::uint64_t ranks;
      std::string why;
    };
    std::vector<Bound> bounds{
        {free_mappings / 2 > threads ? free_mappings / 2 - threads : 0,
         fmt::format("vm.max_map_count = {}: two memory mappings per rank's stack, {} in use",
                     limits.max_map_count, limits.mappings_in_use)}};
    if (limits.address_space_limit > 0) {
      // The stacks are reserved whole, and glibc reserves a 64 MB malloc arena per thread.
      const double room =
          double(limits.address_space_limit) - limits.address_space_in_use -
          double(threads) * (64.0 * 1024 * 1024 + double(limits.thread_stack_bytes));
      bounds.push_back(
          {room > 0 ? std::uint64_t(room / double(comm::FiberPool::default_stack_bytes)) : 0,
           fmt::format("ulimit -v = {} KB of address space, {} MB of stack per rank, {} MB in "
                       "use",
                       limits.address_space_limit / 1024,
                       comm::FiberPool::default_stack_bytes / (1024 * 1024),
                       std::uint64_t(limits.address_space_in_use) / (1024 * 1024))});
    }
    if (available > 0)
      bounds.push_back(
          {std::uint64_t(available / (thread_bytes_per_rank + model_bytes)),
           fmt::format("{} of memory available, about {} KB per rank", gigabytes(available),
                       int((thread_bytes_per_rank + model_bytes) / 1024))});
    const Bound tightest =
        *std::min_element(bounds.begin(), bounds.end(),
                          [](const Bound& a, const Bound& b) { return a.ranks < b.ranks; });
    if (std::uint64_t(ranks) > tightest.ranks)
      throw InvalidInput(fmt::format(
          "run.runtime = \"threads\" runs each rank on a stack of its own: this job needs {} "
          "ranks ({}), and this machine holds at most {} ({}); run this many workers on "
          "run.runtime = \"sim\", or fewer on threads (algo.workers)",
          ranks, what, tightest.ranks, tightest.why));
    // The calling thread is the first of them.
    const std::uint64_t thread_room = std::min(
        limits.threads_max, limits.threads_limit > 0 ? limits.threads_limit : limits.threads_max);
    if (threads > thread_room)
      throw InvalidInput(fmt::format(
          "run.runtime = \"threads\" carries the ranks on {} OS threads, and this machine "
          "would not start more than {} ({}); ask for fewer with run.threads",
          threads, thread_room,
          limits.threads_limit > 0 && limits.threads_limit <= limits.threads_max
              ? fmt::format("ulimit -u = {} threads per user", limits.threads_limit)
              : fmt::format("kernel.threads-max and kernel.pid_max leave {} threads for new ones",
                            limits.threads_max)));
    return;
  }
  if (runtime == "sim") {
    const auto slots =
        std::uint64_t(std::min<std::int64_t>(ranks, std::int64_t(comm::SimSpec{}.stack_slots)));
    if (comm::StackArena::mappings(slots) > free_mappings)
      throw InvalidInput(fmt::format(
          "the simulator needs {} memory mappings for its fibre stacks and this process has {} "
          "left (vm.max_map_count = {}); raise vm.max_map_count",
          comm::StackArena::mappings(slots), free_mappings, limits.max_map_count));
    const double per_process = sim_bytes_per_process + model_bytes;
    const double needed = double(ranks) * per_process;
    if (available > 0 && needed > 0.9 * available)
      throw InvalidInput(fmt::format(
          "the simulator needs about {} for this job's {} processes ({}; about {} bytes each), "
          "and this machine has {} available; use fewer workers (algo.workers <= about {})",
          gigabytes(needed), ranks, what, std::int64_t(per_process), gigabytes(available),
          std::int64_t(0.9 * available / per_process)));
  }
}

}  // namespace herd::run
