#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <numbers>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "herd/algo/registry.hpp"
#include "herd/comm/runtimes.hpp"
#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"
#include "herd/model/registry.hpp"
#include "herd/run/cluster.hpp"
#include "herd/run/config.hpp"
#include "herd/run/options.hpp"
#include "support/temp_dir.hpp"

namespace herd::run {
namespace {

namespace fs = std::filesystem;

// Runs f, expects InvalidInput, and checks that its message contains every fragment.
void expect_invalid(const std::function<void()>& f,
                    std::initializer_list<std::string_view> fragments) {
  try {
    f();
  } catch (const InvalidInput& e) {
    const std::string message = e.what();
    for (const auto fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "message \"" << message << "\" lacks \"" << fragment << "\"";
    }
    return;
  }
  ADD_FAILURE() << "no InvalidInput thrown";
}

void expect_invalid_toml(const std::string& text,
                         std::initializer_list<std::string_view> fragments) {
  expect_invalid([&] { Config::from_toml_string(text, "bad.toml"); }, fragments);
}

void expect_invalid_override(const std::string& assignment,
                             std::initializer_list<std::string_view> fragments) {
  expect_invalid(
      [&] {
        Config c;
        c.apply_override(assignment);
      },
      fragments);
}

// A temporary directory removed at scope exit.
struct TempDir {
  fs::path path = herd::test::temp_dir() / ("herd_test_config_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
};

TEST(OptionTable, KeysAreUniqueSnakeCaseAndInDeclaredSections) {
  std::set<std::string> keys;
  std::set<std::string> sections;
  for (const auto& s : section_table()) sections.insert(s.name);
  for (const auto& spec : option_table()) {
    EXPECT_TRUE(keys.insert(spec.key).second) << spec.key;
    EXPECT_EQ(spec.key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_."),
              std::string::npos)
        << spec.key;
    EXPECT_TRUE(sections.count(std::string(spec.section()))) << spec.key;
    EXPECT_FALSE(spec.help.empty()) << spec.key;
    // Every default passes its own checks, unchanged.
    EXPECT_EQ(validate(spec, spec.default_value, ""), spec.default_value) << spec.key;
  }
  // Options of a section are declared together, sections in section_table() order.
  std::size_t section = 0;
  for (const auto& spec : option_table()) {
    while (section < section_table().size() && section_table()[section].name != spec.section())
      ++section;
    EXPECT_LT(section, section_table().size()) << spec.key << " out of section order";
  }
}

// The documented order itself is pinned once, in test_settings (Registry.EveryAlgorithm...).
TEST(OptionTable, AlgorithmChoicesAreTheRegistrysInItsOrder) {
  EXPECT_EQ(find_option("algo.name")->choices, algo::algorithm_names());
}

TEST(OptionTable, RuntimeAndModelChoicesComeFromTheirRegistries) {
  EXPECT_EQ(find_option("run.runtime")->choices,
            (std::vector<std::string>{"threads", "sim", "mpi"}));
  std::vector<std::string> models{"logistic", "least_squares", "softmax",
                                  "mlp",      "quadratic",     "double_well"};
  if (HERD_WITH_TORCH)
    models.insert(models.end(),
                  {"torch_mlp", "lenet5", "cnn7", "resnet20", "vgg16", "torchscript"});
  EXPECT_EQ(find_option("model.name")->choices, models);
}

// A build without LibTorch names the torch models as absent from the build, not as unknown
// names; with LibTorch every name on that list is a registered model (the list stays true).
TEST(OptionTable, ATorchModelWithoutLibTorchIsRefusedAsNotInThisBuild) {
  const auto& unbuilt = find_option("model.name")->unbuilt_choices;
  if (HERD_WITH_TORCH) {
    EXPECT_TRUE(unbuilt.empty());
    for (const std::string& name : model::torch_model_names())
      EXPECT_NE(model::find_model(name), nullptr) << name;
    return;
  }
  EXPECT_EQ(unbuilt, model::torch_model_names());
  expect_invalid_toml("[model]\nname = \"lenet5\"\n",
                      {"model.name = \"lenet5\" is not in this build", "-DHERD_WITH_TORCH=OFF"});
  expect_invalid([] { model::model_or_throw("vgg16"); }, {"\"vgg16\" is not in this build"});
}

TEST(Config, DefaultsResolve) {
  const Config c = Config::defaults();
  EXPECT_EQ(c.get_int("run.seed"), 1);
  EXPECT_EQ(c.get_string("run.runtime"), "threads");
  EXPECT_EQ(c.get_string("data.format"), "synthetic");
  EXPECT_EQ(c.get_int("data.rows"), 20000);
  EXPECT_EQ(c.get_number("data.alpha"), 0.5);
  EXPECT_EQ(c.get_number("model.l2_over_n"), 1.0);
  EXPECT_EQ(c.get_string("algo.name"), "local_sgd");
  EXPECT_EQ(c.get_int("algo.workers"), 8);
  EXPECT_EQ(c.get_int("algo.period"), 8);
  EXPECT_EQ(c.get_int("algo.batch"), 32);
  EXPECT_EQ(c.get_number("algo.lr"), 0.1);
  EXPECT_EQ(c.get_number("algo.outer_lr"), 0.7);
  EXPECT_EQ(c.get_string("optim.name"), "sgd");
  EXPECT_EQ(c.get_int("stop.steps"), 1000);
  EXPECT_EQ(c.get_number("stop.target_loss"), 0.0);
  EXPECT_EQ(c.get_int("eval.every"), 50);
  EXPECT_TRUE(c.get_bool("eval.test"));
  EXPECT_FALSE(c.is_set_explicitly("algo.workers"));
  EXPECT_TRUE(c.compare().empty());
  EXPECT_EQ(c, Config::from_toml_string("", "empty.toml"));
  EXPECT_NO_THROW(c.check());
}

TEST(Config, WrongGetterIsAProgrammingError) {
  const Config c;
  EXPECT_THROW(c.get_number("algo.workers"), std::logic_error);
  EXPECT_THROW(c.get_int("algo.nope"), std::logic_error);
}

constexpr const char* full_file = R"(# every section, every type, some defaults repeated
[run]
seed = 7
progress = "none"

[data]
format = "libsvm"
train = "libsvm/a9a"
test = "libsvm/a9a.t"
partition = "dirichlet"
alpha = 0.1
density = 1

[model]
name = "logistic"
l2 = 1e-4
init = "normal"

[algo]
name = "easgd"
workers = 16
period = 4
lr = 0.05
schedule = "cosine"
min_lr = 0.001

[optim]
name = "nesterov"
momentum = 0.95

[stop]
steps = 0
time = 12.5

[eval]
every = 10
test = false

[[compare]]
label = "Local SGD, H = 8"
algo = { name = "local_sgd", period = 8 }

[[compare]]
label = "minibatch \"SGD\""
algo.name = "minibatch_sgd"
optim.momentum = 0
)";

TEST(Config, ReadsEveryTypeFromToml) {
  const Config c = Config::from_toml_string(full_file, "full.toml");
  EXPECT_EQ(c.source(), "full.toml");
  EXPECT_EQ(c.get_int("run.seed"), 7);
  EXPECT_EQ(c.get_string("data.train"), "libsvm/a9a");
  EXPECT_EQ(c.get_number("data.alpha"), 0.1);
  EXPECT_EQ(c.get_number("data.density"), 1.0);  // an integer for a number option
  EXPECT_EQ(c.get_number("model.l2"), 1e-4);
  EXPECT_EQ(c.get_int("algo.workers"), 16);
  EXPECT_EQ(c.get_number("stop.time"), 12.5);
  EXPECT_FALSE(c.get_bool("eval.test"));
  EXPECT_TRUE(c.is_set_explicitly("algo.workers"));
  EXPECT_FALSE(c.is_set_explicitly("algo.batch"));
  EXPECT_EQ(c.get_int("algo.batch"), 32);
}

TEST(Config, ToTomlRoundTrips) {
  const Config c = Config::from_toml_string(full_file, "full.toml");
  const std::string text = c.to_toml();
  const Config back = Config::from_toml_string(text, "resolved.toml");
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.to_toml(), text);
  EXPECT_EQ(text.rfind("# herd configuration", 0), 0u);
  EXPECT_NE(text.find("\n[algo]\nname = \"easgd\"\nworkers = 16\nperiod = 4\n"), std::string::npos);
  EXPECT_NE(text.find("l2 = 0.0001\n"), std::string::npos);
  EXPECT_NE(text.find("density = 1.0\n"), std::string::npos);
  EXPECT_NE(text.find("label = \"minibatch \\\"SGD\\\"\"\n"), std::string::npos);
  // Every key appears.
  for (const auto& spec : option_table()) {
    std::string line(1, '\n');
    line.append(spec.name()).append(" = ");
    EXPECT_NE(text.find(line), std::string::npos) << spec.key;
  }
  EXPECT_EQ(Config::from_toml_string(Config().to_toml(), "d.toml"), Config());
  // Values that need escaping or full precision survive.
  Config odd;
  odd.set("data.train", std::string("dir with \"quotes\"\\and\ttab"));
  odd.set("algo.lr", 0.1 + 0.2);
  odd.set("stop.target_loss", 1e-300);
  EXPECT_EQ(Config::from_toml_string(odd.to_toml(), "odd.toml"), odd);
}

TEST(Config, OverridesOfEveryType) {
  Config c;
  c.apply_override("algo.lr=1e-3");
  EXPECT_EQ(c.get_number("algo.lr"), 1e-3);
  c.apply_override("algo.lr=2");
  EXPECT_EQ(c.get_number("algo.lr"), 2.0);
  c.apply_override(" algo.workers = 16 ");
  EXPECT_EQ(c.get_int("algo.workers"), 16);
  c.apply_override("eval.test=false");
  EXPECT_FALSE(c.get_bool("eval.test"));
  c.apply_override("algo.name=minibatch_sgd");
  EXPECT_EQ(c.get_string("algo.name"), "minibatch_sgd");
  c.apply_override("data.train=\"my data.txt\"");
  EXPECT_EQ(c.get_string("data.train"), "my data.txt");
  c.apply_override("data.test='t=1.txt'");  // only the first '=' splits
  EXPECT_EQ(c.get_string("data.test"), "t=1.txt");
  c.apply_override("data.test=");
  EXPECT_EQ(c.get_string("data.test"), "");
  EXPECT_TRUE(c.is_set_explicitly("algo.lr"));
  EXPECT_FALSE(c.is_set_explicitly("algo.period"));
  c.set("algo.outer_lr", std::int64_t{1});  // set() validates and converts the same way
  EXPECT_EQ(c.get_number("algo.outer_lr"), 1.0);
}

TEST(ConfigErrors, UnknownKeySuggestsTheClosest) {
  expect_invalid_toml("[algo]\nworkers = 2\nperod = 4\n",
                      {"bad.toml:3:1", "unknown key algo.perod", "did you mean algo.period?"});
  expect_invalid_toml("seed = 3\n", {"bad.toml:1:1", "seed", "did you mean run.seed?"});
  expect_invalid_toml("[optim]\nlr = 0.1\n", {"optim.lr", "did you mean algo.lr?"});
  expect_invalid_toml("[algo]\nxyzzy_frobnicate = 1\n", {"unknown key algo.xyzzy_frobnicate"});
  expect_invalid_toml("[algo.foo]\nx = 1\n", {"unknown key algo.foo"});
  expect_invalid_toml("[algo.workers]\nx = 1\n", {"algo.workers", "got a table"});
}

TEST(ConfigErrors, UnknownSection) {
  expect_invalid_toml("[run]\nseed = 2\n\n[algos]\nworkers = 2\n",
                      {"bad.toml:4:", "unknown section [algos]", "did you mean [algo]?"});
  expect_invalid_toml("[optimizer]\nname = \"sgd\"\n", {"[optimizer]", "did you mean [optim]?"});
  expect_invalid_toml("algo = 3\n", {"bad.toml:1:1", "algo is a section"});
}

TEST(ConfigErrors, WrongType) {
  expect_invalid_toml("[algo]\nworkers = \"8\"\n",
                      {"bad.toml:2:", "algo.workers", "expected an integer", "\"8\""});
  expect_invalid_toml("[algo]\nworkers = 8.0\n", {"algo.workers", "expected an integer"});
  expect_invalid_toml("[algo]\nlr = [0.1]\n", {"algo.lr", "expected a number, got an array"});
  expect_invalid_toml("[eval]\ntest = 1\n", {"eval.test", "expected a boolean"});
  expect_invalid_toml("[algo]\nname = 3\n", {"algo.name", "expected a string"});
}

TEST(ConfigErrors, OutOfRange) {
  expect_invalid_toml("[algo]\nworkers = 0\n",
                      {"bad.toml:2:", "algo.workers = 0 is out of range: must be >= 1"});
  expect_invalid_toml("\n[algo]\nperiod = 0\n",
                      {"bad.toml:3:", "algo.period = 0 is out of range: must be >= 1"});
  expect_invalid_toml("[algo]\nlr = -1\n", {"algo.lr = -1.0 is out of range: must be > 0"});
  expect_invalid_toml("[optim]\nmomentum = 1\n", {"optim.momentum", "must be in [0, 1)"});
  expect_invalid_toml("[data]\ndensity = 0.0\n", {"data.density", "must be in (0, 1]"});
  expect_invalid_toml("[stop]\ntime = nan\n", {"stop.time", "not a finite number"});
  expect_invalid([] { Config().set("algo.workers", std::int64_t{0}); }, {"algo.workers"});
}

TEST(ConfigErrors, NotAChoice) {
  expect_invalid_toml(
      "[algo]\nname = \"local-sgd\"\n",
      {"bad.toml:2:", "algo.name = \"local-sgd\" is not one of: minibatch_sgd, local_sgd, ",
       "did you mean local_sgd?"});
  expect_invalid_toml("[data]\npartition = \"random\"\n",
                      {"data.partition", "iid, shards, dirichlet, source"});
}

TEST(ConfigErrors, SyntaxErrorGivesLineAndColumn) {
  expect_invalid_toml("[algo]\nworkers = 4\nperiod = = 3\n", {"bad.toml:3:", "TOML syntax error"});
  expect_invalid_toml("[algo]\nworkers = 4\nworkers = 5\n", {"bad.toml:3:", "TOML syntax error"});
}

TEST(ConfigErrors, MissingFile) {
  expect_invalid([] { Config::from_toml_file("/nonexistent/herd.toml"); },
                 {"/nonexistent/herd.toml", "does not exist"});
}

TEST(ConfigErrors, MalformedOverride) {
  expect_invalid_override("algo.workers",
                          {"override 'algo.workers'", "expected section.key=value"});
  expect_invalid_override("algo.wrkers=3", {"algo.wrkers", "did you mean algo.workers?"});
  expect_invalid_override("algo.workers=abc", {"algo.workers", "expected an integer, got 'abc'"});
  expect_invalid_override("algo.workers=1.5", {"algo.workers", "expected an integer"});
  expect_invalid_override("algo.workers=0", {"override 'algo.workers=0'", "must be >= 1"});
  expect_invalid_override("algo.lr=fast", {"algo.lr", "expected a number"});
  expect_invalid_override("algo.lr=inf", {"algo.lr", "not a finite number"});
  expect_invalid_override("eval.test=yes", {"eval.test", "expected a boolean"});
  expect_invalid_override("algo.name=sgd", {"algo.name", "is not one of"});
  expect_invalid_override("=3", {"unknown key"});
}

TEST(Compare, ParsesEntriesAndBuildsVariants) {
  const Config base = Config::from_toml_string(R"([algo]
workers = 4

[[compare]]
label = "minibatch"
algo = { name = "minibatch_sgd" }

[[compare]]
label = "Local SGD, H = 8"
algo.period = 8
algo.name = "local_sgd"
optim.name = "momentum"

[[compare]]
label = "sub-table"
[compare.algo]
lr = 1
)",
                                               "cmp.toml");
  ASSERT_EQ(base.compare().size(), 3u);
  const auto& entries = base.compare();
  EXPECT_EQ(entries[0].label, "minibatch");
  EXPECT_EQ(entries[0].overrides,
            (std::vector<std::pair<std::string, Value>>{{"algo.name", "minibatch_sgd"}}));
  // Overrides come in option_table() order, whatever the order in the file.
  EXPECT_EQ(entries[1].overrides,
            (std::vector<std::pair<std::string, Value>>{{"algo.name", "local_sgd"},
                                                        {"algo.period", std::int64_t{8}},
                                                        {"optim.name", "momentum"}}));
  EXPECT_EQ(entries[2].overrides, (std::vector<std::pair<std::string, Value>>{{"algo.lr", 1.0}}));

