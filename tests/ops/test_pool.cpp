#include <gmock/gmock.h>

#include <cmath>
#include <functional>
#include <limits>

#include <tapegrad/ops/pool.hpp>
#include "ops/pool_reference.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::all_close;
using testing::error_of;
using testing::gradcheck_passes;
using testing::random_tensor;
using testing::shaped;

Tensor<double> fill(const Shape& shape, const std::function<double(double)>& f) {
  Tensor<double> t = Tensor<double>::from_shape(shape);
  for (std::size_t k = 0; k < t.size(); ++k) t.data()[k] = f(double(k));
  return t;
}
double fx(double k) { return 2 * std::sin(0.37 * k + 0.1); }
double fg(double k) { return std::cos(0.11 * k); }

TEST(MaxPool2d, ForwardByHandAndStrideDefaultsToTheKernel) {
  Tape<double> t;
  const Var<double> x = t.constant(testing::iota({1, 1, 4, 4}));
  EXPECT_TRUE(all_close(max_pool2d(x, 2).value(), shaped({1, 1, 2, 2}, {5, 7, 13, 15}), 0, 0));
  EXPECT_TRUE(all_close(max_pool2d(x, 2, 1).value(), shaped({1, 1, 3, 3}, {5, 6, 7, 9, 10, 11, 13, 14, 15}), 0, 0));
  EXPECT_TRUE(all_close(max_pool2d(x, {1, 3}, {{3, 1}}).value(), shaped({1, 1, 2, 2}, {2, 3, 14, 15}), 0, 0));
  // padding is −∞: it never wins, even over negative inputs (PyTorch: all −1)
  const Var<double> neg = t.constant(shaped({1, 1, 2, 2}, {-1, -2, -3, -4}));
  EXPECT_TRUE(all_close(max_pool2d(neg, 3, 1, 1).value(), shaped({1, 1, 2, 2}, {-1, -1, -1, -1}), 0, 0));
  // stride None with padding 1, as F.max_pool2d(x, 2, padding=1)
  EXPECT_TRUE(all_close(max_pool2d(x, 2, std::nullopt, 1).value(), shaped({1, 1, 3, 3}, {0, 2, 3, 8, 10, 11, 12, 14, 15}), 0, 0));
}

TEST(MaxPool2d, TiesSendTheGradientToTheFirstMaximum) {
  // PyTorch 1.13 F.max_pool2d(x, 2, 1) with these ties gives x.grad = [0, 11, 0, 100, 0, 1000, 0, 0, 0]:
  // each window's gradient goes to its first maximum in row-major order, overlapping windows add
  Parameter<double> x(shaped({1, 1, 3, 3}, {1, 3, 3, 3, 2, 3, 0, 3, 1}));
  Tape<double> t;
  const Var<double> y = max_pool2d(t.watch(x), 2, 1);
  EXPECT_TRUE(all_close(y.value(), shaped({1, 1, 2, 2}, {3, 3, 3, 3}), 0, 0));
  t.backward(y, shaped({1, 1, 2, 2}, {1, 10, 100, 1000}));
  EXPECT_TRUE(all_close(x.grad, shaped({1, 1, 3, 3}, {0, 11, 0, 100, 0, 1000, 0, 0, 0}), 0, 0));
}

TEST(MaxPool2d, AllMinusInfinityGivesTheFirstElementOfTheWindow) {
  const double inf = std::numeric_limits<double>::infinity();
  Parameter<double> x(shaped({1, 1, 1, 4}, {-inf, -inf, -inf, -inf}));
  Tape<double> t;
  const Var<double> y = max_pool2d(t.watch(x), {1, 4}, std::nullopt, {0, 1});  // as PyTorch: grad [1, 0, 0, 0]
  t.backward(sum(y));
  EXPECT_EQ(y.value()(0, 0, 0, 0), -inf);
  EXPECT_TRUE(all_close(x.grad, shaped({1, 1, 1, 4}, {1, 0, 0, 0}), 0, 0));
}

