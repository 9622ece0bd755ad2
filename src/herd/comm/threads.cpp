#include "herd/comm/threads.hpp"

#include <exception>
#include <mutex>
#include <string>

#include "herd/comm/fiber_pool.hpp"
#include "herd/comm/inproc.hpp"
#include "herd/comm/runtimes.hpp"
#include "herd/core/error.hpp"

namespace herd::comm {

void run_threads(int ranks, const std::function<void(Communicator&)>& program) {
  run_threads_with({}, ranks, program);
}

void run_threads_with(const ThreadsSpec& spec, int ranks,
                      const std::function<void(Communicator&)>& program) {
  FiberPool pool(ranks, spec.os_threads);
  auto comms = make_inproc(pool, spec.compute);
  std::mutex mu;
  std::exception_ptr root_cause;
  const auto body = [&](int r) {
    try {
      program(*comms[std::size_t(r)]);
    } catch (...) {
      std::string what = "unknown error";
      try {
        throw;
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      {
        std::lock_guard lock(mu);
        if (!root_cause) root_cause = std::current_exception();
      }
      comms[std::size_t(r)]->abort("rank " + std::to_string(r) + " failed: " + what);
    }
  };
  const auto deadlock = [&] {
    comms[0]->abort(
        "deadlock on the threads runtime: every rank that has not returned waits, and none "
        "can wake another (a receive that no rank will send to, or a collective that not "
        "every rank entered)");
  };
  pool.run(body, deadlock);
  if (root_cause) std::rethrow_exception(root_cause);
}

HERD_REGISTER_RUNTIME(threads,
                      RuntimeInfo{
                          .name = "threads",
                          .summary = "Ranks as fibres on run.threads OS threads of this process "
                                     "(one per core by default); with cluster.emulate each rank "
                                     "sleeps its modelled compute times.",
                          .order = 10,
                          .make = [](const ClusterModel& cluster) -> RankRunner {
                            ThreadsSpec spec{.compute = {}, .os_threads = cluster.os_threads};
                            if (cluster.emulate) spec.compute = cluster.spec.compute;
                            return [spec](int ranks, const Program& program) {
                              run_threads_with(spec, ranks, program);
                            };
                          }});

}  // namespace herd::comm