  Config with_cli = base;
  with_cli.apply_override("algo.period=2");
  with_cli.apply_override("algo.batch=64");
  const Config v = with_cli.variant(entries[1]);
  EXPECT_EQ(v.get_int("algo.workers"), 4);  // from the base file
  EXPECT_EQ(v.get_int("algo.batch"), 64);   // from the command line
  EXPECT_EQ(v.get_int("algo.period"), 8);   // the entry wins
  EXPECT_EQ(v.get_string("optim.name"), "momentum");
  EXPECT_TRUE(v.compare().empty());
  EXPECT_EQ(with_cli.variant(entries[0]).get_int("algo.period"), 2);
}

TEST(Compare, ValidatesEntries) {
  expect_invalid_toml(
      "[[compare]]\nlabel = \"a\"\n\n[[compare]]\nlabel = \"H = 8\"\nalgo.perod = 8\n",
      {"bad.toml:6:", "[[compare]] entry 2 (\"H = 8\")", "unknown key algo.perod",
       "did you mean algo.period?"});
  expect_invalid_toml("[[compare]]\nlabel = \"a\"\nalgo = { workers = 0 }\n",
                      {"bad.toml:3:", "entry 1 (\"a\")", "algo.workers = 0 is out of range"});
  expect_invalid_toml("[[compare]]\nlabel = \"a\"\nalgos = { workers = 2 }\n",
                      {"entry 1", "unknown section [algos]"});
  expect_invalid_toml("[[compare]]\nalgo.workers = 2\n",
                      {"bad.toml:1:", "[[compare]] entry 1 needs a non-empty label"});
  expect_invalid_toml("[[compare]]\nlabel = \"\"\n", {"entry 1 needs a non-empty label"});
  expect_invalid_toml("[[compare]]\nlabel = 3\n", {"entry 1 needs a non-empty label"});
  expect_invalid_toml("[[compare]]\nlabel = \"x\"\n[[compare]]\nlabel = \"x\"\n",
                      {"bad.toml:3:", "entries 1 and 2 share the label \"x\""});
  expect_invalid_toml("[compare]\nlabel = \"x\"\n", {"compare must be an array of tables"});
}

