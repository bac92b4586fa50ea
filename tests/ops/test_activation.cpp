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

// ---- leaky_relu, tanh, sigmoid ----

TEST(LeakyRelu, ForwardHandComputed) {
  Tape<double> t;
  Var<double> y = leaky_relu(t.constant(Tensor<double>{-2.0, -0.5, 0.0, 0.5, 3.0}), 0.1);
  EXPECT_TRUE(all_close(y.value(), Tensor<double>{-0.2, -0.05, 0.0, 0.5, 3.0}, 0, 1e-15));
  Tape<float> tf;
  Var<float> yf = leaky_relu(tf.constant(Tensor<float>{{-4.0f, 2.5f}}));  // default slope 0.01
  EXPECT_TRUE(all_close(yf.value(), Tensor<float>{{-0.04f, 2.5f}}, 0, 1e-7));
}

TEST(LeakyRelu, DerivativeAtZeroIsTheSlope) {
  // leaky_relu'(0) = slope, the negative side's (PyTorch: x > 0 ? g : g·slope)
  Parameter<double> x(Tensor<double>{-1.0, 0.0, 2.0, -0.0});
  Tape<double> t;
  t.backward(leaky_relu(t.watch(x), 0.25), Tensor<double>{4.0, 8.0, 16.0, 32.0});
  EXPECT_TRUE(all_close(x.grad, Tensor<double>{1.0, 2.0, 16.0, 8.0}, 0, 0));
}

TEST(LeakyRelu, GradcheckOverShapesAndSkipsItsKink) {
  std::uint64_t seed = 60;
  for (const Shape& shape : std::vector<Shape>{{7}, {3, 4}, {2, 1, 4}, {1, 1}}) {
    auto f = [s = seed](Tape<double>&, const std::vector<Var<double>>& v) {
      return weighted_sum(leaky_relu(v[0], -0.3), s);  // a negative slope is allowed, as PyTorch
    };
    const Tensor<double> x = random_away_from_zero(shape, seed + 1);
    const GradcheckReport rep = gradcheck(f, {x});
    EXPECT_TRUE(rep.passed) << rep.summary();
    EXPECT_EQ(rep.checked, x.size());
    seed += 2;
  }
  Tensor<double> x = random_away_from_zero({2, 3}, 5);
  x(1, 1) = 0.0;
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return weighted_sum(leaky_relu(v[0], 0.2), 6); };
  const GradcheckReport rep = gradcheck(f, {x});
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.skipped_kinks, 1u);
}

TEST(LeakyRelu, NonFiniteSlopeIsAnError) {
  Tape<double> t;
  Var<double> x = t.constant(Tensor<double>{1.0});
  EXPECT_THAT(testing::error_of([&] { leaky_relu(x, std::numeric_limits<double>::infinity()); }),
              HasSubstr("leaky_relu: slope must be finite, got inf"));
}

TEST(Tanh, ForwardAndGradientHandComputed) {
  Parameter<double> x(Tensor<double>{-1.0, 0.0, 0.5});
  Tape<double> t;
  Var<double> y = tanh(t.watch(x));
  EXPECT_TRUE(all_close(y.value(), Tensor<double>{std::tanh(-1.0), 0.0, std::tanh(0.5)}, 0, 0));
  t.backward(y, Tensor<double>{1.0, 2.0, 3.0});
  const double a = std::tanh(-1.0), b = std::tanh(0.5);
  EXPECT_TRUE(all_close(x.grad, Tensor<double>{1 - a * a, 2.0, 3 * (1 - b * b)}, 0, 1e-15));
}

TEST(Sigmoid, ForwardHandComputedAndStableAtLargeMagnitudes) {
  Tape<float> t;
  Var<float> y = sigmoid(t.constant(Tensor<float>{-1e4f, -1.0f, 0.0f, 2.0f, 1e4f}));
  const Tensor<float>& v = y.value();
  EXPECT_EQ(v(0), 0.0f);  // exp(−1e4) underflows to 0: no Inf, no NaN
  EXPECT_NEAR(v(1), 1.0 / (1.0 + std::exp(1.0)), 1e-7);
  EXPECT_EQ(v(2), 0.5f);
  EXPECT_NEAR(v(3), 1.0 / (1.0 + std::exp(-2.0)), 1e-7);
  EXPECT_EQ(v(4), 1.0f);
}

TEST(TanhSigmoid, GradcheckOverShapes) {
  std::uint64_t seed = 80;
  for (const Shape& shape : std::vector<Shape>{{5}, {3, 4}, {2, 1, 3}, {1}}) {
    auto f = [s = seed](Tape<double>&, const std::vector<Var<double>>& v) {
      return weighted_sum(tanh(v[0] * 2.0), s) + weighted_sum(sigmoid(v[0] * 3.0), s + 1);
    };
    const Tensor<double> x = random_tensor(shape, seed + 2, -2.0, 2.0);
    const GradcheckReport rep = gradcheck(f, {x});
    EXPECT_TRUE(rep.passed) << rep.summary();
    EXPECT_EQ(rep.checked, x.size());
    seed += 3;
  }
}

TEST(Activations, ZeroLengthInputsGiveEmptyValuesAndGradients) {
  Parameter<double> x(Tensor<double>(xt::zeros<double>({0, 3})));
  Tape<double> t;
  Var<double> xv = t.watch(x);
  Var<double> y = sigmoid(tanh(leaky_relu(xv, 0.5)));
  EXPECT_EQ(y.value().shape(), (std::vector<std::size_t>{0, 3}));
  t.backward(sum(y) + 1.0);
  EXPECT_EQ(x.grad.shape(), (std::vector<std::size_t>{0, 3}));
}

}  // namespace
}  // namespace tapegrad
