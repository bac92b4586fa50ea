// SGD against torch.optim.SGD's documented algorithm, three steps by hand, in
// one group and in two.
// Shared setup: θ₀ = [1, −2], lr = 0.1, gradients g₁ = [0.5, 1], g₂ = [−1, 0.25], g₃ = [2, −0.5].
#include <gmock/gmock.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;

// Three steps from θ₀ with g₁, g₂, g₃; `after[k]` is θ after step k + 1.
template <class T>
struct SgdRun {
  Parameter<T> p{Tensor<T>{1, -2}, "w"};
  SGD<T> opt;
  std::vector<Tensor<T>> after;
  explicit SgdRun(const SGDOptions& o) : opt({&p}, o) {
    const Tensor<T> grads[3] = {{0.5, 1}, {-1, 0.25}, {2, -0.5}};
    for (const Tensor<T>& g : grads) {
      std::copy(g.begin(), g.end(), p.grad.begin());
      opt.step();
      after.push_back(p.value);
    }
  }
};

SGDOptions sgd(double lr, double momentum = 0, double dampening = 0, double wd = 0, bool nesterov = false) {
  SGDOptions o;
  o.lr = lr;
  o.momentum = momentum;
  o.dampening = dampening;
  o.weight_decay = wd;
  o.nesterov = nesterov;
  return o;
}

TEST(SGD, PlainThreeSteps) {
  SgdRun<double> run(sgd(0.1));
  const auto& p = run.after;
  EXPECT_TRUE(all_close(p[0], Tensor<double>{0.95, -2.1}));    // [1 − 0.05, −2 − 0.1]
  EXPECT_TRUE(all_close(p[1], Tensor<double>{1.05, -2.125}));  // [0.95 + 0.1, −2.1 − 0.025]
  EXPECT_TRUE(all_close(p[2], Tensor<double>{0.85, -2.075}));  // [1.05 − 0.2, −2.125 + 0.05]
}

TEST(SGD, MomentumThreeSteps) {
  SgdRun<double> run(sgd(0.1, 0.9));
  const auto& p = run.after;
  // b₁ = g₁ = [0.5, 1] (no dampening at the first step); θ₁ = [1 − 0.05, −2 − 0.1]
  EXPECT_TRUE(all_close(p[0], Tensor<double>{0.95, -2.1}));
  // b₂ = 0.9·[0.5, 1] + [−1, 0.25] = [−0.55, 1.15]; θ₂ = [0.95 + 0.055, −2.1 − 0.115]
  EXPECT_TRUE(all_close(p[1], Tensor<double>{1.005, -2.215}));
  // b₃ = 0.9·[−0.55, 1.15] + [2, −0.5] = [1.505, 0.535]; θ₃ = [1.005 − 0.1505, −2.215 − 0.0535]
  EXPECT_TRUE(all_close(p[2], Tensor<double>{0.8545, -2.2685}));
  EXPECT_TRUE(all_close(run.opt.momentum_buffer(0), Tensor<double>{1.505, 0.535}));
  EXPECT_EQ(run.opt.steps(), 3);
}

TEST(SGD, DampeningSkipsTheFirstStep) {
  SgdRun<double> run(sgd(0.1, 0.9, 0.5));
  const auto& p = run.after;
  // b₁ = g₁ = [0.5, 1] (PyTorch: b₁ ← g₁, undamped); θ₁ = [0.95, −2.1]
  EXPECT_TRUE(all_close(p[0], Tensor<double>{0.95, -2.1}));
  // b₂ = 0.9·[0.5, 1] + 0.5·[−1, 0.25] = [−0.05, 1.025]; θ₂ = [0.95 + 0.005, −2.1 − 0.1025]
  EXPECT_TRUE(all_close(p[1], Tensor<double>{0.955, -2.2025}));
  // b₃ = 0.9·[−0.05, 1.025] + 0.5·[2, −0.5] = [0.955, 0.6725]; θ₃ = [0.955 − 0.0955, −2.2025 − 0.06725]
  EXPECT_TRUE(all_close(p[2], Tensor<double>{0.8595, -2.26975}));
}