TEST(Config, CheckCrossOptionRules) {
  Config c;
  c.apply_override("algo.group_size=2");
  c.apply_override("algo.global_period=12");
  expect_invalid([&] { c.check(); }, {"algo.global_period = 12", "multiple of algo.period = 8"});
  c.apply_override("algo.global_period=16");
  EXPECT_NO_THROW(c.check());

  Config q;
  q.apply_override("model.name=quadratic");
  q.apply_override("model.smoothness=0.5");
  expect_invalid([&] { q.check(); }, {"model.smoothness"});

  Config libsvm;
  libsvm.apply_override("data.format=libsvm");
  expect_invalid([&] { libsvm.check(); }, {"data.train"});

  Config endless;
  endless.apply_override("stop.steps=0");
  expect_invalid([&] { endless.check(); }, {"stop.steps", "stop.time"});
}

TEST(Config, CheckAppliesTheConfiguredAlgorithmsRules) {
  // The rules live in the algorithms' settings (algo/registry.hpp); check() applies those of
  // the configured algorithm to the job the configuration describes, naming the source.
  Config lsgd = Config::from_toml_string("[algo]\nname = \"lsgd\"\ngroup_size = 3\n", "l.toml");
  expect_invalid([&] { lsgd.check(); }, {"l.toml: ", "algo.group_size = 3 does not divide"});
  lsgd.apply_override("algo.workers=9");
  EXPECT_NO_THROW(lsgd.check());
  Config local;  // local_sgd, whose last group may be smaller
  local.apply_override("algo.group_size=3");
  EXPECT_NO_THROW(local.check());

  Config rescaled;
  rescaled.apply_override("algo.name=rescaled_asgd");
  expect_invalid([&] { rescaled.check(); }, {"configuration: ", "cluster.compute_times"});
  rescaled.apply_override("cluster.compute_times=linear");
  EXPECT_NO_THROW(rescaled.check());
  rescaled.apply_override("cluster.compute_times=");
  rescaled.apply_override("algo.rescale_tau=estimated");
  EXPECT_NO_THROW(rescaled.check());

  // EAMSGD takes Nesterov's rule unless optim.name says otherwise, which it then refuses.
  Config eamsgd;
  eamsgd.apply_override("algo.name=eamsgd");
  EXPECT_EQ(local_optimizer(eamsgd).rule, optim::Rule::nesterov);
  EXPECT_NO_THROW(eamsgd.check());
  eamsgd.apply_override("optim.momentum=0");
  expect_invalid([&] { eamsgd.check(); }, {"Nesterov", "optim.momentum > 0"});
  eamsgd.apply_override("optim.momentum=0.9");
  eamsgd.apply_override("optim.name=sgd");
  EXPECT_EQ(local_optimizer(eamsgd).rule, optim::Rule::sgd);
  expect_invalid([&] { eamsgd.check(); }, {"Nesterov"});
}

