// The models' registry and typed settings, from a program that names no model: every model is
// linked and registered, its options' defaults and rules apply, and it builds its problem.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "herd/core/error.hpp"
#include "herd/model/init.hpp"
#include "herd/model/registry.hpp"
#include "test_data.hpp"

namespace herd::model {
namespace {

TEST(ModelRegistry, EveryModelIsLinkedAndListedInTheDocumentedOrder) {
  EXPECT_EQ(model_names(), (std::vector<std::string>{"logistic", "least_squares", "softmax", "mlp",
                                                     "quadratic", "double_well"}));
  std::set<std::string> keys;
  for (const OptionSpec* spec : model_options()) {
    EXPECT_TRUE(keys.insert(spec->key).second) << spec->key;
    EXPECT_EQ(spec->section(), "model") << spec->key;
  }
  EXPECT_EQ(models_reading("model.noise"), (std::vector<std::string>{"quadratic", "double_well"}));
  EXPECT_TRUE(find_model("mlp")->needs_data);
  EXPECT_FALSE(find_model("quadratic")->needs_data);
  EXPECT_THROW(model_or_throw("svm"), InvalidInput);
}

TEST(ModelRegistry, DataFreeModelsBuildFromTheirOptions) {
  const ModelContext context{.workers = 4, .batch = 2, .seed = 3};
  const BuiltModel q = model_or_throw("quadratic").build({{"model.dim", std::int64_t{5}}}, context);
  ASSERT_TRUE(q.problem);
  EXPECT_EQ(q.problem->dim(), 5u);
  EXPECT_EQ(q.problem->workers(), 4);
  EXPECT_EQ(q.description, "quadratic, d = 5, K = 4, mu = 1, L = 10");  // the defaults
  std::vector<float> x0(5, 1.0f);
  q.problem->initial_point(x0);
  EXPECT_EQ(x0, std::vector<float>(5, 0.0f));  // model.init = zeros
  // model.init and model.init_scale, as the linear models read them.
  EXPECT_EQ(models_reading("model.init"),
            (std::vector<std::string>{"logistic", "least_squares", "softmax", "quadratic"}));
  const BuiltModel n = model_or_throw("quadratic")
                           .build({{"model.dim", std::int64_t{5}},
                                   {"model.init", std::string("normal")},
                                   {"model.init_scale", 0.5}},
                                  context);
  n.problem->initial_point(x0);
  const std::vector<double> drawn = draw_initial_point({InitSpec::Kind::normal, 0.5}, 5, 3);
  for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(x0[j], float(drawn[j]));
  EXPECT_EQ(n.description, "quadratic, d = 5, K = 4, mu = 1, L = 10, x_0 ~ N(0, 0.5^2 I)");
  EXPECT_THROW(model_or_throw("quadratic").check({{"model.init", std::string("ones")}}, context),
               InvalidInput);
  const BuiltModel well =
      model_or_throw("double_well").build({{"model.mirror_starts", true}}, context);
  ASSERT_TRUE(well.worker_start);
  std::vector<float> x(well.problem->dim());
  well.worker_start(1, x);
  EXPECT_EQ(x[0], -0.5f);
}

TEST(ModelRegistry, SettingsRulesRefuseWithoutBuilding) {
  const ModelContext odd{.workers = 3};
  EXPECT_THROW(model_or_throw("double_well").check({{"model.mirror_starts", true}}, odd),
               InvalidInput);
  EXPECT_THROW(model_or_throw("quadratic").check({{"model.smoothness", 0.5}}, odd), InvalidInput);
  EXPECT_THROW(model_or_throw("mlp").check({{"model.hidden", std::string("32,x")}}, odd),
               InvalidInput);
  EXPECT_THROW(model_or_throw("quadratic").check({{"model.dim", std::int64_t{0}}}, odd),
               InvalidInput);
  EXPECT_NO_THROW(model_or_throw("mlp").check({{"model.hidden", std::string("")}}, odd));
}

TEST(ModelRegistry, DataModelsTrainOnTheGivenShards) {
  auto train = std::make_shared<data::Dataset>(testing::dense_random(40, 3, 7));
  testing::set_classes(*train, 3, 8);
  ModelData data;
  data.train = train;
  data.shards = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 11, 12, 13, 14, 15, 16, 17, 18, 19}};
  const ModelContext context{.workers = 2, .batch = 2, .seed = 1, .data = &data};
  const BuiltModel softmax = model_or_throw("softmax").build({}, context);
  EXPECT_EQ(softmax.problem->workers(), 2);
  EXPECT_EQ(softmax.problem->dim(), 3u * 3u);  // no bias term: d x C
  const BuiltModel mlp = model_or_throw("mlp").build({{"model.hidden", std::string("4")}}, context);
  EXPECT_EQ(mlp.problem->workers(), 2);
}

}  // namespace
}  // namespace herd::model
