// The optimizer base: parameter list checks, zero_grad, state snapshots for
// checkpoints, and buffers that stay put across steps (no allocation per step).
#include <gmock/gmock.h>

#include <limits>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::all_close;

TEST(Optimizer, ZeroGradClearsEveryParameter) {
  Parameter<double> a(Tensor<double>{1, 2}, "a"), b(Tensor<double>{{3, 4}, {5, 6}}, "b");
  a.grad = Tensor<double>{5, 6};
  b.grad = Tensor<double>{{7, 8}, {9, 1}};
  SGD<double> opt({&a, &b}, SGDOptions{});
  opt.zero_grad();
  EXPECT_TRUE(all_close(a.grad, Tensor<double>{0, 0}));
  EXPECT_TRUE(all_close(b.grad, Tensor<double>{{0, 0}, {0, 0}}));
}

TEST(Optimizer, ParameterListErrorsNameTheOptimizer) {
  Parameter<double> a(Tensor<double>{1, 2}, "a");
  EXPECT_THAT([] { SGD<double>({}, SGDOptions{}); }, ThrowsMessage<Error>(HasSubstr("SGD: got an empty parameter list")));
  EXPECT_THAT([&] { Adam<double>({&a, nullptr}, AdamOptions{}); },
              ThrowsMessage<Error>(HasSubstr("Adam: parameter 1 is a null pointer")));
  EXPECT_THAT([&] { AdamW<double>({&a, &a}); },
              ThrowsMessage<Error>(HasSubstr("AdamW: parameter 1 ('a') is the same as parameter 0")));
}

TEST(Optimizer, StepRejectsMismatchedShapes) {
  Parameter<double> a(Tensor<double>{1, 2}, "a");
  SGDOptions o;
  o.momentum = 0.9;
  SGD<double> opt({&a}, o);
  a.grad = Tensor<double>{1, 2, 3};
  EXPECT_THAT([&] { opt.step(); }, ThrowsMessage<Error>(HasSubstr("SGD: parameter 0 ('a') has value (2) but grad (3)")));
  a.value = Tensor<double>{1, 2, 3};  // resized after construction: buffers no longer fit
  EXPECT_THAT([&] { opt.step(); },
              ThrowsMessage<Error>(HasSubstr("SGD: parameter 0 ('a') changed shape to (3) after the optimizer was built")));
  EXPECT_EQ(opt.steps(), 0);
}

TEST(Optimizer, BuffersAreAllocatedOnceAndUpdatedInPlace) {
  Parameter<float> w(Tensor<float>::from_shape({64, 10}), "w");
  w.value.fill(0.5f);
  Adam<float> opt({&w}, AdamOptions{});
  const float* value = w.value.data();
  const float* m = opt.exp_avg(0).data();
  const float* v = opt.exp_avg_sq(0).data();
  for (int k = 0; k < 5; ++k) {
    w.grad.fill(0.1f * (k + 1));
    opt.step();
  }
  EXPECT_EQ(w.value.data(), value);
  EXPECT_EQ(opt.exp_avg(0).data(), m);
  EXPECT_EQ(opt.exp_avg_sq(0).data(), v);
  EXPECT_LT(w.value(0, 0), 0.5f);  // it did move
}

TEST(Optimizer, StateRoundTripResumesExactly) {
  const Tensor<double> grads[3] = {{0.3, -1.2}, {0.7, 0.1}, {-0.4, 2.0}};
  auto run = [&](Parameter<double>& p, Adam<double>& opt, int from, int to) {
    for (int k = from; k < to; ++k) {
      std::copy(grads[k].begin(), grads[k].end(), p.grad.begin());
      opt.step();
    }
  };
  Parameter<double> p(Tensor<double>{1, -1}, "w");
  Adam<double> opt({&p}, AdamOptions{});
  run(p, opt, 0, 2);
  const OptimizerState<double> saved = opt.state();
  const Tensor<double> saved_value = p.value;
  run(p, opt, 2, 3);

  ASSERT_EQ(saved.steps, 2);
  ASSERT_EQ(saved.tensors.size(), 2u);
  EXPECT_EQ(saved.tensors[0].name, "exp_avg.0");
  EXPECT_EQ(saved.tensors[1].name, "exp_avg_sq.0");

  Parameter<double> q(saved_value, "w");
  AdamOptions o;
  o.lr = 0.5;  // restored from the state
  Adam<double> resumed({&q}, o);
  resumed.load_state(saved);
  EXPECT_EQ(resumed.steps(), 2);
  EXPECT_EQ(resumed.lr(), 1e-3);
  run(q, resumed, 2, 3);
  EXPECT_TRUE(all_close(q.value, p.value, 0, 0));  // bit-identical third step

  SGD<double> plain({&q}, SGDOptions{});
  EXPECT_TRUE(plain.state().tensors.empty());  // no momentum, no state (as PyTorch)
}