TEST(Cluster, NodeSizeGroupsConsecutiveWorkersIntoNodesWithAnIntraNodeLink) {
  Config c;
  EXPECT_TRUE(make_cluster(c, 4, false, 1).spec.network.node.empty());  // flat by default
  c.apply_override("cluster.latency=1e-3");
  c.apply_override("cluster.bandwidth=1e6");
  c.apply_override("cluster.node_size=2");
  c.apply_override("cluster.intra_latency=1e-5");
  c.apply_override("cluster.intra_bandwidth=1e9");
  const comm::NetworkModel n = make_cluster(c, 5, false, 1).spec.network;
  EXPECT_EQ(n.latency, 1e-3);  // the inter-node link
  EXPECT_EQ(n.bandwidth, 1e6);
  EXPECT_EQ(n.intra.latency, 1e-5);
  EXPECT_EQ(n.intra.bandwidth, 1e9);
  EXPECT_EQ(n.node, (std::vector<int>{0, 0, 1, 1, 2}));  // the last node holds fewer
  // A parameter server (rank 0) sits on a node of its own; worker k is rank k + 1.
  EXPECT_EQ(make_cluster(c, 4, true, 1).spec.network.node, (std::vector<int>{2, 0, 0, 1, 1}));
  c.apply_override("cluster.node_size=8");  // more than the workers: one node
  EXPECT_EQ(make_cluster(c, 3, true, 1).spec.network.node, (std::vector<int>{1, 0, 0, 0}));

  // On the simulator: an allreduce of the world (4 workers on 2 nodes) runs at the pace of
  // the inter-node link, one of a node's workers on the intra-node link.
  c.apply_override("cluster.node_size=2");
  const Cluster cluster = make_cluster(c, 4, false, 1);
  const comm::RankRunner sim = comm::runtime_or_throw("sim").make(cluster);
  std::vector<double> world(4), node(4);  // clocks after each allreduce
  sim(4, [&](comm::Communicator& on) {
    const auto r = std::size_t(on.rank());
    std::vector<float> x(1000);  // 4000 bytes
    on.allreduce(x, comm::ReduceOp::sum);
    world[r] = on.now();
    auto mine = on.split(on.rank() / 2, on.rank());
    mine->allreduce(x, comm::ReduceOp::sum);
    node[r] = on.now();
  });
  for (int r = 0; r < 4; ++r) {
    EXPECT_DOUBLE_EQ(world[std::size_t(r)], 2 * 3 * (1e-3 + 1000 / 1e6)) << r;
    EXPECT_DOUBLE_EQ(node[std::size_t(r)], world[std::size_t(r)] + 2 * 1 * (1e-5 + 2000 / 1e9))
        << r;
  }
}