TEST(MaxPool2d, NaNIsTheMaximumAndItsLastNaNTakesTheGradient) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // PyTorch 1.13: y = [nan, nan], x.grad = [0, 0, 1, 0, 0, 1, 0, 0]
  Parameter<double> x(shaped({1, 1, 2, 4}, {nan, 1, nan, 2, 5, nan, 0, 1}));
  Tape<double> t;
  const Var<double> y = max_pool2d(t.watch(x), 2);
  EXPECT_TRUE(std::isnan(y.value()(0, 0, 0, 0)) && std::isnan(y.value()(0, 0, 0, 1)));
  t.backward(sum(y));
  EXPECT_TRUE(all_close(x.grad, shaped({1, 1, 2, 4}, {0, 0, 1, 0, 0, 1, 0, 0}), 0, 0));
}

// Kernel 2, stride 2, no padding runs an unrolled scan of its own (ops/pool.cpp): it
// must pick the same element as the rule written out here — row-major within the
// window, a strictly greater value or a NaN takes over — on ties, NaNs and −∞, with
// odd planes whose last row and column no window covers.
TEST(MaxPool2d, TwoByTwoFastPathTakesTheScansElement) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::vector<double> pool = {-1, 0, 1, 1, 0, -inf, nan, 2, 2};
  for (const Shape& shape : {Shape{3, 2, 5, 7}, Shape{1, 1, 2, 2}, Shape{2, 1, 4, 6}}) {
    Tensor<double> xv = Tensor<double>::from_shape(shape);
    std::uint64_t k = 7;
    for (double& v : xv) v = pool[(k = k * 6364136223846793005ULL + 1442695040888963407ULL) >> 61];
    Parameter<double> x(xv);
    Tape<double> t;
    const Var<double> y = max_pool2d(t.watch(x), 2);
    const Shape out_shape(y.value().shape().begin(), y.value().shape().end());
    const Tensor<double> g = testing::iota(out_shape) + 1.0;  // distinct upstream values
    t.backward(y, g);
    const std::size_t H = shape[2], W = shape[3], OH = H / 2, OW = W / 2;
    Tensor<double> dx = xt::zeros<double>(shape);
    for (std::size_t p = 0; p < shape[0] * shape[1]; ++p)
      for (std::size_t oh = 0; oh < OH; ++oh)
        for (std::size_t ow = 0; ow < OW; ++ow) {
          double best = -inf;
          std::size_t at = 2 * oh * W + 2 * ow;
          for (std::size_t i = 2 * oh; i < 2 * oh + 2; ++i)
            for (std::size_t j = 2 * ow; j < 2 * ow + 2; ++j) {
              const double v = xv.data()[p * H * W + i * W + j];
              if (v > best || std::isnan(v)) best = v, at = i * W + j;
            }
          const double out = y.value().data()[p * OH * OW + oh * OW + ow];
          EXPECT_TRUE(out == best || (std::isnan(out) && std::isnan(best))) << shape_str(shape) << " plane " << p;
          dx.data()[p * H * W + at] += g.data()[p * OH * OW + oh * OW + ow];
        }
    EXPECT_TRUE(all_close(x.grad, dx, 0, 0)) << shape_str(shape);
  }
}

TEST(AvgPool2d, ForwardByHandCountsThePadding) {
  Tape<double> t;
  const Var<double> x = t.constant(testing::iota({1, 1, 4, 4}));
  EXPECT_TRUE(all_close(avg_pool2d(x, 2).value(), shaped({1, 1, 2, 2}, {2.5, 4.5, 10.5, 12.5}), 0, 0));
  // count_include_pad: a 3×3 window at padding 1 divides its in-plane sum by 9 (corner: 0+1+4+5)
  const Tensor<double> y = avg_pool2d(x, 3, 2, 1).value();
  EXPECT_TRUE(all_close(y, shaped({1, 1, 2, 2}, {10.0 / 9, 24.0 / 9, 51.0 / 9, 90.0 / 9}), 1e-15, 1e-15));
  // PyTorch: F.avg_pool2d([[-1, -2], [-3, -4]], 3, 1, 1) is −10/9 everywhere
  const Var<double> neg = t.constant(shaped({1, 1, 2, 2}, {-1, -2, -3, -4}));
  EXPECT_TRUE(all_close(avg_pool2d(neg, 3, 1, 1).value(), Tensor<double>(xt::full_like(neg.value(), -10.0 / 9)), 0, 0));
}

