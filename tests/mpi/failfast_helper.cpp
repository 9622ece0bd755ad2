// A job that fails on purpose, for test_failfast: mpiexec -np 3 mpi_failfast_helper <mode>.
//   ok:    40 allreduces, then a clean exit.
//   throw: rank 1 throws InvalidInput("boom from rank 1") after 20 allreduces.
//   kill:  rank 1 kills itself with SIGKILL after 20 allreduces.
// Meanwhile rank 0 waits for a message that never comes and the others sit in an allreduce
// that rank 0 never joins: only failing fast ends the job.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "herd/comm/mpi.hpp"
#include "herd/core/error.hpp"

int main(int argc, char** argv) {
  using namespace herd;
  comm::mpi_initialize(&argc, &argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "ok" && mode != "throw" && mode != "kill") {
    std::fprintf(stderr, "usage: mpi_failfast_helper ok|throw|kill\n");
    return 2;
  }
  comm::run_mpi(comm::mpi_world_size(), [&](comm::Communicator& c) {
    std::vector<float> x(1000, 1.0f);
    for (int i = 0; i < 20; ++i) c.allreduce(x, comm::ReduceOp::mean);
    if (mode == "ok") {
      for (int i = 0; i < 20; ++i) c.allreduce(x, comm::ReduceOp::mean);
      return;
    }
    if (c.rank() == 1) {
      if (mode == "throw") throw InvalidInput("boom from rank 1");
      std::raise(SIGKILL);
    }
    if (c.rank() == 0) c.recv(1, 99);
    for (;;) c.allreduce(x, comm::ReduceOp::mean);
  });
  return 0;
}