TEST(Cluster, NodeSizeAndTheIntraNodeLinkAreChecked) {
  expect_invalid_override("cluster.node_size=-1", {"cluster.node_size = -1", ">= 0"});
  expect_invalid_override("cluster.intra_bandwidth=-5", {"cluster.intra_bandwidth"});
  // Intra-node values on a flat network would do nothing: refused, naming the key, by
  // check() (with the source) and by make_cluster.
  for (const char* key : {"cluster.intra_latency", "cluster.intra_bandwidth"}) {
    Config flat = Config::from_toml_string("[algo]\nworkers = 4\n", "f.toml");
    flat.apply_override(std::string(key) + "=0.5");
    expect_invalid([&] { flat.check(); }, {"f.toml: ", key, "cluster.node_size > 0"});
    expect_invalid([&] { make_cluster(flat, 4, false, 1); }, {key, "cluster.node_size > 0"});
    flat.apply_override("cluster.node_size=2");
    EXPECT_NO_THROW(flat.check());
    EXPECT_NO_THROW(make_cluster(flat, 4, false, 1));
  }
  // 0, their default, is fine on a flat network: a resolved config.toml lists every option.
  Config listed;
  listed.apply_override("cluster.intra_latency=0");
  listed.apply_override("cluster.intra_bandwidth=0");
  EXPECT_NO_THROW(listed.check());
}

