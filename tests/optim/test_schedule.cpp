#include <gmock/gmock.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;

TEST(StepLR, DecaysByGammaEveryStepSizeEpochs) {
  StepLR s(0.1, 3, 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(2), 0.1);     // ⌊2/3⌋ = 0
  EXPECT_DOUBLE_EQ(s.lr_at(3), 0.05);    // 0.1·0.5
  EXPECT_DOUBLE_EQ(s.lr_at(5), 0.05);
  EXPECT_DOUBLE_EQ(s.lr_at(6), 0.025);   // 0.1·0.5²
  EXPECT_DOUBLE_EQ(s.lr_at(9), 0.0125);  // 0.1·0.5³
  EXPECT_DOUBLE_EQ(StepLR(1.0, 1).lr_at(2), 0.01);  // default γ = 0.1: 1·0.1²
}

TEST(CosineLR, FollowsTheHalfCosine) {
  CosineLR s(0.1, 10, 0.001);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.1);
  // 0.001 + 0.099·(1 + cos(π/5))/2 = 0.001 + 0.099·(1 + 0.80901699)/2
  EXPECT_NEAR(s.lr_at(2), 0.0905463412215599, 1e-15);
  EXPECT_NEAR(s.lr_at(5), 0.0505, 1e-15);  // cos(π/2) = 0: the midpoint
  EXPECT_NEAR(s.lr_at(10), 0.001, 1e-15);  // cos(π) = −1: η_min
  // PyTorch's closed form goes on past t_max: cos(1.5π) = 0, cos(2π) = 1.
  EXPECT_NEAR(s.lr_at(15), 0.0505, 1e-15);
  EXPECT_NEAR(s.lr_at(20), 0.1, 1e-15);
}

TEST(Schedule, DrivesAnyOptimizerThroughSetLr) {
  Parameter<double> p(Tensor<double>{1.0}, "w");
  SGDOptions o;
  o.lr = 123;  // overwritten by the schedule before the first step
  SGD<double> opt({&p}, o);
  StepLR s(0.1, 2, 0.5);
  for (int epoch = 0; epoch < 4; ++epoch) {
    opt.set_lr(s.lr_at(epoch));
    p.grad(0) = 1.0;
    opt.step();
  }
  EXPECT_DOUBLE_EQ(opt.lr(), 0.05);
  EXPECT_NEAR(p.value(0), 0.7, 1e-12);  // 1 − (0.1 + 0.1 + 0.05 + 0.05)
}

TEST(Schedule, InvalidArgumentsAreErrors) {
  EXPECT_THAT([] { StepLR(0.1, 0); }, ::testing::ThrowsMessage<Error>(HasSubstr("StepLR: step_size 0 must be > 0")));
  EXPECT_THAT([] { StepLR(-0.1, 2); }, ::testing::ThrowsMessage<Error>(HasSubstr("StepLR: invalid base_lr -0.1")));
  EXPECT_THAT([] { CosineLR(0.1, 0); }, ::testing::ThrowsMessage<Error>(HasSubstr("CosineLR: t_max 0 must be > 0")));
  EXPECT_THAT([] { CosineLR(0.1, 5, -1); }, ::testing::ThrowsMessage<Error>(HasSubstr("CosineLR: invalid eta_min -1")));
  EXPECT_THAT([] { StepLR(0.1, 2).lr_at(-1); }, ::testing::ThrowsMessage<Error>(HasSubstr("StepLR: epoch/step -1 is negative")));
  Parameter<double> p(Tensor<double>{1.0}, "w");
  SGD<double> opt({&p}, SGDOptions{});
  EXPECT_THAT([&] { opt.set_lr(-0.5); }, ::testing::ThrowsMessage<Error>(HasSubstr("SGD: invalid learning rate -0.5")));
  EXPECT_EQ(opt.lr(), 0.01);  // unchanged by the failed set
}

}  // namespace
}  // namespace tapegrad
