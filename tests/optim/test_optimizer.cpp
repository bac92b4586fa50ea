// The optimizer base: parameter list checks, zero_grad, state snapshots for
// checkpoints, and buffers that stay put across steps (no allocation per step).
// Parameter groups: the structure, each group's lr, and what a group may set;
// the groups' trajectories are in test_sgd.cpp and test_adam.cpp.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>

#include "support/support.hpp"

#include "support/alloc_counter.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using ::testing::StrEq;
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
  EXPECT_THAT([] { SGD<double>(std::vector<Parameter<double>*>{}, SGDOptions{}); },
              ThrowsMessage<Error>(HasSubstr("SGD: got an empty parameter list")));
  EXPECT_THAT([] { SGD<double>(std::vector<ParamGroup<double>>{}, SGDOptions{}); },
              ThrowsMessage<Error>(HasSubstr("SGD: got an empty parameter list")));
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
  EXPECT_EQ(saved.group_sizes, std::vector<std::size_t>{1});
  EXPECT_EQ(saved.lr, std::vector<double>{1e-3});
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
    s.lr = {lr};
    EXPECT_THAT([&] { opt.load_state(s); },
                ThrowsMessage<Error>(::testing::StartsWith("SGD: load_state: invalid learning rate ")));
  }
  OptimizerState<double> s = opt.state();
  s.lr = {-1};
  EXPECT_THAT([&] { opt.load_state(s); }, ThrowsMessage<Error>(::testing::StrEq("SGD: load_state: invalid learning rate -1")));
  EXPECT_EQ(opt.lr(), 0.01);  // unchanged
}

// Biases without decay in one line; group options fall back to the defaults.
TEST(ParamGroups, GroupsFlattenInOrderAndFallBackToTheDefaults) {
  Parameter<double> w1(Tensor<double>{1, 2}, "W1"), w2(Tensor<double>{3}, "W2"), b1(Tensor<double>{4}, "b1");
  AdamOptions defaults;
  defaults.lr = 0.01;
  defaults.weight_decay = 0.1;
  AdamW<double> opt({{&w1, &w2}, {{&b1}, GroupOptions().weight_decay(0).lr(0.5).betas(0.8, 0.9)}}, defaults);
  ASSERT_EQ(opt.num_groups(), 2u);
  EXPECT_EQ(opt.params(), (std::vector<Parameter<double>*>{&w1, &w2, &b1}));
  EXPECT_EQ(opt.group_params(1), std::vector<Parameter<double>*>{&b1});
  EXPECT_EQ(opt.group_begin(1), 2u);
  EXPECT_EQ(opt.group_size(0), 2u);
  EXPECT_EQ(opt.lr(0), 0.01);
  EXPECT_EQ(opt.lr(1), 0.5);
  EXPECT_EQ(opt.group_options(0).weight_decay, 0.1);
  EXPECT_EQ(opt.group_options(0).beta1, 0.9);  // AdamOptions' default
  EXPECT_EQ(opt.group_options(1).weight_decay, 0.0);
  EXPECT_EQ(opt.group_options(1).beta1, 0.8);
  EXPECT_EQ(opt.group_options(1).beta2, 0.9);
  EXPECT_EQ(opt.group_options(1).eps, 1e-8);
  EXPECT_EQ(opt.group_options(1).lr, 0.5);
  EXPECT_EQ(opt.options().weight_decay, 0.1);  // the defaults as given
  // Groups from vectors, as a model's parameter lists come.
  const std::vector<Parameter<double>*> weights = {&w1, &w2}, biases = {&b1};
  SGD<double> sgd({{weights}, {biases, GroupOptions().momentum(0.9)}}, SGDOptions{});
  EXPECT_EQ(sgd.group_options(0).momentum, 0.0);
  EXPECT_EQ(sgd.group_options(1).momentum, 0.9);
  EXPECT_EQ(sgd.state().tensors.size(), 1u);  // only b1's group keeps momentum
  EXPECT_EQ(sgd.state().tensors[0].name, "momentum_buffer.2");
  EXPECT_THAT([&] { sgd.momentum_buffer(0); },
              ThrowsMessage<Error>(StrEq("SGD: parameter 0 ('W1') has no momentum_buffer (its group 0 keeps none)")));
  EXPECT_THAT([&] { sgd.group_options(2); }, ThrowsMessage<Error>(StrEq("SGD: group 2 out of range [0, 2)")));
  // An empty group is allowed (a model without biases), an all-empty list is not.
  SGD<double> with_empty({{&w1}, {std::vector<Parameter<double>*>{}, GroupOptions().lr(1)}}, SGDOptions{});
  EXPECT_EQ(with_empty.group_size(1), 0u);
}