TEST(Config, AlgorithmOptionsAreTheExplicitValuesTheAlgorithmReads) {
  Config c;
  c.apply_override("algo.name=easgd");
  c.apply_override("algo.period=4");
  c.apply_override("algo.pull=0.5");   // lsgd's
  c.apply_override("algo.workers=3");  // not an algorithm option
  EXPECT_EQ(algorithm_options(c), (algo::OptionValues{{"algo.period", std::int64_t{4}}}));
  c.apply_override("algo.elastic_alpha=0.0");
  EXPECT_EQ(algorithm_options(c).at("algo.elastic_alpha"), Value(0.0));
}

TEST(OptionsText, AlgorithmAndModelOptionsSayWhichAlgorithmsOrModelsReadThem) {
  const std::string md = options_markdown();
  EXPECT_NE(md.find("| `algo.server_batch` | integer | `0` | >= 0 | S, gradients collected per "
                    "step; 0 = S = workers. Read by: `malenia_sgd`, `rennala_sgd`. |\n"),
            std::string::npos);
  EXPECT_NE(md.find("| `minibatch_sgd` | no | none |"), std::string::npos);
  EXPECT_NE(md.find("| `asgd` | yes | none |"), std::string::npos);
  EXPECT_NE(options_help().find("Read by: malenia_sgd, rennala_sgd."), std::string::npos);
  EXPECT_NE(md.find("Read by: `quadratic`, `double_well`. |\n"), std::string::npos);
  EXPECT_NE(md.find("| `quadratic` | no | `model.dim`, `model.mu`,"), std::string::npos);
}

// The mean of n durations of worker i's minibatch gradient under the cluster's model.
double mean_duration(const Cluster& cluster, int rank, int n) {
  const comm::ComputeModel& m = cluster.spec.compute;
  Rng rng(5, streams::compute_noise_base + std::uint64_t(rank));
  double sum = 0;
  for (int j = 0; j < n; ++j) sum += m.duration(rank, m.reference_batch, 0.0, rng);
  return sum / n;
}

// cluster.compute_times_after: by rank, the server's 0 first; `reversed` mirrors the first
// times; a piece of work takes the new time when it starts at or after change_at.
TEST(Cluster, ComputeTimesAfterTakeOverAtChangeAt) {
  Config c;
  c.apply_override("algo.workers=3");
  c.apply_override("cluster.compute_times=0.5, 2, 3.5");
  c.apply_override("cluster.compute_times_after=reversed");
  c.apply_override("cluster.change_at=100");
  const comm::ComputeModel m = make_cluster(c, 3, true, 1).spec.compute;
  EXPECT_EQ(m.tau_after, (std::vector<double>{0.0, 3.5, 2.0, 0.5}));
  EXPECT_EQ(m.change_at, 100.0);
  Rng rng(5, streams::compute_noise_base);
  EXPECT_EQ(m.duration(1, m.reference_batch, 99.9, rng), 0.5);
  EXPECT_EQ(m.duration(1, m.reference_batch, 100.0, rng), 3.5);
  EXPECT_EQ(m.duration(3, 2 * m.reference_batch, 1e6, rng), 1.0);
  c.apply_override("cluster.compute_times_after=4");
  EXPECT_EQ(make_cluster(c, 3, false, 1).spec.compute.tau_after,
            (std::vector<double>{4.0, 4.0, 4.0}));
}

