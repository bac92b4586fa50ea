#include <gmock/gmock.h>

#include <cmath>
#include <limits>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::gradcheck_passes;
using testing::random_away_from_zero;
using testing::random_tensor;
using testing::weighted_sum;

TEST(Relu, ForwardHandComputed) {
  Tape<double> t;
  Var<double> y = relu(t.constant(Tensor<double>{-2.0, -0.5, 0.0, 0.5, 3.0}));
  EXPECT_TRUE(all_close(y.value(), Tensor<double>{0.0, 0.0, 0.0, 0.5, 3.0}, 0, 0));
  Tape<float> tf;
  Var<float> yf = relu(tf.constant(Tensor<float>{{-1.5f, 2.5f}, {0.25f, -0.0f}}));
  EXPECT_TRUE(all_close(yf.value(), Tensor<float>{{0.0f, 2.5f}, {0.25f, 0.0f}}, 0, 0));
}

TEST(Relu, DerivativeAtZeroIsExactlyZero) {
  // relu'(0) = 0 is the convention; zero inputs must pass exactly no gradient
  Parameter<double> x(Tensor<double>{-1.0, 0.0, 2.0, 0.0, -0.0, 1e-300});
  Tape<double> t;
  t.backward(relu(t.watch(x)), Tensor<double>{5.0, 6.0, 7.0, 8.0, 9.0, 10.0});
  EXPECT_TRUE(all_close(x.grad, Tensor<double>{0.0, 0.0, 7.0, 0.0, 0.0, 10.0}, 0, 0));
}

TEST(Relu, GradcheckAwayFromZero) {
  const std::vector<Shape> shapes = {{7}, {3, 4}, {2, 3, 4}, {1, 5}};
  std::uint64_t seed = 40;
  for (const Shape& shape : shapes) {
    auto f = [s = seed](Tape<double>&, const std::vector<Var<double>>& v) {
      return weighted_sum(relu(v[0] * 1.5), s);
    };
    const Tensor<double> x = random_away_from_zero(shape, seed + 1);
    const GradcheckReport rep = gradcheck(f, {x});
    EXPECT_TRUE(rep.passed) << rep.summary();
    EXPECT_EQ(rep.checked, x.size());
    EXPECT_EQ(rep.skipped_kinks, 0u);
    seed += 2;
  }
}

TEST(Relu, GradcheckSkipsKinks) {
  // two exact zeros: a ±h step flips their branch, so gradcheck skips them
  // (a one-sided difference there would read 0.5·w, not relu'(0)·w = 0)
  Tensor<double> x = random_away_from_zero({3, 4}, 7);
  x(0, 1) = 0.0;
  x(2, 3) = 0.0;
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return weighted_sum(relu(v[0]), 8); };
  const GradcheckReport rep = gradcheck(f, {x});
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.skipped_kinks, 2u);
  EXPECT_EQ(rep.checked, 10u);
}

TEST(Relu, BranchSignatureFollowsSigns) {
  Tape<double> t;
  auto signature = [&t](const Tensor<double>& x) {
    t.clear();
    t.set_branch_tracking(true);
    relu(t.constant(x));
    const std::uint64_t s = t.branch_signature();
    t.set_branch_tracking(false);
    return s;
  };
  EXPECT_EQ(signature(Tensor<double>{1.0, -1.0}), signature(Tensor<double>{2.0, -3.0}));
  EXPECT_NE(signature(Tensor<double>{1.0, -1.0}), signature(Tensor<double>{-1.0, 1.0}));
  // 0 sits on the inactive side, with the negatives
  EXPECT_EQ(signature(Tensor<double>{0.0, 1.0}), signature(Tensor<double>{-1.0, 1.0}));
  EXPECT_NE(signature(Tensor<double>{1e-9, 1.0}), signature(Tensor<double>{0.0, 1.0}));
}

TEST(Relu, GradientAccumulatesAcrossUses) {
  // h feeds relu and the loss directly: relu's contribution adds to the other
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
    Var<double> h = v[0] * 2.0;
    return weighted_sum(relu(h) + h, 3) + weighted_sum(relu(h), 4);
  };
  EXPECT_TRUE(gradcheck_passes(f, {random_away_from_zero({4, 3}, 9)}));
}

TEST(Relu, NanPropagatesToAnomalyMode) {
  Tape<double> t;
  Var<double> x = t.constant(Tensor<double>{1.0, std::numeric_limits<double>::quiet_NaN()});
  Var<double> y = relu(x);
  EXPECT_TRUE(std::isnan(y.value()(1)));  // a NaN is not silently clamped to 0
  t.set_anomaly_mode(true);
  try {
    relu(x);
    FAIL() << "anomaly mode did not flag relu's NaN";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("op 'relu'"));
  }
}

TEST(Relu, StaleVarIsAnError) {
  Tape<double> t;
  Var<double> x = t.constant(Tensor<double>{1.0});
  t.clear();
  try {
    relu(x);
    FAIL() << "no error for a stale Var";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("relu: stale Var #0"));
  }
}

}  // namespace
}  // namespace tapegrad
