#include <gmock/gmock.h>

#include <type_traits>
#include <utility>
#include <vector>

#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::error_of;

template <class Named>
std::vector<std::string> names_of(const Named& named) {
  std::vector<std::string> out;
  for (const auto& e : named) out.push_back(e.first);
  return out;
}

// Copying is deleted (a copy would share or silently duplicate Parameters);
// moving is cheap and cannot throw.
static_assert(!std::is_copy_constructible_v<Linear<float>> && !std::is_copy_assignable_v<Linear<float>>);
static_assert(!std::is_copy_constructible_v<Sequential<double>> && !std::is_copy_constructible_v<Net<double>>);
static_assert(std::is_nothrow_move_constructible_v<Linear<float>> &&
              std::is_nothrow_move_constructible_v<Sequential<float>> && std::is_nothrow_move_assignable_v<Sequential<float>>);
static_assert(std::is_move_constructible_v<Net<float>>);  // reference members: move construction only

TEST(Module, NamesAreHierarchicalInRegistrationOrder) {
  Generator g(1);
  Net<double> net(g);
  EXPECT_THAT(names_of(net.named_parameters()),
              ElementsAre("fc1.weight", "fc1.bias", "features.0.weight", "features.0.bias"));
  EXPECT_THAT(names_of(net.named_parameters(/*recurse=*/false)), ElementsAre());
  EXPECT_THAT(names_of(net.named_buffers()), ElementsAre("steps"));
  EXPECT_THAT(names_of(net.named_children()), ElementsAre("fc1", "features"));
  EXPECT_THAT(names_of(net.named_modules()), ElementsAre("", "fc1", "features", "features.0", "features.1"));
  EXPECT_EQ(net.named_modules()[3].second, &net.features[0]);
  // Each Parameter's own name is its full name (optimizer messages and checkpoints use it).
  for (auto& [name, p] : net.named_parameters()) EXPECT_EQ(p->name, name);
  // parameters() and the const forms list the same objects.
  const Net<double>& cnet = net;
  ASSERT_EQ(net.parameters().size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(net.parameters()[k], cnet.parameters()[k]);
    EXPECT_EQ(net.parameters()[k], cnet.named_parameters()[k].second);
  }
  EXPECT_EQ(cnet.named_buffers()[0].second, &net.steps);
  EXPECT_EQ(net.buffers()[0], &net.steps);
  EXPECT_EQ(net.children()[0], &net.fc1);
}

TEST(Module, NestingRenamesParametersFromTheOutermostModule) {
  Generator g(2);
  Sequential<float> inner{Linear<float>(2, 2, g)};
  EXPECT_EQ(inner[0].parameters()[0]->name, "0.weight");
  Sequential<float> outer;
  Sequential<float>& in = outer.push_back(std::move(inner));
  outer.push_back(Sequential<float>{ReLU<float>(), Linear<float>(2, 1, g, /*bias=*/false)});
  EXPECT_THAT(names_of(outer.named_parameters()), ElementsAre("0.0.weight", "0.0.bias", "1.1.weight"));
  EXPECT_EQ(in.parameters()[0]->name, "0.0.weight");
  EXPECT_THAT(names_of(in.named_parameters()), ElementsAre("0.weight", "0.bias"));  // relative to `in`
}

// A module registering what the tests below try.
struct Registrar : nn::Module<float> {
  Registrar() : Module<float>("Registrar") {}
  Var<float> forward(const Var<float>& x) override { return x; }
  using Module<float>::register_buffer;
  using Module<float>::register_module;
  using Module<float>::register_parameter;
};

TEST(Module, RegistrationErrorsNameTheModuleAndTheName) {
  Registrar r;
  r.register_parameter("w", Tensor<float>{1.0f});
  EXPECT_EQ(error_of([&] { r.register_parameter("", Tensor<float>{1.0f}); }),
            "Registrar: a parameter needs a non-empty name");
  EXPECT_EQ(error_of([&] { r.register_buffer("a.b", Tensor<float>{1.0f}); }),
            "Registrar: buffer name 'a.b' contains '.', which separates hierarchical names");
  EXPECT_EQ(error_of([&] { r.register_parameter("w", Tensor<float>{1.0f}); }),
            "Registrar: 'w' is already registered (as a parameter)");
  EXPECT_EQ(error_of([&] { r.register_module("w", ReLU<float>()); }),
            "Registrar: 'w' is already registered (as a parameter)");
  r.register_module("act", ReLU<float>());
  EXPECT_EQ(error_of([&] { r.register_buffer("act", Tensor<float>{1.0f}); }),
            "Registrar: 'act' is already registered (as a child module)");
  EXPECT_EQ(error_of([&] { r.register_parameter("tab\there", Tensor<float>{1.0f}); }),
            "Registrar: parameter name 'tab\there' has a byte outside printable ASCII");
  EXPECT_EQ(error_of([&] { r.register_module("none", std::unique_ptr<ReLU<float>>()); }),
            "Registrar: child module 'none' is a null pointer");
  EXPECT_THAT(names_of(r.named_parameters()), ElementsAre("w"));  // nothing half-registered
  EXPECT_EQ(r.children().size(), 1u);
}