TEST(SGD, NesterovThreeSteps) {
  SgdRun<double> run(sgd(0.1, 0.9, 0, 0, true));
  const auto& p = run.after;
  // b₁ = [0.5, 1]; g₁ + 0.9·b₁ = [0.95, 1.9]; θ₁ = [1 − 0.095, −2 − 0.19]
  EXPECT_TRUE(all_close(p[0], Tensor<double>{0.905, -2.19}));
  // b₂ = [−0.55, 1.15]; g₂ + 0.9·b₂ = [−1.495, 1.285]; θ₂ = [0.905 + 0.1495, −2.19 − 0.1285]
  EXPECT_TRUE(all_close(p[1], Tensor<double>{1.0545, -2.3185}));
  // b₃ = [1.505, 0.535]; g₃ + 0.9·b₃ = [3.3545, −0.0185]; θ₃ = [1.0545 − 0.33545, −2.3185 + 0.00185]
  EXPECT_TRUE(all_close(p[2], Tensor<double>{0.71905, -2.31665}));
}

TEST(SGD, WeightDecayThreeSteps) {
  SgdRun<double> run(sgd(0.1, 0, 0, 0.1));
  const auto& p = run.after;
  // g₁ + 0.1·θ₀ = [0.6, 0.8]; θ₁ = [1 − 0.06, −2 − 0.08]
  EXPECT_TRUE(all_close(p[0], Tensor<double>{0.94, -2.08}));
  // g₂ + 0.1·θ₁ = [−0.906, 0.042]; θ₂ = [0.94 + 0.0906, −2.08 − 0.0042]
  EXPECT_TRUE(all_close(p[1], Tensor<double>{1.0306, -2.0842}));
  // g₃ + 0.1·θ₂ = [2.10306, −0.70842]; θ₃ = [1.0306 − 0.210306, −2.0842 + 0.070842]
  EXPECT_TRUE(all_close(p[2], Tensor<double>{0.820294, -2.013358}));
}

// Two groups, stepped together: the first with the defaults (momentum 0.9), the
// second with its own momentum 0 and weight decay 0.1. Each takes the one-group
// hand values above (MomentumThreeSteps, WeightDecayThreeSteps).
TEST(SGD, TwoGroupsTakeTheirOwnHandValues) {
  Parameter<double> p(Tensor<double>{1, -2}, "p"), q(Tensor<double>{1, -2}, "q");
  SGD<double> opt({{&p}, {{&q}, GroupOptions().momentum(0).weight_decay(0.1)}}, sgd(0.1, 0.9));
  const Tensor<double> grads[3] = {{0.5, 1}, {-1, 0.25}, {2, -0.5}};
  const Tensor<double> want_p[3] = {{0.95, -2.1}, {1.005, -2.215}, {0.8545, -2.2685}};
  const Tensor<double> want_q[3] = {{0.94, -2.08}, {1.0306, -2.0842}, {0.820294, -2.013358}};
  for (int k = 0; k < 3; ++k) {
    p.grad = grads[k];
    q.grad = grads[k];
    opt.step();
    EXPECT_TRUE(all_close(p.value, want_p[k])) << "step " << k + 1;
    EXPECT_TRUE(all_close(q.value, want_q[k])) << "step " << k + 1;
  }
  EXPECT_TRUE(all_close(opt.momentum_buffer(0), Tensor<double>{1.505, 0.535}));
  EXPECT_EQ(opt.state().tensors.size(), 1u);  // q's group keeps no momentum buffer
}

TEST(SGD, FloatRunsTheSameAlgorithm) {
  SgdRun<float> run(sgd(0.1, 0.9, 0, 0, true));
  const auto& p = run.after;
  EXPECT_TRUE(all_close(p[2], Tensor<float>{0.71905f, -2.31665f}));  // Nesterov values above
}

TEST(SGD, InvalidHyperparametersNameTheOptimizer) {
  Parameter<double> p(Tensor<double>{1.0}, "w");
  auto make = [&](const SGDOptions& o) { SGD<double> opt({&p}, o); };
  auto message = [&](const SGDOptions& o) {
    try {
      make(o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message(sgd(-0.1)), HasSubstr("SGD: invalid learning rate -0.1"));
  EXPECT_THAT(message(sgd(0.1, -0.5)), HasSubstr("SGD: invalid momentum -0.5"));
  EXPECT_THAT(message(sgd(0.1, 0, 0, -1)), HasSubstr("SGD: invalid weight_decay -1"));
  EXPECT_THAT(message(sgd(0.1, 0, 0, 0, true)), HasSubstr("SGD: Nesterov momentum requires momentum > 0"));
  EXPECT_THAT(message(sgd(0.1, 0.9, 0.1, 0, true)), HasSubstr("dampening = 0"));
  EXPECT_EQ(message(sgd(0.1, 0.9, 0, 0, true)), "no error");
}

}  // namespace
}  // namespace tapegrad