TEST(ParamGroups, AParameterInTwoGroupsAndOptionsAnOptimizerLacksAreErrors) {
  Parameter<double> a(Tensor<double>{1, 2}, "a"), b(Tensor<double>{3}, "b"), c(Tensor<double>{4}, "c");
  EXPECT_THAT([&] { AdamW<double>({{&a, &b}, {&c, &b}}); },
              ThrowsMessage<Error>(StrEq("AdamW: parameter 'b' is in group 0 (parameter 1) and in group 1 "
                                         "(parameter 1): it would be updated twice per step")));
  EXPECT_THAT([&] { SGD<double>({{&a}, {&b, &c, &b}}, SGDOptions{}); },
              ThrowsMessage<Error>(StrEq("SGD: parameter 'b' is twice in group 1 (parameters 0 and 2): it would be "
                                         "updated twice per step")));
  EXPECT_THAT([&] { Adam<double>({{&a}, {&b, nullptr}}, AdamOptions{}); },
              ThrowsMessage<Error>(StrEq("Adam: group 1's parameter 1 is a null pointer")));
  EXPECT_THAT([&] { SGD<double>({{&a}, {{&b}, GroupOptions().betas(0.9, 0.99)}}, SGDOptions{}); },
              ThrowsMessage<Error>(StrEq("SGD: group 1 sets betas, which SGD does not have (it has lr, momentum, "
                                         "dampening, weight_decay, nesterov)")));
  EXPECT_THAT([&] { Adam<double>({{{&a}, GroupOptions().momentum(0.9)}}, AdamOptions{}); },
              ThrowsMessage<Error>(StrEq("Adam: group 0 sets momentum, which Adam does not have (it has lr, betas, "
                                         "eps, weight_decay)")));
  EXPECT_THAT([&] { AdamW<double>({{{&a}, GroupOptions().nesterov(true)}}); },
              ThrowsMessage<Error>(HasSubstr("AdamW: group 0 sets nesterov, which AdamW does not have")));
  // A group's invalid value names its group (one group: as before, no group).
  EXPECT_THAT([&] { SGD<double>({{&a}, {{&b}, GroupOptions().lr(-1)}}, SGDOptions{}); },
              ThrowsMessage<Error>(StrEq("SGD: group 1: invalid learning rate -1 (must be finite and >= 0)")));
  EXPECT_THAT([&] { SGD<double>({{&a}, {{&b}, GroupOptions().nesterov(true)}}, SGDOptions{}); },
              ThrowsMessage<Error>(StrEq("SGD: group 1: Nesterov momentum requires momentum > 0 and dampening = 0 "
                                         "(got momentum 0, dampening 0)")));
  EXPECT_THAT([&] { AdamW<double>({{&a}, {{&b}, GroupOptions().betas(0.9, 1.0)}}); },
              ThrowsMessage<Error>(StrEq("AdamW: group 1: invalid beta2 1 (must be in [0, 1))")));
  EXPECT_THAT([&] { Adam<double>({{{&a}, GroupOptions().eps(-1)}}, AdamOptions{}); },
              ThrowsMessage<Error>(StrEq("Adam: invalid eps -1 (must be finite and >= 0)")));
  EXPECT_THAT([&] { SGD<double>({{&a}, {{&b}, GroupOptions().weight_decay(NAN)}}, SGDOptions{}); },
              ThrowsMessage<Error>(StrEq("SGD: group 1: invalid weight_decay nan (must be finite and >= 0)")));
}

TEST(ParamGroups, EachGroupHasItsLrAndOneRateForAllIsRefused) {
  Parameter<double> a(Tensor<double>{1}, "a"), b(Tensor<double>{1}, "b");
  SGD<double> opt({{&a}, {{&b}, GroupOptions().lr(0.5)}}, SGDOptions{});
  EXPECT_THAT([&] { opt.lr(); }, ThrowsMessage<Error>(StrEq("SGD: lr() needs a group: this optimizer has 2 parameter "
                                                            "groups (use lr(group))")));
  EXPECT_THAT([&] { opt.set_lr(0.1); },
              ThrowsMessage<Error>(StrEq("SGD: set_lr(lr) needs a group: this optimizer has 2 parameter groups (use "
                                         "set_lr(group, lr) or apply_schedule)")));
  EXPECT_THAT([&] { opt.set_lr(1, -2); },
              ThrowsMessage<Error>(StrEq("SGD: group 1: invalid learning rate -2 (must be finite and >= 0)")));
  EXPECT_THAT([&] { opt.set_lr(2, 0.1); }, ThrowsMessage<Error>(StrEq("SGD: group 2 out of range [0, 2)")));
  opt.set_lr(1, 0.25);
  EXPECT_EQ(opt.lr(0), 0.01);
  EXPECT_EQ(opt.lr(1), 0.25);
  EXPECT_EQ(opt.initial_lr(1), 0.5);  // what schedules scale
  a.grad(0) = 1;
  b.grad(0) = 1;
  opt.step();
  EXPECT_DOUBLE_EQ(a.value(0), 0.99);  // 1 − 0.01·1
  EXPECT_DOUBLE_EQ(b.value(0), 0.75);  // 1 − 0.25·1
}

