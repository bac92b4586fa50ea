// Adam and AdamW against torch.optim's documented algorithms, three steps by hand.
// β₁ = 0.5, β₂ = 0.75 and ε = 1 keep the arithmetic exact by hand (and ε = 1 makes
// its place, outside the square root, visible). Bias corrections:
//   1 − β₁ᵗ = 0.5, 0.75, 0.875;   1 − β₂ᵗ = 0.25, 0.4375, 0.578125.
#include <gmock/gmock.h>

#include <type_traits>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::error_of;
using testing::kNoError;

AdamOptions opts(double weight_decay) {
  AdamOptions o;
  o.lr = 0.1;
  o.beta1 = 0.5;
  o.beta2 = 0.75;
  o.eps = 1.0;
  o.weight_decay = weight_decay;
  return o;
}

// θ₀ = [1, −1]; element 0 always sees g = 1, element 1 sees g = 2, −2, 2.
template <class Opt>
std::vector<Tensor<double>> three_steps(Parameter<double>& p, Opt& opt) {
  const Tensor<double> grads[3] = {{1, 2}, {1, -2}, {1, 2}};
  std::vector<Tensor<double>> after;
  for (const Tensor<double>& g : grads) {
    std::copy(g.begin(), g.end(), p.grad.begin());
    opt.step();
    after.push_back(p.value);
  }
  return after;
}

TEST(Adam, ThreeStepsWithBiasCorrection) {
  Parameter<double> p(Tensor<double>{1, -1}, "w");
  Adam<double> opt({&p}, opts(0));
  auto th = three_steps(p, opt);
  // Element 0: m = 0.5, 0.75, 0.875 and v = 0.25, 0.4375, 0.578125, so m̂ = v̂ = 1
  // every step and θ moves by 0.1·1/(1 + 1) = 0.05.
  // Element 1, step 1: m = 1, v = 1; m̂ = 2, v̂ = 4; θ = −1 − 0.1·2/(2 + 1) = −16/15
  EXPECT_TRUE(all_close(th[0], Tensor<double>{0.95, -1.0666666666666667}));
  // step 2: m = 0.5 − 1 = −0.5, v = 0.75 + 1 = 1.75; m̂ = −2/3, v̂ = 4;
  //         θ = −16/15 + 0.1·(2/3)/3 = −47/45
  EXPECT_TRUE(all_close(th[1], Tensor<double>{0.90, -1.0444444444444445}));
  // step 3: m = −0.25 + 1 = 0.75, v = 1.3125 + 1 = 2.3125; m̂ = 6/7, v̂ = 4;
  //         θ = −47/45 − 0.1·(6/7)/3 = −338/315
  EXPECT_TRUE(all_close(th[2], Tensor<double>{0.85, -1.073015873015873}));
  EXPECT_TRUE(all_close(opt.exp_avg(0), Tensor<double>{0.875, 0.75}));
  EXPECT_TRUE(all_close(opt.exp_avg_sq(0), Tensor<double>{0.578125, 2.3125}));
  EXPECT_EQ(opt.steps(), 3);
}

TEST(Adam, WeightDecayIsAddedToTheGradient) {
  Parameter<double> p(Tensor<double>{2.0}, "w");
  Adam<double> opt({&p}, opts(0.5));
  std::vector<double> th;
  for (int k = 0; k < 3; ++k) {
    p.grad(0) = 1.0;
    opt.step();
    th.push_back(p.value(0));
  }
  // step 1: d = 1 + 0.5·2 = 2; m = 1, v = 1; m̂ = 2, v̂ = 4; θ = 2 − 0.1·2/3 = 29/15
  EXPECT_NEAR(th[0], 1.9333333333333333, 1e-12);
  // step 2: d = 1 + 0.5·29/15 = 59/30; m = 0.5 + 59/60 = 89/60; v = 0.75 + 0.25·(59/30)² = 6181/3600;
  //         θ = 29/15 − 0.1·(89/45)/(√(6181/1575) + 1) = 1.8669876840657322
  EXPECT_NEAR(th[1], 1.8669876840657322, 1e-12);
  // step 3: d = 1 + 0.5·θ₂ = 1.9334938420; m = (m₂ + d)/2 = 1.7084135877;
  //         v = 0.75·v₂ + 0.25·d² = 2.2223079426; θ = θ₂ − 0.1·(m/0.875)/(√(v/0.578125) + 1)
  EXPECT_NEAR(th[2], 1.8010393632805404, 1e-12);
  EXPECT_NEAR(opt.exp_avg(0)(0), 1.7084135876830997, 1e-12);
}

