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

// PyTorch's schedulers set each group from its own initial lr; CosineLR's η_min
// is the same for every group. Groups at 0.1 and 0.01:
//   cosine (t_max 10, η_min 0.001), t = 2: 0.001 + 0.099·(1 + cos(π/5))/2 and
//   0.001 + 0.009·(1 + cos(π/5))/2; t = 5: 0.0505 and 0.0055; t = 10: 0.001 both.
//   step (3, γ 0.5): t = 3: 0.05 and 0.005; t = 6: 0.025 and 0.0025.
TEST(Schedule, ScalesEveryGroupFromItsInitialLr) {
  Parameter<double> a(Tensor<double>{1.0}, "a"), b(Tensor<double>{1.0}, "b");
  SGDOptions o;
  o.lr = 0.1;
  SGD<double> opt({{&a}, {{&b}, GroupOptions().lr(0.01)}}, o);
  const CosineLR cosine(123, 10, 0.001);  // its own base_lr plays no part here
  const double cos_want[4][3] = {{0, 0.1, 0.01},
                                 {2, 0.0905463412215599, 0.009140576474687266},
                                 {5, 0.0505, 0.0055},
                                 {10, 0.001, 0.001}};
  for (const auto& w : cos_want) {
    opt.apply_schedule(cosine, static_cast<std::int64_t>(w[0]));
    EXPECT_NEAR(opt.lr(0), w[1], 1e-15) << "t = " << w[0];
    EXPECT_NEAR(opt.lr(1), w[2], 1e-15) << "t = " << w[0];
  }
  EXPECT_EQ(opt.initial_lr(0), 0.1);  // unchanged: every t starts from it
  const StepLR step(1.0, 3, 0.5);
  const double step_want[4][3] = {{0, 0.1, 0.01}, {2, 0.1, 0.01}, {3, 0.05, 0.005}, {6, 0.025, 0.0025}};
  for (const auto& w : step_want) {
    opt.apply_schedule(step, static_cast<std::int64_t>(w[0]));
    EXPECT_DOUBLE_EQ(opt.lr(0), w[1]) << "t = " << w[0];
    EXPECT_DOUBLE_EQ(opt.lr(1), w[2]) << "t = " << w[0];
  }
  EXPECT_DOUBLE_EQ(step.lr_for(0.01, 9), 0.00125);
  EXPECT_DOUBLE_EQ(step.lr_at(9), 0.125);  // lr_at: from its base_lr, 1·0.5³
  // Four epochs of plain SGD with g = 1 under StepLR(2, 0.5):
  // a: 1 − (0.1 + 0.1 + 0.05 + 0.05) = 0.7;  b: 1 − (0.01 + 0.01 + 0.005 + 0.005) = 0.97
  const StepLR halves(1.0, 2, 0.5);
  for (int epoch = 0; epoch < 4; ++epoch) {
    opt.apply_schedule(halves, epoch);
    a.grad(0) = b.grad(0) = 1.0;
    opt.step();
  }
  EXPECT_NEAR(a.value(0), 0.7, 1e-12);
  EXPECT_NEAR(b.value(0), 0.97, 1e-12);
  EXPECT_THAT([&] { opt.apply_schedule(halves, -1); },
              ::testing::ThrowsMessage<Error>(HasSubstr("StepLR: epoch/step -1 is negative")));
  EXPECT_DOUBLE_EQ(opt.lr(1), 0.005);  // unchanged by the failed call
}

// A schedule that gives one group an invalid rate changes no group.
TEST(Schedule, AnInvalidRateForOneGroupChangesNone) {
  struct Shifted : LrSchedule {
    Shifted() : LrSchedule("Shifted", 1) {}
    double lr_for(double initial_lr, std::int64_t t) const override { return initial_lr - 0.05 * static_cast<double>(t); }
  };
  Parameter<double> a(Tensor<double>{1.0}, "a"), b(Tensor<double>{1.0}, "b");
  SGD<double> opt({{{&a}, GroupOptions().lr(0.5)}, {{&b}, GroupOptions().lr(0.1)}}, SGDOptions{});
  opt.apply_schedule(Shifted(), 1);
  EXPECT_DOUBLE_EQ(opt.lr(0), 0.45);
  EXPECT_DOUBLE_EQ(opt.lr(1), 0.05);
  EXPECT_THAT([&] { opt.apply_schedule(Shifted(), 3); },
              ::testing::ThrowsMessage<Error>(::testing::StartsWith("SGD: group 1: invalid learning rate -0.05")));
  EXPECT_DOUBLE_EQ(opt.lr(0), 0.45);
  EXPECT_DOUBLE_EQ(opt.lr(1), 0.05);
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