TEST(AvgPool2d, GradientByHand) {
  Parameter<double> x(testing::iota({1, 1, 3, 3}));
  Tape<double> t;
  t.backward(sum(avg_pool2d(t.watch(x), 2, 1)));  // each input counts once per window holding it, /4
  EXPECT_TRUE(all_close(x.grad, shaped({1, 1, 3, 3}, {0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25}), 0, 0));
}

TEST(Pool2d, MatchesPyTorch) {
  for (bool is_max : {true, false}) {
    Parameter<double> x(fill({2, 2, 5, 6}, fx));
    Tape<double> t;
    const Var<double> y = is_max ? max_pool2d(t.watch(x), {3, 2}, {{2, 1}}, 1) : avg_pool2d(t.watch(x), {3, 2}, {{2, 1}}, 1);
    ASSERT_EQ(y.value().shape(), (Tensor<double>::shape_type{2, 2, 3, 7}));
    t.backward(y, fill({2, 2, 3, 7}, fg));
    // (avg: a window summed in another order than PyTorch; a near-zero mean differs by ~1e-14)
    EXPECT_TRUE(all_close(y.value(), shaped({2, 2, 3, 7}, is_max ? testing::kMaxPoolY : testing::kAvgPoolY), 1e-13, 1e-13));
    EXPECT_TRUE(all_close(x.grad, shaped({2, 2, 5, 6}, is_max ? testing::kMaxPoolDx : testing::kAvgPoolDx), 1e-14, 1e-14));
  }
}

struct Case {
  Shape x;
  Pair2 kernel;
  std::optional<Pair2> stride;
  Pair2 padding;
};
const std::vector<Case> kCases = {
    {{2, 3, 4, 4}, 2, std::nullopt, 0}, {{1, 1, 5, 5}, 3, 2, 1},     {{2, 2, 7, 5}, {3, 2}, {{1, 2}}, {1, 0}},
    {{1, 2, 5, 3}, 1, 2, 0},            {{3, 1, 6, 6}, 3, 1, 1},     {{1, 1, 1, 1}, 1, std::nullopt, 0},
};

TEST(Pool2d, GradcheckAtManyGeometries) {
  std::uint64_t seed = 30;
  for (const Case& c : kCases)
    for (bool is_max : {true, false}) {
      auto f = [c, is_max](Tape<double>&, const std::vector<Var<double>>& v) {
        const Var<double> h = v[0] * 1.5;  // pool's backward adds (fresh = false): h also feeds h·h
        const Var<double> y = is_max ? max_pool2d(h, c.kernel, c.stride, c.padding)
                                     : avg_pool2d(h, c.kernel, c.stride, c.padding);
        return testing::weighted_sum(y, 5) + sum(h * h);
      };
      const GradcheckReport rep = gradcheck(f, {random_tensor(c.x, seed++)});
      EXPECT_TRUE(rep.passed) << rep.summary() << " " << shape_str(c.x);
      EXPECT_EQ(rep.skipped_kinks, 0u);  // distinct random values: no tie within ±h
    }
}

TEST(Pool2d, GradcheckSkipsTiesInsteadOfFailing) {
  Tensor<double> x = random_tensor({1, 1, 4, 4}, 3);
  x(0, 0, 0, 1) = x(0, 0, 0, 0) = 5;  // a tie in the first window: ±h moves the argmax
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return testing::weighted_sum(max_pool2d(v[0], 2), 4); };
  const GradcheckReport rep = gradcheck(f, {x});
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_GE(rep.skipped_kinks, 1u);
}