TEST(AdamW, DecoupledDecayComesFirst) {
  Parameter<double> p(Tensor<double>{1, -1}, "w");
  AdamW<double> opt({&p}, opts(0.5));
  auto th = three_steps(p, opt);
  // θ ← (1 − 0.1·0.5)·θ = 0.95·θ, then the Adam step above (moments do not see θ):
  // element 0: 0.95·1 − 0.05 = 0.9; 0.95·0.9 − 0.05 = 0.805; 0.95·0.805 − 0.05 = 0.71475
  // element 1: 0.95·(−1) − 1/15 = −1.0166667; 0.95·θ₁ + 1/45 = −0.9436111; 0.95·θ₂ − 1/35 = −0.9250020
  EXPECT_TRUE(all_close(th[0], Tensor<double>{0.9, -1.0166666666666666}));
  EXPECT_TRUE(all_close(th[1], Tensor<double>{0.805, -0.9436111111111111}));
  EXPECT_TRUE(all_close(th[2], Tensor<double>{0.71475, -0.9250019841269841}));
  EXPECT_TRUE(all_close(opt.exp_avg(0), Tensor<double>{0.875, 0.75}));  // same moments as Adam
}

// torch.optim.AdamW([{'params': [w]}, {'params': [c], 'lr': 0.2, 'weight_decay': 0}],
// lr=0.1, betas=(0.5, 0.75), eps=1, weight_decay=0.5): w takes the decoupled
// trajectory above; c, without decay and at lr 0.2, is Adam's at twice the step:
// element 0 moves by 0.2·1/(1 + 1) = 0.1 per step; element 1 by −0.2·2/3,
// +0.2·(2/3)/3, −0.2·(6/7)/3: θ = −17/15, −49/45, −361/315.
TEST(AdamW, TwoGroupsOneWithoutDecayTakeTheHandValues) {
  Parameter<double> w(Tensor<double>{1, -1}, "w"), c(Tensor<double>{1, -1}, "c");
  AdamW<double> opt({{&w}, {{&c}, GroupOptions().lr(0.2).weight_decay(0)}}, opts(0.5));
  const Tensor<double> grads[3] = {{1, 2}, {1, -2}, {1, 2}};
  const Tensor<double> want_w[3] = {{0.9, -1.0166666666666666}, {0.805, -0.9436111111111111},
                                    {0.71475, -0.9250019841269841}};
  const Tensor<double> want_c[3] = {{0.9, -1.1333333333333333}, {0.8, -1.0888888888888888},
                                    {0.7, -1.146031746031746}};
  for (int k = 0; k < 3; ++k) {
    w.grad = grads[k];
    c.grad = grads[k];
    opt.step();
    EXPECT_TRUE(all_close(w.value, want_w[k])) << "step " << k + 1;
    EXPECT_TRUE(all_close(c.value, want_c[k])) << "step " << k + 1;
  }
  for (std::size_t i = 0; i < 2; ++i) {  // the moments never see θ or λ
    EXPECT_TRUE(all_close(opt.exp_avg(i), Tensor<double>{0.875, 0.75}));
    EXPECT_TRUE(all_close(opt.exp_avg_sq(i), Tensor<double>{0.578125, 2.3125}));
  }
  // The same in float, through the vector body and the tail (38 elements per group).
  const double wv[3][2] = {{0.9, -1.0166666666666666}, {0.805, -0.9436111111111111}, {0.71475, -0.9250019841269841}};
  const double cv[3][2] = {{0.9, -1.1333333333333333}, {0.8, -1.0888888888888888}, {0.7, -1.146031746031746}};
  Tensor<float> start = Tensor<float>::from_shape({38});
  for (std::size_t i = 0; i < 38; ++i) start(i) = i % 2 ? -1.0f : 1.0f;
  Parameter<float> fw(start, "w"), fc(start, "c");
  AdamW<float> fopt({{&fw}, {{&fc}, GroupOptions().lr(0.2).weight_decay(0)}}, opts(0.5));
  for (int k = 0; k < 3; ++k) {
    for (std::size_t i = 0; i < 38; ++i) fw.grad(i) = fc.grad(i) = static_cast<float>(grads[k](i % 2));
    fopt.step();
    for (std::size_t i = 0; i < 38; ++i) {
      EXPECT_NEAR(fw.value(i), wv[k][i % 2], 1e-6) << "w element " << i << " step " << k + 1;
      EXPECT_NEAR(fc.value(i), cv[k][i % 2], 1e-6) << "c element " << i << " step " << k + 1;
    }
  }
}

