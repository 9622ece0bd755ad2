// The parameter-server channel as a worker sees it: what WorkerEnd::receive_model accepts
// (models with and without x, the stop) and what it refuses, naming what is wrong. The two
// headers of every update are read in place and the others through the checked reader
// (server_channel.cpp); both must accept and refuse the same bytes.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "herd/algo/monitor.hpp"
#include "herd/algo/server_channel.hpp"
#include "herd/algo/worker.hpp"
#include "herd/comm/sim.hpp"
#include "herd/core/error.hpp"
#include "herd/optim/optimizer.hpp"
#include "herd/optim/schedule.hpp"

namespace herd::algo {
namespace {

// Rank 0 plays the server, rank 1 the worker (worker 0), each with a Worker of 2 parameters
// (zeros) on the simulator.
void server_and_worker(const std::function<void(Worker&)>& server,
                       const std::function<void(Worker&)>& worker) {
  comm::run_sim(comm::SimSpec{}, 2, [&](comm::Communicator& c) {
    optim::LocalOptimizer optimizer(optim::OptimizerSpec{}, 2);
    const optim::Schedule schedule(optim::ScheduleSpec{});
    const MonitorShared shared;
    Monitor monitor(shared);
    const std::vector<float> x0(2, 0.0f);
    Worker w(c, nullptr, optimizer, schedule, monitor, x0);
    w.set_worker_index(c.rank() - 1);
    (c.rank() == server_rank ? server : worker)(w);
  });
}

// The CommError the worker's receive throws, as the simulation reports its root cause.
std::string refusal(const std::function<void(Worker&)>& server) {
  try {
    server_and_worker(server, [](Worker& w) {
      WorkerEnd link(w);
      link.receive_model(w.x);
    });
  } catch (const CommError& e) {
    return e.what();
  }
  return "(accepted)";
}

void send_raw(Worker& server, std::vector<unsigned char> header, std::vector<float> payload = {}) {
  server.comm.send(1, WorkerEnd::interrupt_tag, payload, header);
}

TEST(ServerChannel, AWorkerReceivesModelsWithAndWithoutXAndTheStop) {
  server_and_worker(
      [](Worker& w) {
        ServerEnd end(w);
        end.send(0, {.kind = MessageKind::model, .count = 7}, std::vector<float>{1.5f, -2.0f});
        end.send(0, {.kind = MessageKind::model, .count = 8});  // the worker holds x
        end.send(0, {.kind = MessageKind::stop, .count = (std::uint64_t(1) << 40) + 3});
      },
      [](Worker& w) {
        WorkerEnd link(w);
        const WorkerEnd::Notice first = link.receive_model(w.x);
        EXPECT_FALSE(first.stop);
        EXPECT_EQ(first.count, 7u);
        EXPECT_EQ(w.x, (std::vector<float>{1.5f, -2.0f}));
        const WorkerEnd::Notice second = link.receive_model(w.x);
        EXPECT_FALSE(second.stop);
        EXPECT_EQ(second.count, 8u);
        EXPECT_EQ(w.x, (std::vector<float>{1.5f, -2.0f}));
        const WorkerEnd::Notice last = link.receive_model(w.x);
        EXPECT_TRUE(last.stop);
        EXPECT_EQ(last.count, (std::uint64_t(1) << 40) + 3);
      });
}

TEST(ServerChannel, AWorkerRefusesWhatIsNotAModelNamingIt) {
  // Another kind, well formed (a result, as a worker sends them).
  EXPECT_NE(
      refusal([](Worker& w) {
        ServerEnd(w).send(0, {.kind = MessageKind::result, .count = 1});
      }).find("worker 0: the server sent a message of kind 5 where a model or the stop was due"),
      std::string::npos);
  // A model whose x does not fit the worker's.
  EXPECT_NE(
      refusal([](Worker& w) {
        ServerEnd(w).send(0, {.kind = MessageKind::model, .count = 1}, std::vector<float>{1, 2, 3});
      }).find("worker 0: the server sent a model of 3 parameters for 2"),
      std::string::npos);
  // Headers that do not fit their kind, refused by the checked reader: a model's cut short,
  // a model's and a result's with bytes to spare, an unknown kind, no header at all.
  std::vector<unsigned char> long_result(29, 0);
  long_result[0] = std::uint8_t(MessageKind::result);
  const std::vector<std::vector<unsigned char>> headers = {{0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0},
                                                           std::vector<unsigned char>(13, 0),
                                                           long_result,
                                                           {42, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},
                                                           {}};
  for (const auto& header : headers) {
    const std::string what = refusal([&](Worker& w) { send_raw(w, header); });
    EXPECT_NE(what.find("from rank 0: a message header"), std::string::npos)
        << header.size() << " bytes: " << what;
  }
}

}  // namespace
}  // namespace herd::algo