TEST(Cluster, NoiseScaleTauMakesTheMeanTimesProportionalToTau) {
  const std::vector<double> tau{0.5, 2.0, 3.5};
  Config c;
  c.apply_override("algo.workers=3");
  c.apply_override("cluster.compute_times=0.5, 2, 3.5");
  c.apply_override("cluster.noise=half_normal");
  c.apply_override("cluster.noise_scale=tau");
  EXPECT_EQ(make_cluster(c, 3, false, 1).spec.compute.noise_scale, tau);
  // With a server on rank 0, which computes nothing.
  EXPECT_EQ(make_cluster(c, 3, true, 1).spec.compute.noise_scale,
            (std::vector<double>{0.0, 0.5, 2.0, 3.5}));

  // Sample means of 20,000 draws against the closed forms, within 5 standard errors: with
  // s_i = tau_i, half_normal adds |N(0, tau_i^2)| (mean tau_i sqrt(2/pi), sd tau_i
  // sqrt(1 - 2/pi)), exponential Exp(mean tau_i) (sd tau_i).
  constexpr int n = 20000;
  const double root_n = std::sqrt(double(n));
  struct Case {
    const char* noise;
    double mean, sd;  // per unit of tau
  };
  const double half = std::sqrt(2.0 / std::numbers::pi);
  for (const Case& k : {Case{"half_normal", 1.0 + half, std::sqrt(1.0 - half * half)},
                        Case{"exponential", 2.0, 1.0}}) {
    c.apply_override(std::string("cluster.noise=") + k.noise);
    const Cluster cluster = make_cluster(c, 3, false, 1);
    for (int i = 0; i < 3; ++i) {
      const double t = tau[std::size_t(i)];
      EXPECT_NEAR(mean_duration(cluster, i, n), k.mean * t, 5 * k.sd * t / root_n)
          << k.noise << ", worker " << i;
    }
  }
  // Lognormal is multiplicative, so a constant s already keeps the means proportional:
  // tau_i exp(s^2 / 2), sd tau_i sqrt((e^{s^2} - 1) e^{s^2}); its s has no unit, so tau is
  // refused for it.
  c.apply_override("cluster.noise=lognormal");
  expect_invalid([&] { make_cluster(c, 3, false, 1); },
                 {"cluster.noise_scale = \"tau\"", "lognormal", "dimensionless"});
  c.apply_override("cluster.noise_scale=0.5");
  const Cluster lognormal = make_cluster(c, 3, false, 1);
  const double e = std::exp(0.25);
  for (int i = 0; i < 3; ++i) {
    const double t = tau[std::size_t(i)];
    EXPECT_NEAR(mean_duration(lognormal, i, n), t * std::exp(0.125),
                5 * t * std::sqrt((e - 1) * e) / root_n)
        << "lognormal, worker " << i;
  }

  // sqrt is unchanged: s_i = sqrt(i) for workers numbered 1..K, whatever their tau.
  c.apply_override("cluster.noise=half_normal");
  c.apply_override("cluster.noise_scale=sqrt");
  const Cluster by_index = make_cluster(c, 3, false, 1);
  EXPECT_EQ(by_index.spec.compute.noise_scale,
            (std::vector<double>{1.0, std::sqrt(2.0), std::sqrt(3.0)}));
  for (int i = 0; i < 3; ++i) {
    const double s = std::sqrt(double(i + 1));
    EXPECT_NEAR(mean_duration(by_index, i, n), tau[std::size_t(i)] + s * half,
                5 * s * std::sqrt(1.0 - half * half) / root_n);
  }

  // Without compute times there is no modelled compute, and tau needs none.
  Config untimed;
  untimed.apply_override("cluster.noise_scale=tau");
  EXPECT_TRUE(make_cluster(untimed, 8, false, 1).spec.compute.empty());
}

TEST(Cluster, BadNoiseScalesAreRefusedNamingTheKey) {
  Config c;
  c.apply_override("algo.workers=3");
  c.apply_override("cluster.compute_times=linear");
  c.apply_override("cluster.noise=exponential");
  c.apply_override("cluster.noise_scale=-1");
  expect_invalid([&] { make_cluster(c, 3, false, 1); },
                 {"cluster.noise_scale", "worker 0", ">= 0"});
  c.apply_override("cluster.noise_scale=0.5, -2, 1");
  expect_invalid([&] { make_cluster(c, 3, false, 1); }, {"cluster.noise_scale", "worker 1"});
  c.apply_override("cluster.noise_scale=tau_i");
  expect_invalid([&] { make_cluster(c, 3, false, 1); }, {"cluster.noise_scale", "sqrt, tau"});
  c.apply_override("cluster.noise_scale=0.5, 2");
  expect_invalid([&] { make_cluster(c, 3, false, 1); }, {"cluster.noise_scale", "2 values"});
}

