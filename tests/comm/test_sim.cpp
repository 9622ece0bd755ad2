// The simulator's clock: compute, messages, collectives, faults, failures and deadlocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "herd/comm/sim.hpp"
#include "herd/core/error.hpp"

namespace herd::comm {
namespace {

SimSpec with_tau(std::vector<double> tau) {
  SimSpec s;
  s.compute.tau = std::move(tau);
  return s;
}

TEST(Sim, SynchronousStepTakesTheSlowestWorkersTime) {
  // Naive minibatch SGD's pattern: compute, then allreduce. Without noise and with a free
  // network every iteration takes exactly tau_max.
  const std::vector<double> tau{0.5, 2.0, 1.25, 0.75};
  std::vector<double> finish(4);
  const SimStats stats = run_sim(with_tau(tau), 4, [&](Communicator& c) {
    std::vector<float> g(3, 1.0f);
    for (int it = 0; it < 10; ++it) {
      c.compute(1);
      c.allreduce(g, ReduceOp::mean);
      EXPECT_DOUBLE_EQ(c.now(), 2.0 * (it + 1));
    }
    finish[std::size_t(c.rank())] = c.now();
  });
  for (double t : finish) EXPECT_DOUBLE_EQ(t, 20.0);
  EXPECT_DOUBLE_EQ(stats.end_time, 20.0);
}

TEST(Sim, MessagesArriveAfterLatencyPlusBytesOverBandwidthInArrivalOrder) {
  SimSpec s = with_tau({1.0, 1.0, 3.0});
  s.network.latency = 0.1;
  s.network.bandwidth = 400;  // bytes per second: 100 floats take 1 s
  run_sim(s, 3, [&](Communicator& c) {
    if (c.rank() == 0) {
      // Rank 2 sends earlier in program order but later in virtual time.
      Message first = c.recv(any_source, 7);
      EXPECT_EQ(first.source, 1);
      EXPECT_DOUBLE_EQ(c.now(), 1.0 + 0.1 + 1.0);
      Message second = c.recv(any_source, 7);
      EXPECT_EQ(second.source, 2);
      EXPECT_DOUBLE_EQ(c.now(), 3.0 + 0.1 + 0.01);
    } else {
      c.compute(1);
      c.send(0, 7, std::vector<float>(c.rank() == 1 ? 100 : 1));
    }
  });
}

// Messages from different ranks that arrive out of the order they were sent in are received
// in arrival order: ahead of every message in flight, between two, and behind one that
// arrives at the same time (ties keep the send order).
TEST(Sim, AMessageSentLaterButArrivingEarlierIsReceivedFirst) {
  SimSpec s = with_tau({1.0, 1.0, 1.5, 1.75, 1.75});
  s.network.latency = 0.1;
  s.network.bandwidth = 400;  // bytes per second: 100 floats take 1 s, one float 0.01 s
  std::vector<int> sources;
  std::vector<double> times;
  run_sim(s, 5, [&](Communicator& c) {
    if (c.rank() != 0) {
      c.compute(1);  // sends at 1.0 (rank 1), 1.5 (2), 1.75 (3), 1.75 (4)
      c.send(0, 7, std::vector<float>(c.rank() == 1 ? 100 : 1));
      return;
    }
    for (int i = 0; i < 4; ++i) {
      sources.push_back(c.recv(any_source, 7).source);
      times.push_back(c.now());
    }
  });
  EXPECT_EQ(sources, (std::vector<int>{2, 3, 4, 1}));
  ASSERT_EQ(times.size(), 4u);
  EXPECT_DOUBLE_EQ(times[0], 1.5 + 0.1 + 0.01);
  EXPECT_DOUBLE_EQ(times[1], 1.75 + 0.1 + 0.01);
  EXPECT_DOUBLE_EQ(times[2], 1.75 + 0.1 + 0.01);
  EXPECT_DOUBLE_EQ(times[3], 1.0 + 0.1 + 1.0);
}

// The mailboxes' nodes come in chunks of at most 4,096: hundreds of chunks, as a million
// simulated workers' messages in flight need, hold every message.
TEST(Sim, AMailboxHoldsHundredsOfThousandsOfMessagesInFlight) {
  constexpr int n = 300000;
  run_sim(SimSpec{}, 2, [&](Communicator& c) {
    if (c.rank() == 1) {
      for (int i = 0; i < n; ++i) c.send(0, 3, std::vector<float>{float(i)});
      return;
    }
    int in_order = 0;
    for (int i = 0; i < n; ++i) in_order += c.recv(1, 3).data.at(0) == float(i) ? 1 : 0;
    EXPECT_EQ(in_order, n);
  });
}

// An event keeps its rank in 24 bits: a larger simulation is refused before it starts,
// saying why, and never runs a rank under another's number.
TEST(Sim, MoreRanksThanAnEventCanNameAreRefused) {
  bool ran = false;
  try {
    run_sim(SimSpec{}, (1 << 24) + 1, [&](Communicator&) { ran = true; });
    FAIL() << "not refused";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("at most 16777216 processes"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(ran);
}

// A message's delivery time counts its header and its payload bytes, and a link delivers in
// the order sent: a short message cannot overtake a long one from the same rank (the
// Communicator's per-source order).
TEST(Sim, AMessagesBytesSetItsDeliveryTimeAndALinkKeepsItsOrder) {
  SimSpec s;
  s.network.latency = 0.1;
  s.network.bandwidth = 400;  // bytes per second
  run_sim(s, 2, [&](Communicator& c) {
    if (c.rank() == 1) {
      c.send(0, 2, {}, std::vector<unsigned char>(100, 9));                     // 100 bytes
      c.send(0, 1, std::vector<float>(90), std::vector<unsigned char>(40, 7));  // 400 bytes
      c.send(0, 3, std::vector<float>(25));                                     // 100 bytes
      return;
    }
    const Message header_only = c.recv(any_source, any_tag);
    EXPECT_EQ(header_only.tag, 2);
    EXPECT_EQ(header_only.header, std::vector<unsigned char>(100, 9));
    EXPECT_TRUE(header_only.data.empty());
    EXPECT_EQ(c.now(), 0.1 + 100.0 / 400);
    const Message both = c.recv(any_source, any_tag);
    EXPECT_EQ(both.tag, 1);
    EXPECT_EQ(both.data.size(), 90u);
    EXPECT_EQ(both.header.size(), 40u);
    EXPECT_EQ(c.now(), 0.1 + 400.0 / 400);
    // Alone it would have arrived at 0.1 + 100 / 400; behind the long message, with it.
    const Message payload_only = c.recv(any_source, any_tag);
    EXPECT_EQ(payload_only.tag, 3);
    EXPECT_EQ(c.now(), 0.1 + 400.0 / 400);
  });
}

TEST(Sim, AByteBroadcastCostsWhatAFloatBroadcastOfAsManyBytesCosts) {
  SimSpec s;
  s.network.latency = 1e-3;
  s.network.bandwidth = 1e6;
  const NetworkModel& n = s.network;
  run_sim(s, 5, [&](Communicator& c) {
    std::vector<unsigned char> bytes(4000);
    c.broadcast(bytes, 2);
    EXPECT_EQ(c.now(), n.broadcast(4000, 5));
    EXPECT_DOUBLE_EQ(c.now(),
                     3 * 1e-3 + 3200 / 1e6 + 4 * (1e-3 + 800 / 1e6));  // scatter + allgather
    std::vector<float> floats(1000);
    c.broadcast(floats, 2);
    EXPECT_EQ(c.now(), 2 * n.broadcast(4000, 5));
  });
}

TEST(Sim, CollectiveCostsFollowTheNetworkModel) {
  SimSpec s;
  s.network.latency = 1e-3;
  s.network.bandwidth = 1e6;
  const NetworkModel& n = s.network;
  EXPECT_DOUBLE_EQ(n.allreduce(4000, 4), 2 * 3 * (1e-3 + 1000 / 1e6));
  // Broadcast: the cheaper of a binomial tree (small messages) and scatter + allgather.
  EXPECT_DOUBLE_EQ(n.broadcast(40, 5), 3 * (1e-3 + 40 / 1e6));
  EXPECT_DOUBLE_EQ(n.broadcast(4000, 5), 3 * 1e-3 + 3200 / 1e6 + 4 * (1e-3 + 800 / 1e6));
  run_sim(s, 4, [&](Communicator& c) {
    std::vector<float> x(1000);
    c.allreduce(x, ReduceOp::sum);
    EXPECT_DOUBLE_EQ(c.now(), n.allreduce(4000, 4));
    {
      Unmetered quiet(c);  // evaluation traffic moves no clock
      c.allreduce(x, ReduceOp::sum);
    }
    EXPECT_DOUBLE_EQ(c.now(), n.allreduce(4000, 4));
  });
}

// ---- A hierarchical network: nodes with an intra- and an inter-node link -----------------

// Ranks 0, 1 on node 0 and ranks 2, 3 on node 1; a fast intra-node link and a slow
// inter-node one.
constexpr double intra_alpha = 1e-5, intra_beta = 1e9;  // seconds, bytes per second
constexpr double inter_alpha = 1e-3, inter_beta = 1e6;
NetworkModel flat_inter_link() {
  NetworkModel n;
  n.latency = inter_alpha;
  n.bandwidth = inter_beta;
  return n;
}
SimSpec two_nodes_of_two() {
  SimSpec s;
  s.network.latency = inter_alpha;
  s.network.bandwidth = inter_beta;
  s.network.intra = {intra_alpha, intra_beta};
  s.network.node = {0, 0, 1, 1};
  return s;
}

TEST(SimNodes, TheLinksACommunicationCrosses) {
  const NetworkModel n = two_nodes_of_two().network;
  auto is = [](Links l, bool intra, bool inter) { return l.intra == intra && l.inter == inter; };
  EXPECT_TRUE(is(n.between(0, 1), true, false));
  EXPECT_TRUE(is(n.between(3, 2), true, false));
  EXPECT_TRUE(is(n.between(1, 2), false, true));
  EXPECT_TRUE(is(n.among({0, 1}), true, false));       // one node
  EXPECT_TRUE(is(n.among({0, 2}), false, true));       // one rank on each node
  EXPECT_TRUE(is(n.among({0, 1, 2, 3}), true, true));  // both
  EXPECT_TRUE(is(n.among({2}), false, false));
  // A flat network has one link, the inter-node one, whatever the ranks.
  const NetworkModel flat = flat_inter_link();
  EXPECT_TRUE(is(flat.between(0, 1), false, true));
  EXPECT_TRUE(is(flat.among({0, 1, 2, 3}), false, true));
  // One step costs the slowest link crossed: here the inter-node one...
  EXPECT_EQ(n.step(400, n.among({0, 1, 2, 3})), inter_alpha + 400 / inter_beta);
  EXPECT_EQ(n.step(400, n.among({0, 1})), intra_alpha + 400 / intra_beta);
  // ...unless the intra-node link is the slower one for those bytes.
  NetworkModel slow_inside = n;
  slow_inside.intra = {0.5, 0};
  EXPECT_EQ(slow_inside.step(400, n.among({0, 1, 2, 3})), 0.5);
  EXPECT_EQ(slow_inside.step(400, n.among({0, 2})), inter_alpha + 400 / inter_beta);
}

TEST(SimNodes, AMessageCostsTheLinkBetweenItsRanks) {
  run_sim(two_nodes_of_two(), 4, [&](Communicator& c) {
    if (c.rank() == 0) {
      // Both sent at t = 0: the one from the same node arrives first.
      const Message near = c.recv(any_source, 7);
      EXPECT_EQ(near.source, 1);
      EXPECT_DOUBLE_EQ(c.now(), intra_alpha + 400 / intra_beta);
      const Message far = c.recv(any_source, 7);
      EXPECT_EQ(far.source, 2);
      EXPECT_DOUBLE_EQ(c.now(), inter_alpha + 400 / inter_beta);
      Unmetered quiet(c);
      c.send(3, 9, std::vector<float>(100));
    } else if (c.rank() == 3) {
      c.recv(2, 8);  // over node 1's own link
      EXPECT_DOUBLE_EQ(c.now(), intra_alpha + 8 / intra_beta);
      // An unmetered message costs nothing on either link: it arrives when rank 0 sent it.
      c.recv(0, 9);
      EXPECT_DOUBLE_EQ(c.now(), inter_alpha + 400 / inter_beta);
    } else {
      if (c.rank() == 2) c.send(3, 8, std::vector<float>(2));
      c.send(0, 7, std::vector<float>(100));
    }
  });
}

TEST(SimNodes, AnAllreduceInsideANodeUsesTheIntraNodeLinkAndOneAcrossNodesTheInterNodeLink) {
  // n = 4000 bytes. The world allreduce spans both nodes: 2 (P - 1) steps of n / P bytes,
  // paced by the inter-node link. A group of one node (a split communicator) runs on the
  // intra-node link alone; a group of one rank per node on the inter-node link alone.
  run_sim(two_nodes_of_two(), 4, [&](Communicator& c) {
    std::vector<float> x(1000, 1.0f);
    c.allreduce(x, ReduceOp::sum);
    const double world = 2 * 3 * (inter_alpha + 1000 / inter_beta);
    EXPECT_DOUBLE_EQ(c.now(), world);
    EXPECT_EQ(x[0], 4.0f);

    auto node = c.split(c.rank() / 2, c.rank());  // the ranks of my node
    const double split_done = c.now();            // a split costs nothing
    EXPECT_EQ(split_done, world);
    node->allreduce(x, ReduceOp::sum);
    const double in_node = 2 * 1 * (intra_alpha + 2000 / intra_beta);
    EXPECT_DOUBLE_EQ(c.now(), split_done + in_node);  // the clock moves on by the cost
    EXPECT_EQ(x[0], 8.0f);

    auto across = c.split(c.rank() % 2, c.rank());  // {0, 2} and {1, 3}: one rank per node
    across->allreduce(x, ReduceOp::sum);
    EXPECT_DOUBLE_EQ(c.now(), split_done + in_node + 2 * 1 * (inter_alpha + 2000 / inter_beta));
    EXPECT_EQ(x[0], 16.0f);
  });
}

TEST(SimNodes, EveryCollectiveOfANodeGroupStaysOnTheIntraNodeLink) {
  // The closed forms on a node of P = 2 (broadcast: the binomial tree, one step of n bytes,
  // is the cheaper there), then the same calls on the world, which crosses nodes.
  const SimSpec s = two_nodes_of_two();
  const NetworkModel& n = s.network;
  run_sim(s, 4, [&](Communicator& c) {
    auto node = c.split(c.rank() / 2, c.rank());
    std::vector<float> x(1000);
    std::vector<double> mine{double(c.rank())}, all(2);
    double t = 0;
    auto costs = [&](double expected) {
      EXPECT_DOUBLE_EQ(c.now(), t + expected);
      t = c.now();
    };
    node->broadcast(x, 1);
    costs(intra_alpha + 4000 / intra_beta);
    node->allgather(mine, all);
    costs(intra_alpha + 8 / intra_beta);
    EXPECT_EQ(all[1], double(c.rank() / 2 * 2 + 1));
    node->barrier();
    costs(intra_alpha);

    all.resize(4);
    c.broadcast(x, 3);
    costs(std::min(2 * (inter_alpha + 4000 / inter_beta),
                   2 * inter_alpha + 3000 / inter_beta + 3 * (inter_alpha + 1000 / inter_beta)));
    const std::vector<int> everyone{0, 1, 2, 3};
    EXPECT_DOUBLE_EQ(n.broadcast(4000, 4, n.among(everyone)), flat_inter_link().broadcast(4000, 4));
    c.allgather(mine, all);
    costs(3 * (inter_alpha + 8 / inter_beta));
    c.barrier();
    costs(2 * inter_alpha);
  });
}

TEST(SimNodes, EqualLinksCostWhatTheFlatNetworkCosts) {
  // Nodes whose two links are equal change nothing, bit for bit.
  SimSpec flat;
  flat.network.latency = 1e-3;
  flat.network.bandwidth = 1e6;
  SimSpec nodes = flat;
  nodes.network.intra = flat.network.inter();
  nodes.network.node = {0, 0, 0, 1, 1};
  auto times = [](const SimSpec& s) {
    std::vector<double> t;
    run_sim(s, 5, [&](Communicator& c) {
      std::vector<float> x(777);
      c.allreduce(x, ReduceOp::mean);
      c.broadcast(x, 4);
      auto group = c.split(c.rank() < 3 ? 0 : 1, -c.rank());
      group->allreduce(x, ReduceOp::sum);
      group->broadcast(x, 0);
      if (c.rank() == 4) c.send(0, 1, x);
      if (c.rank() == 0) c.recv(4, 1);
      if (c.rank() == 2) c.send(1, 1, x);
      if (c.rank() == 1) c.recv(2, 1);
      c.barrier();
      t.push_back(c.now());
    });
    return t;
  };
  EXPECT_EQ(times(flat), times(nodes));
}

TEST(SimNodes, TheNodeMapMustCoverEveryRank) {
  SimSpec s = two_nodes_of_two();
  EXPECT_THROW(run_sim(s, 3, [](Communicator&) {}), std::logic_error);
}

TEST(Sim, ComputeIsInterruptedByTheAwaitedTag) {
  run_sim(with_tau({10.0, 1.0}), 2, [&](Communicator& c) {
    if (c.rank() == 0) {
      EXPECT_FALSE(c.compute(1, 5));  // rank 1's message at t = 1 stops the 10 s of work
      EXPECT_DOUBLE_EQ(c.now(), 1.0);
      EXPECT_EQ(c.recv(1, 5).source, 1);
      EXPECT_TRUE(c.compute(1, 5));  // nothing interrupts this one
      EXPECT_DOUBLE_EQ(c.now(), 11.0);
    } else {
      c.compute(1);
      c.send(0, 5, std::vector<float>{1});
    }
  });
}

// cluster.time_model = "measured": compute() charges the wall time the process spent since
// it was last resumed, its own and not another's (each is charged from its resumption).
TEST(Sim, TheMeasuredTimeModelChargesTheWallTimeSinceTheProcessResumed) {
  SimSpec s;
  s.measured_time = true;
  const std::vector<int> work_ms{0, 200, 20};
  std::vector<double> charged(3);
  run_sim(s, 3, [&](Communicator& c) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start <
           std::chrono::milliseconds(work_ms[std::size_t(c.rank())])) {
    }
    c.compute(1);
    charged[std::size_t(c.rank())] = c.now();
  });
  EXPECT_LT(charged[0], 0.015);
  EXPECT_GE(charged[1], 0.200);
  EXPECT_GE(charged[2], 0.020);
  // Rank 2 ran after rank 1: charged its own 20 ms, not rank 1's 200 as well (a loaded
  // machine stretches a process's work by far less than that).
  EXPECT_LT(charged[2], 0.150);
  EXPECT_LT(charged[1], 2.0);
}

TEST(Sim, NoiseAndStragglersAreDrawnFromTheSeed) {
  auto end_times = [](std::uint64_t seed) {
    SimSpec s = with_tau({1.0, 1.0});
    s.compute.noise = ComputeNoise::half_normal;
    s.compute.noise_scale = {0.5, 0.5};
    s.compute.straggler_prob = 0.1;
    s.compute.straggler_factor = 10;
    s.compute.seed = seed;
    std::vector<double> t(2);
    run_sim(s, 2, [&](Communicator& c) {
      for (int i = 0; i < 100; ++i) c.compute(1);
      t[std::size_t(c.rank())] = c.now();
    });
    return t;
  };
  EXPECT_EQ(end_times(1), end_times(1));
  EXPECT_NE(end_times(1), end_times(2));
  // Mean per gradient: 1 + 0.5 sqrt(2/pi), times 1 + 0.1 * 9 for stragglers: about 2.5.
  const auto t = end_times(3);
  EXPECT_GT(t[0] / 100, 1.5);
  EXPECT_LT(t[0] / 100, 4.0);
}

TEST(Sim, InjectedFaults) {
  SimSpec s = with_tau({1.0, 1.0});
  s.faults.push_back(Fault{1, 2.5, FaultKind::stall, 10.0});
  run_sim(s, 2, [&](Communicator& c) {
    for (int i = 0; i < 5; ++i) c.compute(1);
    EXPECT_DOUBLE_EQ(c.now(), c.rank() == 1 ? 15.0 : 5.0);
  });
  SimSpec d = with_tau({1.0, 1.0, 1.0});
  d.faults.push_back(Fault{2, 3.5, FaultKind::die, 0});
  try {
    run_sim(d, 3, [&](Communicator& c) {
      std::vector<float> x(2);
      for (int i = 0; i < 10; ++i) {
        c.compute(1);
        c.allreduce(x, ReduceOp::sum);
      }
    });
    FAIL() << "expected the dead rank's error";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 2 died at virtual time 3.5"), std::string::npos)
        << e.what();
  }
}

TEST(Sim, FailureOfOneRankUnwindsEveryOther) {
  int unwound = 0;
  EXPECT_THROW(run_sim(with_tau({1, 1, 1}), 3,
                       [&](Communicator& c) {
                         if (c.rank() == 1) throw Diverged("rank 1 saw nan");
                         try {
                           c.recv(1, 0);
                         } catch (const CommError&) {
                           ++unwound;
                           throw;
                         }
                       }),
               Diverged);
  EXPECT_EQ(unwound, 2);
}

TEST(Sim, DeadlockIsReportedWithEveryWait) {
  // Before the report, every stuck process unwinds its own stack (its destructors run), as
  // after a failure: resumed by the scheduler, it throws from its wait.
  struct Unwound {
    int& count;
    ~Unwound() { ++count; }
  };
  int unwound = 0;
  try {
    run_sim(SimSpec{}, 2, [&](Communicator& c) {
      const Unwound guard{unwound};
      c.recv(1 - c.rank(), 3);
    });
    FAIL() << "expected a deadlock report";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("deadlock"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("rank 1 at t = 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("recv(source 0, tag 3)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(unwound, 2);
}

}  // namespace
}  // namespace herd::comm
