// A failing rank ends the whole MPI job at once: mpiexec is started from here (not under
// mpiexec) on a helper job whose ranks would otherwise wait forever, under a hard timeout.
// Also: detecting a launch by mpirun without initialising MPI.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "herd/comm/mpi.hpp"

namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  double seconds = 0;
};

// `timeout` is the hard limit: a job still running after 45 s is killed, and its exit code
// is 124. MPI_ENVIRONMENT: variables the ranks need (ASan builds: the suppressions of Open
// MPI's leaks, tools/lsan.supp).
Outcome launch(const std::string& mode) {
  const std::string command = std::string(MPI_ENVIRONMENT) + " timeout -k 5 45 " + MPIEXEC +
                              " --allow-run-as-root --oversubscribe -np 3 " + FAILFAST_HELPER +
                              " " + mode + " 2>&1";
  Outcome out;
  const auto start = std::chrono::steady_clock::now();
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char chunk[4096];
  for (std::size_t got; (got = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;)
    out.output.append(chunk, got);
  const int status = pclose(pipe);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  return out;
}

TEST(MpiFailFast, AHealthyJobExitsWithZero) {
  const Outcome r = launch("ok");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(MpiFailFast, AnExceptionOnOneRankAbortsTheJobWithItsExitCode) {
  const Outcome r = launch("throw");
  // Open MPI's mpiexec exits with the code given to MPI_Abort: InvalidInput's 2. (Its own
  // "MPI_ABORT was invoked on rank 1" banner is not asserted: now and then, when the job is
  // torn down first, it prints "ORTE_ERROR_LOG: Out of resource in show_help.c" instead.)
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("herd: rank 1: boom from rank 1"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 30.0);
}

TEST(MpiFailFast, AKilledRankEndsTheJobAndIsNamed) {
  const Outcome r = launch("kill");
  // mpiexec reports the signal as 128 + 9.
  EXPECT_EQ(r.exit_code, 137) << r.output;
  EXPECT_NE(r.output.find("process rank 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("exited on signal 9 (Killed)"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 30.0);
}

TEST(MpiLaunch, UnderMpirunIsReadFromTheLaunchersEnvironment) {
  const char* launcher_variables[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                      "MPI_LOCALNRANKS"};
  for (const char* name : launcher_variables) unsetenv(name);
  EXPECT_FALSE(herd::comm::under_mpirun());
  for (const char* name : launcher_variables) {
    setenv(name, "3", 1);
    EXPECT_TRUE(herd::comm::under_mpirun()) << name;
    unsetenv(name);
  }
  EXPECT_FALSE(herd::comm::under_mpirun());
}

}  // namespace