TEST(Module, TrainAndEvalReachEveryDescendant) {
  Generator g(3);
  Net<float> net(g);
  for (auto& [name, m] : net.named_modules()) EXPECT_TRUE(m->is_training()) << name;
  net.eval();
  for (auto& [name, m] : net.named_modules()) EXPECT_FALSE(m->is_training()) << name;
  net.features.train();
  EXPECT_FALSE(net.is_training());
  EXPECT_TRUE(net.features[1].is_training());
  net.train(true);
  for (auto& [name, m] : net.named_modules()) EXPECT_TRUE(m->is_training()) << name;
}

TEST(Module, BackwardFillsGradsAndZeroGradClearsThemKeepingTheBuffers) {
  Generator g(4);
  Net<double> net(g);
  Tape<double> t;
  t.backward(sum(net(t.constant(testing::random_tensor({5, 3}, 7)))));
  std::vector<const double*> buffers;
  for (Parameter<double>* p : net.parameters()) {
    EXPECT_GT(xt::amax(xt::abs(p->grad))(), 0.0) << p->name;
    buffers.push_back(p->grad.data());
  }
  net.zero_grad();
  for (std::size_t k = 0; k < buffers.size(); ++k) {
    EXPECT_EQ(xt::amax(xt::abs(net.parameters()[k]->grad))(), 0.0);
    EXPECT_EQ(net.parameters()[k]->grad.data(), buffers[k]);
  }
}

TEST(Module, AnOptimizerSurvivesMovesIntoAGrowingVector) {
  Generator g(5);
  std::vector<Sequential<double>> models;
  std::vector<Net<double>> nets;
  Sequential<double> first{Linear<double>(3, 4, g), Tanh<double>(), Linear<double>(4, 2, g)};
  Net<double> net(g);
  const std::vector<Parameter<double>*> params = first.parameters();
  SGDOptions o;
  o.lr = 0.5;
  SGD<double> opt(first.parameters(), o);
  SGD<double> net_opt(net.parameters(), o);
  Linear<double>& layer = first.at<Linear<double>>(0);
  models.push_back(std::move(first));
  nets.push_back(std::move(net));
  std::size_t reallocations = 0;
  for (int k = 0; k < 40; ++k) {
    const std::size_t capacity = models.capacity();
    models.emplace_back(Linear<double>(3, 2, g));
    nets.emplace_back(g);
    reallocations += models.capacity() != capacity;
  }
  ASSERT_GE(reallocations, 3u);
  EXPECT_EQ(&models[0].at<Linear<double>>(0), &layer);  // the layer never moved
  EXPECT_EQ(models[0].parameters(), params);

  const Tensor<double> x = testing::random_tensor({6, 3}, 8);
  const Tensor<double> w0 = models[0][0].parameters()[0]->value, n0 = nets[0].fc1.weight().value;
  Tape<double> t;
  t.backward(sum(models[0](t.constant(x))));
  t.backward(sum(nets[0](t.constant(x))));
  const Tensor<double> grad = models[0][0].parameters()[0]->grad, ngrad = nets[0].fc1.weight().grad;
  opt.step();
  net_opt.step();
  EXPECT_TRUE(testing::all_close(models[0][0].parameters()[0]->value, Tensor<double>(w0 - 0.5 * grad)));
  EXPECT_TRUE(testing::all_close(nets[0].fc1.weight().value, Tensor<double>(n0 - 0.5 * ngrad)));
  EXPECT_GT(xt::amax(xt::abs(grad))(), 0.0);
}

TEST(Module, MoveAssignmentTakesTheOtherModulesParameters) {
  Generator g(6);
  Linear<float> a(2, 3, g), b(2, 3, g);
  Parameter<float>* bw = &b.weight();
  a = std::move(b);
  EXPECT_EQ(&a.weight(), bw);
  EXPECT_EQ(a.parameters()[0], bw);
}

TEST(Module, ToStringShowsTheTreeAsPyTorchPrintsIt) {
  Generator g(7);
  Net<float> net(g);
  EXPECT_EQ(net.to_string(),
            "Net(\n"
            "  (fc1): Linear(in=3, out=4, bias=true)\n"
            "  (features): Sequential(\n"
            "    (0): Linear(in=4, out=2, bias=true)\n"
            "    (1): Tanh\n"
            "  )\n"
            ")");
  EXPECT_EQ(Linear<float>(1, 2, g, false).to_string(), "Linear(in=1, out=2, bias=false)");
}

}  // namespace
}  // namespace tapegrad::nn_test
