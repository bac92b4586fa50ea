#include <gmock/gmock.h>

#include <cmath>
#include <limits>

#include <tapegrad/ops/dropout.hpp>
#include "support/alloc_counter.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::all_close;
using testing::error_of;

TEST(Dropout, KeepsWhereTheSeededUniformIsAtLeastPAndScalesExactly) {
  const double p = 0.3;
  const Tensor<double> x = testing::random_away_from_zero({40, 25}, 1);
  Tape<double> t;
  const Var<double> y = dropout(t.constant(x), p, 1234);
  const double scale = 1.0 / (1.0 - p);
  for (std::size_t k = 0; k < x.size(); ++k) {
    const bool keep = dropout_uniform(1234, k) >= p;
    ASSERT_EQ(y.value().data()[k], keep ? x.data()[k] * scale : 0.0) << k;  // exact: x·(1/(1 − p))
  }
  Tape<float> tf;
  const Tensor<float> xf = xt::cast<float>(x);
  const Var<float> yf = dropout(tf.constant(xf), p, 1234);
  const float scale_f = static_cast<float>(1.0 / (1.0 - p));
  for (std::size_t k = 0; k < x.size(); ++k)
    ASSERT_EQ(yf.value().data()[k], dropout_uniform(1234, k) >= p ? xf.data()[k] * scale_f : 0.0f) << k;
}

TEST(Dropout, TheDroppedFractionIsP) {
  for (double p : {0.1, 0.5, 0.9}) {
    Tape<float> t;
    const std::size_t n = 200000;
    const Var<float> y = dropout(t.constant(Tensor<float>(xt::ones<float>({n}))), p, 7);
    const double dropped = double(std::count(y.value().begin(), y.value().end(), 0.0f)) / double(n);
    EXPECT_NEAR(dropped, p, 5 * std::sqrt(p * (1 - p) / double(n))) << p;
  }
}

TEST(Dropout, SameSeedSameMaskOtherSeedOtherMask) {
  const Tensor<float> x = xt::ones<float>({1000});
  Tape<float> t;
  const Tensor<float> a = dropout(t.constant(x), 0.5, 99).value();
  const Tensor<float> b = dropout(t.constant(x), 0.5, 99).value();
  const Tensor<float> c = dropout(t.constant(x), 0.5, 100).value();
  EXPECT_TRUE(all_close(a, b, 0, 0));
  EXPECT_GT(xt::sum(xt::not_equal(a, c))(), 300u);
  // the first uniform of seed 0: mix(0x9E3779B97F4A7C15) = 0xE220A8397B1DCDAF (SplitMix64's first output)
  EXPECT_EQ(dropout_uniform(0, 0), double(0xE220A8397B1DCDAFull >> 11) * 0x1.0p-53);
}

TEST(Dropout, GradientIsTheMaskTimesTheScale) {
  const double p = 0.25;
  Parameter<double> x(testing::random_away_from_zero({6, 7}, 2));
  const Tensor<double> g = testing::random_tensor({6, 7}, 3);
  Tape<double> t;
  const Var<double> y = dropout(t.watch(x), p, 5);
  t.backward(y, g);
  for (std::size_t k = 0; k < x.value.size(); ++k) {
    const double m = dropout_uniform(5, k) >= p ? 1.0 / (1.0 - p) : 0.0;
    ASSERT_EQ(x.grad.data()[k], g.data()[k] * m) << k;
  }
  // gradcheck with a fixed seed (the mask is a constant of x)
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return testing::weighted_sum(dropout(v[0], 0.4, 11), 12); };
  EXPECT_TRUE(testing::gradcheck_passes(f, {testing::random_tensor({3, 5}, 4)}));
}

TEST(Dropout, PZeroIsTheIdentityAndRecordsNothing) {
  Tape<double> t;
  const Var<double> x = t.constant(Tensor<double>{1, 2, 3});
  const Var<double> y = dropout(x, 0.0, 1);
  EXPECT_EQ(y.id(), x.id());
  EXPECT_EQ(t.size(), 1u);
}

TEST(Dropout, POutsideZeroToOneIsAnErrorNamingP) {
  Tape<float> t;
  const Var<float> x = t.constant(Tensor<float>{1, 2});
  EXPECT_EQ(error_of([&] { dropout(x, 1.0, 0); }), "dropout: p must be in [0, 1), got 1");
  EXPECT_EQ(error_of([&] { dropout(x, -0.1, 0); }), "dropout: p must be in [0, 1), got -0.1");
  EXPECT_EQ(error_of([&] { dropout(x, 1.5, 0); }), "dropout: p must be in [0, 1), got 1.5");
  EXPECT_EQ(error_of([&] { dropout(x, std::numeric_limits<double>::quiet_NaN(), 0); }),
            "dropout: p must be in [0, 1), got nan");
  EXPECT_EQ(error_of([&] { dropout(x, std::numeric_limits<double>::infinity(), 0); }),
            "dropout: p must be in [0, 1), got inf");
  EXPECT_EQ(error_of([&] { dropout(x, -std::numeric_limits<double>::infinity(), 0); }),
            "dropout: p must be in [0, 1), got -inf");
  EXPECT_EQ(error_of([] { dropout(Var<float>(), 0.5, 0); }), "dropout: Var is empty (default-constructed, never recorded)");
  t.clear();
  EXPECT_THAT(error_of([&] { dropout(x, 0.5, 0); }), ::testing::StartsWith("dropout: stale Var #0"));
  EXPECT_EQ(t.size(), 0u);  // nothing recorded by the refused calls
}

TEST(Dropout, NaNStaysNaNAndNoGradSavesNoMask) {
  Tape<double> t;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor<double> x = xt::full_like(Tensor<double>::from_shape({64}), nan);
  EXPECT_TRUE(xt::all(xt::isnan(dropout(t.constant(x), 0.5, 3).value())));  // x·0 is NaN, as PyTorch's x·mask
  Parameter<double> p(testing::random_away_from_zero({10}, 6));
  Tensor<double> with_grad, without;
  with_grad = dropout(t.watch(p), 0.5, 8).value();
  {
    NoGrad<double> no_grad(t);
    const Var<double> y = dropout(t.watch(p), 0.5, 8);
    without = y.value();
    EXPECT_FALSE(t.record(y.id()).has_saved());
  }
  EXPECT_TRUE(all_close(with_grad, without, 0, 0));
}

TEST(Dropout, AWarmStepAllocatesNothing) {
  Parameter<float> p(Tensor<float>(xt::ones<float>({32, 64})));
  Tape<float> t;
  std::uint64_t seed = 0;
  const long n = testing::allocations_after_warmup(
      g_allocations, g_counting,
      [&] {
        t.clear();
        t.backward(sum(dropout(t.watch(p), 0.5, ++seed)));
      },
      2, 6);
  EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace tapegrad
