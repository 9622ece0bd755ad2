#include "herd/comm/threads.hpp"

#include <fmt/format.h>

#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "herd/comm/inproc.hpp"
#include "herd/comm/runtimes.hpp"
#include "herd/core/error.hpp"

namespace herd::comm {

void run_threads(int ranks, const std::function<void(Communicator&)>& program) {
  run_threads_emulated({}, ranks, program);
}

void run_threads_emulated(const ComputeModel& model, int ranks,
                          const std::function<void(Communicator&)>& program) {
  auto comms = make_inproc(ranks, model);
  std::mutex mu;
  std::exception_ptr root_cause;
  auto body = [&](int r) {
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
  if (ranks == 1) {
    body(0);  // no thread for a single rank: cheaper and easier to debug
  } else {
    std::vector<std::jthread> threads;
    try {
      for (int r = 0; r < ranks; ++r) threads.emplace_back(body, r);
    } catch (const std::system_error& e) {
      // The machine would not give another thread (a thread limit, or no memory for its
      // stack): the ranks already started wait in collectives for the missing ones, so the
      // world is aborted before they are joined, and the job ends with why.
      const std::string why = fmt::format(
          "the threads runtime runs one thread per rank and this machine would not start "
          "thread {} of {} ({}); run this many workers on the sim runtime "
          "(run.runtime = \"sim\"), or fewer on threads",
          threads.size() + 1, ranks, e.code().message());
      comms[0]->abort(why);
      threads.clear();  // joins them: each ends with the abort
      throw InvalidInput(why);
    }
  }
  if (root_cause) std::rethrow_exception(root_cause);
}

HERD_REGISTER_RUNTIME(threads,
                      RuntimeInfo{
                          .name = "threads",
                          .summary = "One thread per rank in this process; with cluster.emulate "
                                     "each rank sleeps its modelled compute times.",
                          .order = 10,
                          .make = [](const ClusterModel& cluster) -> RankRunner {
                            if (!cluster.emulate) return run_threads;
                            return [compute = cluster.spec.compute](int ranks,
                                                                    const Program& program) {
                              run_threads_emulated(compute, ranks, program);
                            };
                          }});

}  // namespace herd::comm
