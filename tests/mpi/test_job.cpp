// Whole jobs on the MPI runtime against the threads runtime in the same process: synchronous
// algorithms end on bit-identical parameters (the ordered reduction adds in rank order, as
// threads do), and asynchronous SGD with a parameter server reaches the same optimum. Run
// under mpiexec with 2-4 ranks; K = np workers (np - 1 with a server).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include "../algo/job_helpers.hpp"
#include "herd/algo/job.hpp"
#include "herd/comm/mpi.hpp"
#include "herd/comm/threads.hpp"
#include "herd/core/rng.hpp"
#include "herd/data/partition.hpp"
#include "herd/data/synthetic.hpp"
#include "herd/model/factory.hpp"
#include "herd/model/quadratic.hpp"

namespace herd::algo {
namespace {

std::unique_ptr<model::Problem> logistic_problem(int workers) {
  data::SyntheticSpec s;
  s.rows = 1200;
  s.cols = 20;
  s.noise = 0.05;
  s.seed = 3;
  auto train = std::make_shared<const data::Dataset>(data::make_synthetic(s));
  Rng rng(5, streams::partition);
  model::DataProblemSpec spec;
  spec.train = train;
  spec.shards = data::partition(*train, workers, {}, rng);
  spec.model = model::ModelKind::logistic;
  spec.lambda = 1.0 / double(train->rows);
  spec.batch = 8;
  return model::make_data_problem(std::move(spec));
}

// This rank's final parameters on MPI and on threads must be the same floats.
void expect_bit_identical_on_mpi_and_threads(const JobSpec& j) {
  const int me = comm::mpi_world_rank();
  const JobResult on_mpi = run_job(j, comm::run_mpi);
  const JobResult on_threads = run_job(j, comm::run_threads);
  const auto& x = on_mpi.final_x[std::size_t(me)];
  ASSERT_EQ(x.size(), j.problem->dim());
  EXPECT_EQ(x, on_threads.final_x[std::size_t(me)]) << j.algorithm << " on rank " << me;
  // The run moved: equality is not that of two untouched starting points.
  std::vector<float> x0(x.size());
  j.problem->initial_point(x0);
  EXPECT_NE(x, x0);
}

TEST(MpiJob, MinibatchSgdEndsBitIdenticalToThreads) {
  const int K = comm::mpi_world_size();
  const auto problem = logistic_problem(K);
  expect_bit_identical_on_mpi_and_threads(job_for(*problem, "minibatch_sgd", K, 300, 0.5));
}

TEST(MpiJob, LocalSgdEndsBitIdenticalToThreads) {
  const int K = comm::mpi_world_size();
  const auto problem = logistic_problem(K);
  JobSpec j = job_for(*problem, "local_sgd", K, 300, 0.5);
  j.set("algo.period", 4);
  j.optimizer.rule = optim::Rule::nesterov;
  expect_bit_identical_on_mpi_and_threads(j);
}

TEST(MpiJob, HierarchicalLocalSgdOnSplitGroupsEndsBitIdenticalToThreads) {
  const int K = comm::mpi_world_size();
  const auto problem = logistic_problem(K);
  JobSpec j = job_for(*problem, "local_sgd", K, 240, 0.5);
  j.set("algo.period", 3);
  j.set("algo.group_size", 2);  // groups {0, 1}, {2, 3}; {2} alone for K = 3
  j.set("algo.global_period", 12);
  expect_bit_identical_on_mpi_and_threads(j);
}

TEST(MpiJob, AsgdWithAParameterServerReachesTheThreadsRuntimesOptimum) {
  // F_k(x) = 0.5 (x - a)' A_k (x - a): different curvatures, one minimiser a, exact
  // gradients, so the limit is a whatever the order and delays of the arrivals (they depend
  // on timing). Undelayed, the error shrinks by 1 - gamma mu = 0.95 per update, from 1.5 to
  // the float floor (~1e-6) in about 300 updates. A gradient computed at an old iterate
  // kicks x back by up to gamma L = 0.175 times that iterate's error: after 2000 updates
  // an error of 1e-4 needs a gradient from the first ~150 updates arriving at the very end,
  // a worker starved for over 1800 updates of the others.
  const int K = comm::mpi_world_size() - 1;
  const Eigen::Index d = 4;
  std::vector<Eigen::VectorXd> diag, centers;
  for (int k = 0; k < K; ++k) {
    diag.push_back(Eigen::VectorXd::LinSpaced(d, 0.5, 1.0 + 0.25 * k));
    centers.push_back(Eigen::VectorXd::LinSpaced(d, -1.5, 1.5));
  }
  const auto problem = model::QuadraticProblem::diagonal(diag, centers, 0.0, 1);
  const JobSpec j = job_for(problem, "asgd", K, 2000, 0.1);
  // On threads the ranks share one OS thread and take turns, so no worker starves whatever
  // the load. (On several OS threads, a worker sharing one with the server exchanges with it
  // without the kernel; with this test's load, 4 processes each running the job, the workers
  // of another OS thread may then not run at all before the 2000 updates are done.)
  const int me = comm::mpi_world_rank();
  const auto on_mpi = run_job(j, comm::run_mpi).final_x[std::size_t(me)];
  const auto on_threads =
      run_job(j, [](int ranks, const std::function<void(comm::Communicator&)>& program) {
        comm::run_threads_with({.compute = {}, .os_threads = 1}, ranks, program);
      }).final_x[std::size_t(me)];
  const Eigen::VectorXd& optimum = problem.minimizer();
  ASSERT_EQ(on_mpi.size(), std::size_t(d));
  for (Eigen::Index i = 0; i < d; ++i) {
    EXPECT_NEAR(on_mpi[std::size_t(i)], optimum[i], 1e-4) << "rank " << me << ", x_" << i;
    EXPECT_NEAR(on_threads[std::size_t(i)], optimum[i], 1e-4) << "rank " << me << ", x_" << i;
    EXPECT_NEAR(on_mpi[std::size_t(i)], on_threads[std::size_t(i)], 2e-4)
        << "rank " << me << ", x_" << i;
  }
}

TEST(MpiJob, AServerAlgorithmOnTooFewRanksNamesWhatItNeeds) {
  const int P = comm::mpi_world_size();
  const auto problem = logistic_problem(P);
  const JobSpec j = job_for(*problem, "asgd", P, 10, 0.1);
  const auto runtime = [&](int ranks, const std::function<void(comm::Communicator&)>& program) {
    comm::run_mpi_with({std::to_string(P) + " workers + 1 parameter server", {}, {}}, ranks,
                       program);
  };
  try {
    run_job(j, runtime);
    ADD_FAILURE() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_EQ(std::string(e.what()),
              "this job needs " + std::to_string(P + 1) + " ranks (" + std::to_string(P) +
                  " workers + 1 parameter server) but mpirun started " + std::to_string(P) +
                  "; run mpirun -np " + std::to_string(P + 1));
  }
}

}  // namespace
}  // namespace herd::algo
