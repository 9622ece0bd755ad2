#include "herd/algo/job.hpp"

#include <mutex>
#include <stdexcept>

namespace herd::algo {

namespace {
// Out of line, as is everything that is not the rank's own state: on the simulator a
// waiting rank's frames are most of what it costs (comm/fiber_stacks.hpp).
[[noreturn, gnu::noinline, gnu::cold]] void no_checkpoints_started(const std::string& algorithm) {
  throw std::logic_error("algorithm " + algorithm +
                         " ran without starting the checkpoints it was asked for");
}

// What one rank holds while its algorithm runs. Built out of line on the heap: the frame of
// a rank that waits (a simulated worker, idle, saved off its stack) then holds a pointer,
// not these objects and the temporaries of their construction (about 600 bytes).
struct Rank {
  Rank(const JobSpec& spec, const JobIdentity& identity, const optim::Schedule& schedule, CSpan x0,
       bool server, comm::Communicator& c)
      : worker_index(server ? c.rank() - 1 : c.rank()),
        objective(worker_index >= 0 ? spec.problem->local(worker_index, spec.seed) : nullptr),
        optimizer(spec.optimizer, x0.size()),
        monitor(spec.monitor),
        worker(c, objective.get(), optimizer, schedule, monitor, x0) {
    worker.set_worker_index(worker_index);
    worker.averaged_dim = spec.problem->averaged_dim();
    if (!spec.checkpoint.file.empty()) {
      checkpointer = std::make_unique<Checkpointer>(spec.checkpoint, identity);
      worker.checkpointer = checkpointer.get();
    }
    if (spec.worker_start && worker_index >= 0) spec.worker_start(worker_index, worker.x);
  }
  int worker_index;
  std::unique_ptr<model::LocalObjective> objective;
  optim::LocalOptimizer optimizer;
  Monitor monitor;
  Worker worker;
  std::unique_ptr<Checkpointer> checkpointer;
};

// What a finished rank leaves in the job's result (under the lock: ranks may be threads).
// A function, not a lambda in run_job: its captures stayed in every waiting rank's frame.
[[gnu::noinline]] void keep_result(std::mutex& mu, JobResult& result, const Rank& rank, int r) {
  std::lock_guard lock(mu);
  if (r == 0) {
    result.last = rank.monitor.last_row();
    result.stop_reason = rank.monitor.stop_reason();
  }
  result.final_x[std::size_t(r)] = rank.worker.x;
}

[[gnu::noinline]] std::unique_ptr<Rank> make_rank(const JobSpec& spec, const JobIdentity& identity,
                                                  const optim::Schedule& schedule, CSpan x0,
                                                  bool server, comm::Communicator& c) {
  return std::make_unique<Rank>(spec, identity, schedule, x0, server, c);
}
}  // namespace

PreparedAlgorithm prepare_algorithm(const JobSpec& spec) {
  const JobContext job{
      .workers = spec.workers, .optimizer = spec.optimizer, .worker_tau = spec.worker_tau};
  return prepare_algorithm(spec.algorithm, spec.options, job);
}

JobIdentity job_identity(const JobSpec& spec) {
  const bool server = algorithm_or_throw(spec.algorithm).needs_server;
  return {.algorithm = spec.algorithm,
          .problem = spec.problem->describe(),
          .workers = spec.workers,
          .ranks = spec.workers + (server ? 1 : 0),
          .dim = spec.problem->dim(),
          .seed = spec.seed};
}

JobResult run_job(const JobSpec& spec, const Runtime& runtime, JobResult* partial) {
  const std::unique_ptr<const Algorithm> algorithm = prepare_algorithm(spec).make();
  std::vector<float> x0(spec.problem->dim());
  spec.problem->initial_point(x0);
  const optim::Schedule schedule(spec.schedule);
  JobResult result;
  std::mutex mu;
  const bool server = algorithm_or_throw(spec.algorithm).needs_server;
  const JobIdentity identity = job_identity(spec);
  const int ranks = identity.ranks;
  result.final_x.resize(std::size_t(ranks));
  try {
    runtime(ranks, [&](comm::Communicator& c) {
      const std::unique_ptr<Rank> rank = make_rank(spec, identity, schedule, x0, server, c);
      try {
        algorithm->run(rank->worker);
        // Every algorithm runs its loop through sync_loop.hpp or server_channel.hpp, which
        // start the checkpoints; one that did not would silently write none.
        if (rank->checkpointer && !rank->checkpointer->started())
          no_checkpoints_started(spec.algorithm);
      } catch (...) {
        keep_result(mu, result, *rank, c.rank());
        throw;
      }
      keep_result(mu, result, *rank, c.rank());
    });
  } catch (...) {
    if (partial != nullptr) *partial = std::move(result);
    throw;
  }
  return result;
}

}  // namespace herd::algo