TEST(ParamGroups, StateHoldsEveryGroupAndLoadChecksTheStructure) {
  Parameter<double> a(Tensor<double>{1, 2}, "a"), b(Tensor<double>{3}, "b"), c(Tensor<double>{4}, "c");
  Adam<double> opt({{&a, &b}, {{&c}, GroupOptions().lr(0.5)}}, AdamOptions{});
  for (Parameter<double>* p : {&a, &b, &c}) p->grad.fill(0.5);
  opt.step();
  opt.set_lr(0, 0.125);
  const OptimizerState<double> s = opt.state();
  EXPECT_EQ(s.steps, 1);
  EXPECT_EQ(s.group_sizes, (std::vector<std::size_t>{2, 1}));
  EXPECT_EQ(s.lr, (std::vector<double>{0.125, 0.5}));
  ASSERT_EQ(s.tensors.size(), 6u);
  EXPECT_EQ(s.tensors[2].name, "exp_avg.2");  // indices run across the groups
  EXPECT_EQ(s.tensors[5].name, "exp_avg_sq.2");

  Adam<double> same({{&a, &b}, {&c}}, AdamOptions{});
  same.load_state(s);
  EXPECT_EQ(same.lr(0), 0.125);
  EXPECT_EQ(same.lr(1), 0.5);
  EXPECT_EQ(same.steps(), 1);
  EXPECT_EQ(same.exp_avg(2)(0), opt.exp_avg(2)(0));

  Adam<double> one({&a, &b, &c}, AdamOptions{}), other({{&a}, {&b, &c}}, AdamOptions{});
  EXPECT_THAT([&] { one.load_state(s); },
              ThrowsMessage<Error>(StrEq("Adam: load_state: the state has 2 parameter groups (2 + 1 parameters), this "
                                         "optimizer 1 (3 parameters)")));
  EXPECT_THAT([&] { other.load_state(s); },
              ThrowsMessage<Error>(StrEq("Adam: load_state: the state has 2 parameter groups (2 + 1 parameters), this "
                                         "optimizer 2 (1 + 2 parameters)")));
  OptimizerState<double> rates = s;
  rates.lr = {0.1};
  EXPECT_THAT([&] { same.load_state(rates); },
              ThrowsMessage<Error>(StrEq("Adam: load_state: got 1 learning rates for 2 parameter groups")));
  rates.lr = {0.1, -1};
  EXPECT_THAT([&] { same.load_state(rates); },
              ThrowsMessage<Error>(StrEq("Adam: group 1: load_state: invalid learning rate -1")));
  EXPECT_EQ(one.steps(), 0);  // nothing applied by the failures
  EXPECT_EQ(same.lr(0), 0.125);
}

// A warm grouped step and a schedule applied to every group allocate nothing.
TEST(ParamGroups, GroupedStepsAndSchedulesAllocateNothing) {
  Parameter<float> w(Tensor<float>::from_shape({40, 10}), "w"), b(Tensor<float>::from_shape({10}), "b");
  w.value.fill(0.5f);
  b.value.fill(0.5f);
  AdamW<float> adamw({{&w}, {{&b}, GroupOptions().weight_decay(0)}});
  SGDOptions so;
  so.momentum = 0.9;
  SGD<float> sgd({{{&w}, GroupOptions().weight_decay(1e-3)}, {&b}}, so);
  CosineLR cosine(1.0, 100);
  std::int64_t t = 0;
  auto step = [&] {
    w.grad.fill(0.25f);
    b.grad.fill(-0.5f);
    adamw.apply_schedule(cosine, t);
    adamw.step();
    sgd.apply_schedule(cosine, t++);
    sgd.step();
  };
  EXPECT_EQ(testing::allocations_after_warmup(g_allocations, g_counting, step, 2, 20), 0);
  EXPECT_LT(w.value(0, 0), 0.5f);
}

}  // namespace
}  // namespace tapegrad
