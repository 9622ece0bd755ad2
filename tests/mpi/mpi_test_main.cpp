// The main() of the GoogleTest programs that run under mpiexec: every rank runs every test
// (collectives need all of them), rank 0 prints the usual report, the other ranks print only
// their failures, prefixed with their rank, and every rank exits non-zero when any rank
// failed, so mpiexec's exit code is a failure whichever rank saw it.
#include <gtest/gtest.h>

#include <cstdio>

#include "herd/comm/mpi.hpp"

namespace {

class FailurePrinter final : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_,
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.message());
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result()->Failed())
      std::fprintf(stderr, "[rank %d] FAILED %s.%s\n", rank_, info.test_suite_name(), info.name());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  herd::comm::mpi_initialize(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rank = herd::comm::mpi_world_rank();
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  const int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any_failed && !failed)
    std::printf("FAILED on another rank: see its [rank R] lines on stderr\n");
  return any_failed;
}
