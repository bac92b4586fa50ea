#include <gmock/gmock.h>

#include <cmath>
#include <limits>

#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using testing::all_close;
using testing::error_of;

const Tensor<double> kX{{-2.0, -0.5, 0.0}, {0.5, 1.0, 3.0}};

TEST(ActivationModules, ForwardIsTheOpOfTheSameName) {
  Tape<double> t;
  const Var<double> x = t.constant(kX);
  ReLU<double> r;
  Tanh<double> th;
  Sigmoid<double> sg;
  LeakyReLU<double> lr(0.25);
  EXPECT_TRUE(all_close(r(x).value(), Tensor<double>{{0, 0, 0}, {0.5, 1, 3}}, 0, 0));
  EXPECT_TRUE(all_close(lr(x).value(), Tensor<double>{{-0.5, -0.125, 0}, {0.5, 1, 3}}, 0, 0));
  EXPECT_TRUE(all_close(th(x).value(), Tensor<double>(xt::tanh(kX)), 0, 0));
  EXPECT_TRUE(all_close(sg(x).value(), tapegrad::sigmoid(x).value(), 0, 0));
  EXPECT_NEAR(sg(x).value()(1, 2), 1 / (1 + std::exp(-3.0)), 1e-15);
  EXPECT_STREQ(t.record(r(x).id()).op, "relu");
  EXPECT_STREQ(t.record(lr(x).id()).op, "leaky_relu");
  EXPECT_STREQ(t.record(th(x).id()).op, "tanh");
  EXPECT_STREQ(t.record(sg(x).id()).op, "sigmoid");
}

TEST(ActivationModules, FloatForwardAndTheDefaultLeakySlope) {
  Tape<float> t;
  const Var<float> x = t.constant(Tensor<float>{-100.0f, 2.0f});
  LeakyReLU<float> lr;
  EXPECT_DOUBLE_EQ(lr.negative_slope(), 0.01);
  EXPECT_TRUE(all_close(lr(x).value(), Tensor<float>{-1.0f, 2.0f}, 0, 0));
  EXPECT_TRUE(all_close(ReLU<float>()(x).value(), Tensor<float>{0.0f, 2.0f}, 0, 0));
}

TEST(ActivationModules, SubgradientsAtZeroAreTheOpsConventions) {
  Parameter<double> p(Tensor<double>{0.0, 0.0});
  Tape<double> t;
  ReLU<double> r;
  LeakyReLU<double> lr(0.3);
  t.backward(concat<double>({r(t.watch(p)), lr(t.watch(p))}, 0), Tensor<double>{1, 1, 1, 1});
  // relu'(0) = 0, leaky_relu'(0) = slope: both inputs are p, so its grad is 0.3 per element
  EXPECT_TRUE(all_close(p.grad, Tensor<double>{0.3, 0.3}, 0, 1e-15));
}

TEST(ActivationModules, GradcheckInDouble) {
  std::vector<std::unique_ptr<Module<double>>> layers;
  layers.push_back(std::make_unique<Tanh<double>>());
  layers.push_back(std::make_unique<Sigmoid<double>>());
  layers.push_back(std::make_unique<LeakyReLU<double>>(0.2));
  layers.push_back(std::make_unique<ReLU<double>>());
  const Tensor<double> x = testing::random_away_from_zero({4, 3}, 3);
  for (auto& m : layers) {
    auto f = [&](Tape<double>&, const std::vector<Var<double>>& v) { return testing::weighted_sum((*m)(v[0]), 4); };
    EXPECT_TRUE(testing::gradcheck_passes(f, {x})) << m->kind();
  }
}

TEST(ActivationModules, HoldNoStateAndPrintTheirSettings) {
  ReLU<float> r;
  LeakyReLU<float> lr(0.5);
  EXPECT_TRUE(r.parameters().empty());
  EXPECT_TRUE(lr.parameters().empty() && lr.buffers().empty() && lr.children().empty());
  EXPECT_EQ(r.to_string(), "ReLU");
  EXPECT_EQ(lr.to_string(), "LeakyReLU(negative_slope=0.5)");
  EXPECT_EQ(Tanh<float>().to_string(), "Tanh");
  EXPECT_EQ(Sigmoid<float>().kind(), "Sigmoid");
}

TEST(ActivationModules, ANonFiniteSlopeIsRefusedAtConstruction) {
  EXPECT_EQ(error_of([] { LeakyReLU<float>(std::numeric_limits<double>::quiet_NaN()); }),
            "LeakyReLU: negative_slope must be finite, got nan");
  EXPECT_EQ(error_of([] { LeakyReLU<double>(std::numeric_limits<double>::infinity()); }),
            "LeakyReLU: negative_slope must be finite, got inf");
  Tape<float> t;
  EXPECT_EQ(error_of([&] { ReLU<float>()(Var<float>()); }), "relu: Var is empty (default-constructed, never recorded)");
}

}  // namespace
}  // namespace tapegrad::nn_test