TEST(Optimizer, LoadStateValidatesBeforeChangingAnything) {
  Parameter<double> p(Tensor<double>{1, -1}, "w");
  SGDOptions o;
  o.momentum = 0.9;
  SGD<double> opt({&p}, o);
  OptimizerState<double> s = opt.state();
  s.steps = 4;

  OptimizerState<double> wrong_shape = s;
  wrong_shape.tensors[0].value = Tensor<double>{1, 2, 3};
  EXPECT_THAT([&] { opt.load_state(wrong_shape); },
              ThrowsMessage<Error>(HasSubstr("SGD: load_state: 'momentum_buffer.0' has shape (3) but parameter 0 has (2)")));
  OptimizerState<double> missing = s;
  missing.tensors[0].name = "momentum.0";
  EXPECT_THAT([&] { opt.load_state(missing); },
              ThrowsMessage<Error>(HasSubstr("SGD: load_state: missing state tensor 'momentum_buffer.0'")));
  OptimizerState<double> extra = s;
  extra.tensors.push_back({"exp_avg.0", Tensor<double>{0, 0}});
  EXPECT_THAT([&] { opt.load_state(extra); }, ThrowsMessage<Error>(HasSubstr("got 2 state tensors, expected 1")));
  OptimizerState<double> negative = s;
  negative.steps = -1;
  EXPECT_THAT([&] { opt.load_state(negative); }, ThrowsMessage<Error>(HasSubstr("SGD: load_state: negative step count -1")));
  EXPECT_EQ(opt.steps(), 0);  // nothing applied

  s.tensors[0].value = Tensor<double>{0.25, -0.5};
  opt.load_state(s);
  EXPECT_EQ(opt.steps(), 4);
  EXPECT_TRUE(all_close(opt.momentum_buffer(0), Tensor<double>{0.25, -0.5}));
  // Past the first step, so b = 0.9·b + g: with g = [1, 1], b = [1.225, 0.55]
  p.grad = Tensor<double>{1, 1};
  opt.step();
  EXPECT_TRUE(all_close(opt.momentum_buffer(0), Tensor<double>{1.225, 0.55}));
  EXPECT_THAT([&] { opt.momentum_buffer(1); }, ThrowsMessage<Error>(HasSubstr("SGD: parameter index 1 out of range [0, 1)")));
}

TEST(Optimizer, LoadStateRejectsAnInvalidLearningRate) {
  Parameter<double> a(Tensor<double>{1, 2}, "a");
  SGD<double> opt({&a}, SGDOptions{});
  for (double lr : {-1.0, std::numeric_limits<double>::quiet_NaN()}) {
    OptimizerState<double> s = opt.state();
    s.lr = lr;
    EXPECT_THAT([&] { opt.load_state(s); },
                ThrowsMessage<Error>(::testing::StartsWith("SGD: load_state: invalid learning rate ")));
  }
  OptimizerState<double> s = opt.state();
  s.lr = -1;
  EXPECT_THAT([&] { opt.load_state(s); }, ThrowsMessage<Error>(::testing::StrEq("SGD: load_state: invalid learning rate -1")));
  EXPECT_EQ(opt.lr(), 0.01);  // unchanged
}

}  // namespace
}  // namespace tapegrad
