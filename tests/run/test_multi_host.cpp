// herd under mpirun across hosts, on one machine: two network namespaces joined by a veth
// pair stand for two hosts (each with its own address and host name). Open MPI's remote agent
// (plm_rsh_agent, ssh on a real cluster) is a script that starts the remote daemon with
// `ip netns exec` in the other namespace; the ranks talk over TCP only (btl tcp,self), so the
// inter-host path is what carries the allreduce, not shared memory. The job is started the
// way docs/runtimes.md tells users to: a hostfile, `--map-by node`, herd at the same path on
// every host.
//
// Creating namespaces needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); without it the tests skip
// and say why.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/cli_files.hpp"

namespace herd::run {
namespace {

namespace fs = std::filesystem;
using test::lines_of;
using test::read;
using test::rows_without_time;
using test::summary_field;

// The output of a shell command and its exit code.
std::pair<int, std::string> shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Two hosts, A (10.213.0.1, where mpirun runs) and B (10.213.0.2). The names carry this
// process's id, so test programs of other checkouts can run beside it.
class MpiTwoHosts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string id = std::to_string(::getpid());
    ns_a_ = "herd" + id + "a", ns_b_ = "herd" + id + "b";
    dir_ = test::fresh_dir("herd_test_multi_host", id);
    fs::create_directories(dir_);
    if (::geteuid() != 0) {
      why_skipped_ = "creating network namespaces needs root";
      return;
    }
    const std::string veth_a = "hv" + id + "a", veth_b = "hv" + id + "b";
    const auto [code, out] = shell(
        "set -e; ip netns add " + ns_a_ + "; ip netns add " + ns_b_ + "; ip link add " + veth_a +
        " type veth peer name " + veth_b + "; ip link set " + veth_a + " netns " + ns_a_ +
        "; ip link set " + veth_b + " netns " + ns_b_ + "; ip -n " + ns_a_ + " addr add " + host_a +
        "/24 dev " + veth_a + "; ip -n " + ns_b_ + " addr add " + host_b + "/24 dev " + veth_b +
        "; for n in " + ns_a_ + " " + ns_b_ + "; do ip -n $n link set lo up; done; ip -n " + ns_a_ +
        " link set " + veth_a + " up; ip -n " + ns_b_ + " link set " + veth_b + " up");
    if (code != 0) {
      why_skipped_ = "this machine does not allow network namespaces here (" + out + ")";
      return;
    }
    veth_b_ = veth_b;
    // The remote agent: AGENT HOST COMMAND... as ssh is called; each host has its own name.
    agent_ = dir_ / "agent";
    std::ofstream(agent_) << "#!/bin/sh\nhost=$1; shift\ncase $host in\n  " << host_a
                          << ") ns=" << ns_a_ << "; name=hosta;;\n  " << host_b << ") ns=" << ns_b_
                          << "; name=hostb;;\n"
                          << "  *) echo \"agent: unknown host $host\" >&2; exit 1;;\nesac\n"
                          << "exec ip netns exec \"$ns\" unshare --uts sh -c \"hostname $name; "
                             "exec $*\"\n";
    fs::permissions(agent_, fs::perms::owner_all);
    std::ofstream(dir_ / "hosts") << host_a << " slots=1\n" << host_b << " slots=1\n";
  }

  static void TearDownTestSuite() {
    for (const std::string& ns : {ns_a_, ns_b_})
      shell("ip netns pids " + ns + " | xargs -r kill -9; ip netns delete " + ns);
    fs::remove_all(dir_);
  }

  void SetUp() override {
    if (!why_skipped_.empty()) GTEST_SKIP() << why_skipped_;
  }

  // `mpirun ... herd ARGS` on both hosts, started on host A; one rank per host.
  static std::string mpirun(const std::string& args) {
    const std::string subnet = "10.213.0.0/24";
    return "timeout 120 ip netns exec " + ns_a_ +
           " unshare --uts sh -c 'hostname hosta; exec mpirun --allow-run-as-root --hostfile " +
           (dir_ / "hosts").string() + " -np 2 --map-by node --mca plm_rsh_agent " +
           agent_.string() + " --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include " +
           subnet + " --mca oob_tcp_if_include " + subnet + " " + HERD_BINARY + " " + args + "'";
  }