// Adam's groups: one with L2 decay folded into its gradient (the hand values of
// WeightDecayIsAddedToTheGradient), one without, stepped together.
TEST(Adam, GroupsDecayOnlyWhereTheySayTo) {
  Parameter<double> p(Tensor<double>{2.0}, "p"), q(Tensor<double>{1, -1}, "q");
  Adam<double> opt({{&p}, {{&q}, GroupOptions().weight_decay(0)}}, opts(0.5));
  const Tensor<double> grads[3] = {{1, 2}, {1, -2}, {1, 2}};
  const double want_p[3] = {1.9333333333333333, 1.8669876840657322, 1.8010393632805404};
  const Tensor<double> want_q[3] = {{0.95, -1.0666666666666667}, {0.90, -1.0444444444444445},
                                    {0.85, -1.073015873015873}};
  for (int k = 0; k < 3; ++k) {
    p.grad(0) = 1.0;
    q.grad = grads[k];
    opt.step();
    EXPECT_NEAR(p.value(0), want_p[k], 1e-12) << "step " << k + 1;
    EXPECT_TRUE(all_close(q.value, want_q[k])) << "step " << k + 1;
  }
}

TEST(AdamW, DefaultsMatchPyTorch) {
  Parameter<float> p(Tensor<float>{1.0f}, "w");
  AdamW<float> w({&p});
  Adam<float> a({&p}, AdamOptions{});
  EXPECT_EQ(w.options().weight_decay, 1e-2);
  EXPECT_EQ(a.options().weight_decay, 0.0);
  EXPECT_EQ(w.lr(), 1e-3);
  EXPECT_EQ(w.options().beta1, 0.9);
  EXPECT_EQ(w.options().beta2, 0.999);
  EXPECT_EQ(w.options().eps, 1e-8);
  // One float step with g = 1: θ = 0.99999·1 − 1e-3·1/(1 + 1e-8) ≈ 0.99899
  p.grad(0) = 1.0f;
  w.step();
  EXPECT_NEAR(p.value(0), 0.99899f, 1e-6);
}

// The same two elements repeated 19 times (38 = two 16-lane float vectors or four
// 8-lane double vectors, and a tail): every copy must take the hand values above,
// whether the vector body or the scalar tail updates it, in float and in double.
template <class T, class Opt>
void check_repeated(double decay, const double want[3][2]) {
  const std::size_t n = 38;
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-15;
  Tensor<T> start = Tensor<T>::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) start(i) = i % 2 ? T(-1) : T(1);
  Parameter<T> p(start, "w");
  Opt opt({&p}, opts(decay));
  const T g1[3] = {2, -2, 2};
  for (int step = 0; step < 3; ++step) {
    for (std::size_t i = 0; i < n; ++i) p.grad(i) = i % 2 ? g1[step] : T(1);
    opt.step();
    for (std::size_t i = 0; i < n; ++i)
      EXPECT_NEAR(static_cast<double>(p.value(i)), want[step][i % 2], tol)
          << "element " << i << " step " << step;
  }
}

TEST(Adam, VectorBodyAndTailTakeTheHandValues) {
  const double adam[3][2] = {{0.95, -1.0666666666666667}, {0.90, -1.0444444444444445}, {0.85, -1.073015873015873}};
  const double adamw[3][2] = {{0.9, -1.0166666666666666}, {0.805, -0.9436111111111111}, {0.71475, -0.9250019841269841}};
  check_repeated<float, Adam<float>>(0, adam);
  check_repeated<double, Adam<double>>(0, adam);
  check_repeated<float, AdamW<float>>(0.5, adamw);
  check_repeated<double, AdamW<double>>(0.5, adamw);
}

TEST(Adam, InvalidHyperparametersNameTheOptimizer) {
  Parameter<double> p(Tensor<double>{1.0}, "w");
  auto with = [&](auto set) {
    AdamOptions o;
    set(o);
    return o;
  };
  auto adam = [&](AdamOptions o) { return error_of([&] { Adam<double>({&p}, o); }); };
  auto adamw = [&](AdamOptions o) { return error_of([&] { AdamW<double>({&p}, o); }); };
  EXPECT_THAT(adam(with([](AdamOptions& o) { o.lr = -1e-3; })), HasSubstr("Adam: invalid learning rate -0.001"));
  EXPECT_THAT(adamw(with([](AdamOptions& o) { o.lr = -1; })), HasSubstr("AdamW: invalid learning rate -1"));
  EXPECT_THAT(adam(with([](AdamOptions& o) { o.beta1 = 1.0; })), HasSubstr("Adam: invalid beta1 1 (must be in [0, 1))"));
  EXPECT_THAT(adamw(with([](AdamOptions& o) { o.beta2 = -0.1; })), HasSubstr("AdamW: invalid beta2 -0.1"));
  EXPECT_THAT(adam(with([](AdamOptions& o) { o.eps = -1; })), HasSubstr("Adam: invalid eps -1"));
  EXPECT_THAT(adamw(with([](AdamOptions& o) { o.weight_decay = -0.01; })), HasSubstr("AdamW: invalid weight_decay"));
  EXPECT_EQ(adam(AdamOptions{}), kNoError);
}

}  // namespace
}  // namespace tapegrad