TEST(Pool2d, BackwardTwiceAddsAndFloatAgreesWithDouble) {
  for (bool is_max : {true, false}) {
    Parameter<double> x(random_tensor({2, 3, 5, 5}, 8));
    Parameter<float> xf(Tensor<float>(xt::cast<float>(x.value)));
    Tape<double> t;
    Tape<float> tf;
    const Var<double> y = is_max ? max_pool2d(t.watch(x), 3, 2, 1) : avg_pool2d(t.watch(x), 3, 2, 1);
    const Var<float> yf = is_max ? max_pool2d(tf.watch(xf), 3, 2, 1) : avg_pool2d(tf.watch(xf), 3, 2, 1);
    const Tensor<double> seed = random_tensor({2, 3, 3, 3}, 9);
    t.backward(y, seed);
    tf.backward(yf, Tensor<float>(xt::cast<float>(seed)));
    EXPECT_TRUE(all_close(Tensor<float>(xt::cast<float>(y.value())), yf.value(), 1e-6, 1e-6));
    EXPECT_TRUE(all_close(Tensor<float>(xt::cast<float>(x.grad)), xf.grad, 1e-6, 1e-6));
    const Tensor<double> once = x.grad;
    t.backward(y, seed);
    EXPECT_TRUE(all_close(x.grad, 2.0 * once, 1e-15, 1e-15));
  }
}

TEST(Pool2dErrors, NameTheOpAndTheValues) {
  Tape<double> t;
  const Var<double> x = t.constant(Tensor<double>::from_shape({2, 3, 4, 4}));
  const std::int64_t big = std::int64_t(1) << 62;
  for (const char* op : {"max_pool2d", "avg_pool2d"}) {
    auto pool = [op](const Var<double>& v, Pair2 k, std::optional<Pair2> s = std::nullopt, Pair2 p = 0) {
      return std::string(op) == "max_pool2d" ? max_pool2d(v, k, s, p) : avg_pool2d(v, k, s, p);
    };
    const std::string o = op;
    const std::vector<std::pair<std::function<void()>, std::string>> cases = {
        {[&] { pool(t.constant(Tensor<double>::from_shape({3, 4, 4})), 2); },
         o + ": expected x of shape (N, C, H, W), got (3, 4, 4)"},
        {[&] { pool(t.constant(Tensor<double>::from_shape({1, 0, 4, 4})), 2); },
         o + ": x (1, 0, 4, 4) has an empty channel or spatial axis"},
        {[&] { pool(x, {0, 2}); }, o + ": kernel size must be positive, got (0, 2)"},
        {[&] { pool(x, big); }, o + ": kernel size (4611686018427387904, 4611686018427387904) is too large (at least 2^62)"},
        {[&] { pool(x, 2, {{2, -1}}); }, o + ": stride must be positive, got (2, -1)"},
        {[&] { pool(x, 2, 0); }, o + ": stride must be positive, got (0, 0)"},
        {[&] { pool(x, 2, 2, -1); }, o + ": padding must be non-negative, got (-1, -1)"},
        {[&] { pool(x, 3, 1, {1, 2}); }, o + ": padding (1, 2) must be at most half the kernel (3, 3)"},
        {[&] { pool(x, 5); }, o + ": output size (0, 0) is less than 1 for x (2, 3, 4, 4), kernel (5, 5), stride (5, 5), padding (0, 0)"},
    };
    for (const auto& [call, message] : cases) {
      const std::size_t before = t.size();
      EXPECT_EQ(error_of(call), message);
      for (std::size_t k = before; k < t.size(); ++k)  // the call's constants, and no pool record
        EXPECT_STRNE(t.record(std::uint32_t(k)).op, op) << message;
    }
    EXPECT_THAT(error_of([&] { pool(Var<double>(), 2); }), ::testing::StartsWith(o + ": Var is empty"));
  }
}

TEST(Pool2d, EmptyBatchAndNoGrad) {
  Tape<double> t;
  EXPECT_EQ(max_pool2d(t.constant(Tensor<double>::from_shape({0, 2, 4, 4})), 2).value().shape(),
            (Tensor<double>::shape_type{0, 2, 2, 2}));
  Parameter<double> x(random_tensor({1, 2, 4, 4}, 1));
  const Tensor<double> with_grad = max_pool2d(t.watch(x), 2).value();
  NoGrad<double> off(t);
  const Var<double> y = max_pool2d(t.watch(x), 2);
  EXPECT_TRUE(all_close(y.value(), with_grad, 0, 0));
}

}  // namespace
}  // namespace tapegrad