  // Bytes host B's end of the link has received.
  static double received_by_b() {
    const auto [code, out] = shell("ip -n " + ns_b_ + " -s -j link show " + veth_b_);
    const auto at = out.find("\"rx\":{\"bytes\":");
    return code == 0 && at != std::string::npos ? std::stod(out.substr(at + 14)) : -1;
  }

  static fs::path config(const std::string& name, const std::string& extra) {
    const fs::path file = dir_ / (name + ".toml");
    std::ofstream(file) << R"(
[data]
format = "synthetic"
rows = 2000
test_rows = 500
features = 50
[model]
name = "logistic"
[algo]
name = "local_sgd"
workers = 2
batch = 8
period = 4
lr = 0.5
[run]
progress = "none"
)" << extra;
    return file;
  }

  static inline const std::string host_a = "10.213.0.1", host_b = "10.213.0.2";
  static inline std::string ns_a_, ns_b_, veth_b_, why_skipped_;
  static inline fs::path dir_, agent_;
};

// The ring allreduce crosses the link, and the trajectory is the threads runtime's bit for
// bit: the ordered reduction does not depend on where the ranks run.
TEST_F(MpiTwoHosts, ASynchronousRunAcrossHostsEqualsThreadsBitForBit) {
  const fs::path file = config("sync", "[stop]\nsteps = 400\n[eval]\nevery = 100\n");
  const fs::path threads = dir_ / "threads", mpi = dir_ / "mpi";
  ASSERT_EQ(test::herd("run " + file.string() + " --out " + threads.string()), 0);
  const double before = received_by_b();
  const auto [code, out] = shell(mpirun("run " + file.string() + " --out " + mpi.string()));
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(summary_field(mpi, "runtime"), "mpi");
  EXPECT_EQ(summary_field(mpi, "parameters_crc32"), summary_field(threads, "parameters_crc32"));
  EXPECT_EQ(rows_without_time(mpi), rows_without_time(threads));
  // 100 rounds of a 51-parameter model: with two ranks each receives half the vector in the
  // reduce-scatter and half in the allgather, d floats a round, at least 100 x 51 x 4 bytes.
  const double received = received_by_b() - before;
  std::printf("host B received %.0f bytes over the link\n", received);
  EXPECT_GE(received, 100.0 * 51 * 4);
}

// SIGKILL of the rank on host B: mpirun notices through its daemon there and ends the whole
// job within seconds, naming the rank and its host; the rows written before stay whole.
TEST_F(MpiTwoHosts, AKilledRankOnTheOtherHostEndsTheJobWithin30Seconds) {
  const fs::path file = config("kill",
                               "[stop]\nsteps = 10000000\n[eval]\nevery = 200\n"
                               "[cluster]\ncompute_times = \"0.002\"\nemulate = true\n");
  const fs::path out = dir_ / "killed";
  const fs::path log = dir_ / "killed.log";
  const pid_t launcher = fork();
  if (launcher == 0) {
    execl("/bin/sh", "sh", "-c",
          ("exec " + mpirun("run " + file.string() + " --out " + out.string()) + " >" +
           log.string() + " 2>&1")
              .c_str(),
          nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lines_of(out / "metrics.jsonl").size() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(lines_of(out / "metrics.jsonl").size(), 2u) << read(log);
  // The herd process in host B's namespace (its daemon, orted, is there too).
  const auto [found, pid] =
      shell("for p in $(ip netns pids " + ns_b_ +
            "); do [ \"$(cat /proc/$p/comm)\" = herd ] && echo $p; done; true");
  ASSERT_FALSE(pid.empty()) << "no herd process on host B";
  const auto killed_at = std::chrono::steady_clock::now();
  kill(pid_t(std::stoi(pid)), SIGKILL);
  int status = 0;
  waitpid(launcher, &status, 0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  std::printf("the job ended %.2f s after the kill\n", seconds);
  EXPECT_LT(seconds, 30.0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 124)
      << read(log);
  const std::string said = read(log);
  EXPECT_NE(said.find("rank 1"), std::string::npos) << said;
  EXPECT_NE(said.find("on node " + host_b), std::string::npos) << said;
  for (const auto& row : lines_of(out / "metrics.jsonl")) EXPECT_EQ(row.back(), '}');
  EXPECT_FALSE(fs::exists(out / "summary.json"));
}

}  // namespace
}  // namespace herd::run