TEST(Config, DataPathsResolveAgainstDirEnvAndFile) {
  const TempDir dir;
  const fs::path file = dir.write("run.toml", "[data]\ntrain = \"libsvm/a9a\"\n");
  const char* saved = std::getenv("HERD_DATA");
  const std::string saved_value = saved ? saved : "";
  unsetenv("HERD_DATA");

  Config c = Config::from_toml_file(file.string());
  EXPECT_EQ(c.source(), file.string());
  EXPECT_EQ(c.data_path("data.train"), fs::absolute(dir.path) / "libsvm/a9a");
  EXPECT_EQ(c.data_path("data.test"), fs::path());
  setenv("HERD_DATA", "/srv/data", 1);
  EXPECT_EQ(c.data_path("data.train"), fs::path("/srv/data/libsvm/a9a"));
  c.apply_override("data.dir=/mnt/sets");  // an explicit data.dir wins over HERD_DATA
  EXPECT_EQ(c.data_path("data.train"), fs::path("/mnt/sets/libsvm/a9a"));
  c.apply_override("data.dir=sets");  // relative to the configuration file
  EXPECT_EQ(c.data_path("data.train"), fs::absolute(dir.path) / "sets/libsvm/a9a");
  c.apply_override("data.train=/abs/file");
  EXPECT_EQ(c.data_path("data.train"), fs::path("/abs/file"));

  if (saved) {
    setenv("HERD_DATA", saved_value.c_str(), 1);
  } else {
    unsetenv("HERD_DATA");
  }
}

TEST(Config, ReadsFilesAndNamesThemInErrors) {
  const TempDir dir;
  const fs::path good = dir.write("good.toml", full_file);
  EXPECT_EQ(Config::from_toml_file(good.string()), Config::from_toml_string(full_file, "x"));
  const fs::path bad = dir.write("bad.toml", "[algo]\n\nworkers = -2\n");
  expect_invalid([&] { Config::from_toml_file(bad.string()); },
                 {bad.string() + ":3:", "algo.workers = -2"});
  expect_invalid([&] { Config::from_toml_file(dir.path.string()); }, {"is a directory"});
}

TEST(OptionsText, HelpListsEveryOptionWithinEightyColumns) {
  const std::string help = options_help();
  for (const auto& spec : option_table()) {
    EXPECT_NE(help.find("  " + spec.key + " = "), std::string::npos) << spec.key;
  }
  for (const auto& section : section_table()) {
    EXPECT_NE(help.find("\n[" + section.name + "]"), std::string::npos) << section.name;
  }
  EXPECT_NE(help.find("  algo.workers = 8"), std::string::npos);
  EXPECT_NE(help.find("integer, >= 1\n"), std::string::npos);
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 80u) << line;
}

TEST(OptionsText, MarkdownHasATableRowPerOption) {
  const std::string md = options_markdown();
  EXPECT_EQ(md.rfind("# Configuration\n", 0), 0u);
  EXPECT_NE(md.find("| `algo.workers` | integer | `8` | >= 1 | Number of workers K. |\n"),
            std::string::npos);
  EXPECT_NE(md.find("| `optim.momentum` | number | `0.9` | [0, 1) |"), std::string::npos);
  for (const auto& spec : option_table()) {
    EXPECT_NE(md.find("| `" + spec.key + "` |"), std::string::npos) << spec.key;
  }
}

// docs/configuration.md is generated; this keeps the checked-in copy in sync.
TEST(OptionsText, DocsConfigurationMdIsUpToDate) {
  if (!HERD_WITH_TORCH)
    GTEST_SKIP() << "docs/configuration.md documents the torch models: built without them "
                    "(HERD_WITH_TORCH=OFF)";
  const fs::path doc = fs::path(HERD_SOURCE_DIR) / "docs" / "configuration.md";
  const std::string expected = options_markdown();
  if (const char* update = std::getenv("HERD_UPDATE_DOCS"); update && *update) {
    std::ofstream(doc, std::ios::binary) << expected;
  }
  std::ifstream in(doc, std::ios::binary);
  std::ostringstream actual;
  actual << in.rdbuf();
  EXPECT_TRUE(actual.str() == expected)
      << doc << " is out of date with src/herd/run/options.cpp. Regenerate it with\n"
      << "  HERD_UPDATE_DOCS=1 <build>/tests/run/test_config "
         "--gtest_filter=OptionsText.DocsConfigurationMdIsUpToDate\n"
      << "(or `herd config --markdown > docs/configuration.md`).";
}

}  // namespace
}  // namespace herd::run
