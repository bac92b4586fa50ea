#include <gmock/gmock.h>

#include <memory>

#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/flatten.hpp>
#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using ::testing::ElementsAre;
using testing::all_close;
using testing::error_of;

std::vector<std::string> parameter_names(Module<double>& m) {
  std::vector<std::string> out;
  for (auto& [name, p] : m.named_parameters()) out.push_back(name);
  return out;
}

TEST(Sequential, NamesLayersByPosition) {
  Generator g(0);
  Sequential<double> s{Linear<double>(3, 4, g), ReLU<double>(), Linear<double>(4, 2, g, false)};
  EXPECT_EQ(s.size(), 3u);
  EXPECT_THAT(parameter_names(s), ElementsAre("0.weight", "0.bias", "2.weight"));
  std::vector<std::string> children;
  for (auto& [name, c] : s.named_children()) children.push_back(name + ":" + c->kind());
  EXPECT_THAT(children, ElementsAre("0:Linear", "1:ReLU", "2:Linear"));
}

TEST(Sequential, ForwardComposesTheLayersInOrder) {
  Generator g(1);
  Sequential<double> s{Linear<double>(3, 4, g), Tanh<double>(), Linear<double>(4, 2, g)};
  const Tensor<double> x = testing::random_tensor({5, 3}, 2);
  Tape<double> t;
  const Var<double> y = s(t.constant(x));
  const Var<double> by_hand = s[2](tapegrad::tanh(s[0](t.constant(x))));
  EXPECT_TRUE(all_close(y.value(), by_hand.value(), 0, 0));
  Sequential<double> empty;  // the identity, as PyTorch's nn.Sequential()
  EXPECT_TRUE(empty.empty());
  const Var<double> x_var = t.constant(x);
  EXPECT_EQ(empty(x_var).id(), x_var.id());
}

TEST(Sequential, PushBackAnyModuleTypeAndIndex) {
  Generator g(3);
  Sequential<float> s;
  Linear<float>& first = s.push_back(Linear<float>(2, 3, g));
  s.push_back(LeakyReLU<float>(0.2));
  s.push_back(std::make_unique<Sigmoid<float>>());
  s.push_back(Sequential<float>{Flatten<float>(), Dropout<float>(0.5, 9)});
  EXPECT_EQ(&s.at<Linear<float>>(0), &first);
  EXPECT_EQ(&s[0], &first);
  EXPECT_DOUBLE_EQ(s.at<LeakyReLU<float>>(1).negative_slope(), 0.2);
  EXPECT_EQ(s.at<Sequential<float>>(3).size(), 2u);
  EXPECT_EQ(error_of([&] { s.at<Linear<float>>(1); }), "Sequential: layer 1 is a LeakyReLU, not the type asked for");
  EXPECT_EQ(error_of([&] { s[4]; }), "Sequential: index 4 is out of range for 4 layers");
  EXPECT_EQ(error_of([&] { s.push_back(std::unique_ptr<Module<float>>()); }),
            "Sequential: push_back of a null layer (at position 4)");
  EXPECT_EQ(s.size(), 4u);
  const Sequential<float>& cs = s;
  EXPECT_EQ(&cs[2], &s[2]);
}

TEST(Sequential, BracedConstructionDrawsLayersLeftToRight) {
  // Braces fix the order in which the layers draw from one generator, so the
  // same seed gives the same model as pushing the layers one by one.
  Generator g1(11), g2(11);
  Sequential<float> braced{Linear<float>(3, 3, g1), Linear<float>(3, 3, g1)};
  Sequential<float> pushed;
  pushed.push_back(Linear<float>(3, 3, g2));
  pushed.push_back(Linear<float>(3, 3, g2));
  const auto a = braced.parameters(), b = pushed.parameters();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(same_bits(a[k]->value, b[k]->value)) << a[k]->name;
}

TEST(Sequential, NestedNamesAndAMovedSequentialKeepsItsLayers) {
  Generator g(4);
  Sequential<double> inner{Linear<double>(2, 2, g)};
  Linear<double>* layer = &inner.at<Linear<double>>(0);
  Sequential<double> outer{std::move(inner), ReLU<double>(), Sequential<double>{Linear<double>(2, 1, g)}};
  EXPECT_THAT(parameter_names(outer), ElementsAre("0.0.weight", "0.0.bias", "2.0.weight", "2.0.bias"));
  EXPECT_EQ(&outer.at<Sequential<double>>(0).at<Linear<double>>(0), layer);
  Sequential<double> moved = std::move(outer);
  EXPECT_EQ(&moved.at<Sequential<double>>(0).at<Linear<double>>(0), layer);
  EXPECT_EQ(layer->weight().name, "0.0.weight");
}

TEST(Sequential, GradcheckThroughASmallNetworkInDouble) {
  Generator g(5);
  Sequential<double> s{Linear<double>(4, 5, g), Tanh<double>(),      Linear<double>(5, 4, g),
                       LeakyReLU<double>(0.1), Linear<double>(4, 3, g), Sigmoid<double>()};
  const Tensor<double> x = testing::random_tensor({6, 4}, 6);
  auto f = [&](Tape<double>&, const std::vector<Var<double>>& v) { return testing::weighted_sum(s(v[0]), 7); };
  EXPECT_TRUE(testing::gradcheck_passes(f, {x}));
  EXPECT_EQ(parameter_gradcheck(s, x), "");
}

TEST(Sequential, TrainsWithALossAndAnOptimizer) {
  // A few SGD steps on softmax cross-entropy lower the loss (the layers' grads
  // come from the tape; nothing in nn/ computes one).
  Generator g(6);
  Sequential<double> s{Linear<double>(4, 8, g), ReLU<double>(), Linear<double>(8, 3, g)};
  const Tensor<double> x = testing::random_tensor({30, 4}, 7);
  const IndexTensor y = testing::random_labels(30, 3, 8);
  SGDOptions o;
  o.lr = 0.5;
  SGD<double> opt(s.parameters(), o);
  Tape<double> t;
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    t.clear();
    opt.zero_grad();
    const Var<double> loss = softmax_cross_entropy(s(t.borrow(x)), y);
    t.backward(loss);
    opt.step();
    (step == 0 ? first : last) = loss.value()();
  }
  EXPECT_LT(last, 0.8 * first);
}

}  // namespace
}  // namespace tapegrad::nn_test
