#include <gmock/gmock.h>

#include <cmath>
#include <functional>
#include <limits>

#include <tapegrad/ops/conv.hpp>
#include <tapegrad/ops/pool.hpp>
#include "ops/conv_reference.hpp"
#include "support/support.hpp"

#include "support/alloc_counter.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::error_of;
using testing::gradcheck_passes;
using testing::random_tensor;
using testing::shaped;

// t_k = f(k) in row-major order (the formulas conv_reference.hpp's values were computed from)
template <class T = double>
Tensor<T> fill(const Shape& shape, const std::function<double(double)>& f) {
  Tensor<T> t = Tensor<T>::from_shape(shape);
  for (std::size_t k = 0; k < t.size(); ++k) t.data()[k] = static_cast<T>(f(double(k)));
  return t;
}
double fx(double k) { return 2 * std::sin(0.37 * k + 0.1); }
double fw(double k) { return std::cos(0.23 * k + 0.3); }
double fb(double k) { return 0.1 * k - 0.2; }
double fg(double k) { return std::cos(0.11 * k); }

// A direct 7-deep loop: the definition of conv2d (test reference only).
Tensor<double> naive_conv2d(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>* b, Pair2 s,
                            Pair2 p, Pair2 d) {
  const auto N = std::int64_t(x.shape()[0]), C = std::int64_t(x.shape()[1]), H = std::int64_t(x.shape()[2]),
             W = std::int64_t(x.shape()[3]);
  const auto O = std::int64_t(w.shape()[0]), KH = std::int64_t(w.shape()[2]), KW = std::int64_t(w.shape()[3]);
  const std::int64_t OH = (H + 2 * p.h - d.h * (KH - 1) - 1) / s.h + 1, OW = (W + 2 * p.w - d.w * (KW - 1) - 1) / s.w + 1;
  Tensor<double> y = Tensor<double>::from_shape({std::size_t(N), std::size_t(O), std::size_t(OH), std::size_t(OW)});
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t i = 0; i < OH; ++i)
        for (std::int64_t j = 0; j < OW; ++j) {
          double acc = b ? (*b)(o) : 0.0;
          for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t u = 0; u < KH; ++u)
              for (std::int64_t v = 0; v < KW; ++v) {
                const std::int64_t ih = i * s.h - p.h + u * d.h, iw = j * s.w - p.w + v * d.w;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W) acc += w(o, c, u, v) * x(n, c, ih, iw);
              }
          y(n, o, i, j) = acc;
        }
  return y;
}

TEST(Conv2d, ForwardByHand) {
  Tape<double> t;
  const Var<double> x = t.constant(shaped({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const Var<double> w = t.constant(shaped({1, 1, 2, 2}, {1, 2, 3, 4}));
  const Var<double> b = t.constant(Tensor<double>{0.5});
  EXPECT_TRUE(all_close(conv2d(x, w).value(), shaped({1, 1, 2, 2}, {37, 47, 67, 77}), 0, 0));
  EXPECT_TRUE(all_close(conv2d(x, w, b).value(), shaped({1, 1, 2, 2}, {37.5, 47.5, 67.5, 77.5}), 0, 0));
  // stride 2, padding 1: windows at (−1, −1), (−1, 1), (1, −1), (1, 1) of the input
  EXPECT_TRUE(all_close(conv2d(x, w, 2, 1).value(), shaped({1, 1, 2, 2}, {4, 18, 36, 77}), 0, 0));
  // dilation 2: the kernel taps the four corners, 1·1 + 2·3 + 3·7 + 4·9
  EXPECT_TRUE(all_close(conv2d(x, w, Conv2dOptions().dilation(2)).value(), shaped({1, 1, 1, 1}, {64}), 0, 0));
}

TEST(Conv2d, GradientByHand) {
  Parameter<double> x(shaped({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  Parameter<double> w(shaped({1, 1, 2, 2}, {1, 2, 3, 4}));
  Parameter<double> b(Tensor<double>{0.5});
  Tape<double> t;
  t.backward(sum(conv2d(t.watch(x), t.watch(w), t.watch(b))));
  // dW[p][q] = Σ of the inputs that tap p, q; dx = how many outputs use each input, times w
  EXPECT_TRUE(all_close(w.grad, shaped({1, 1, 2, 2}, {12, 16, 24, 28}), 0, 0));
  EXPECT_TRUE(all_close(x.grad, shaped({1, 1, 3, 3}, {1, 3, 2, 4, 10, 6, 3, 7, 4}), 0, 0));
  EXPECT_TRUE(all_close(b.grad, Tensor<double>{4}, 0, 0));
}

TEST(Conv2d, MatchesPyTorch) {
  // conv_reference.hpp: F.conv2d with stride (2, 1), padding (1, 2), dilation (1, 2), bias
  Parameter<double> x(fill({2, 2, 5, 4}, fx)), w(fill({3, 2, 3, 2}, fw)), b(fill({3}, fb));
  Tape<double> t;
  const Var<double> y = conv2d(t.watch(x), t.watch(w), t.watch(b), {2, 1}, {1, 2}, {1, 2});
  ASSERT_EQ(y.value().shape(), (Tensor<double>::shape_type{2, 3, 3, 6}));
  t.backward(y, fill({2, 3, 3, 6}, fg));
  EXPECT_TRUE(all_close(y.value(), shaped({2, 3, 3, 6}, testing::kTorchY), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(x.grad, shaped({2, 2, 5, 4}, testing::kTorchDx), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(w.grad, shaped({3, 2, 3, 2}, testing::kTorchDw), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(b.grad, shaped({3}, testing::kTorchDb), 1e-12, 1e-12));
}

struct Case {
  Shape x, w;
  Pair2 stride, padding, dilation;
  bool bias;
};

// stride 2, padding, dilation 2, 1×1 (the direct path and not), non-square kernels,
// C = 1, N = 1, odd sizes, with and without bias
const std::vector<Case> kCases = {
    {{2, 2, 5, 5}, {3, 2, 3, 3}, 2, 0, 1, true},   {{1, 2, 4, 4}, {2, 2, 3, 3}, 1, 1, 1, true},
    {{2, 1, 7, 6}, {2, 1, 3, 2}, 1, 1, 2, false},  {{2, 3, 4, 3}, {2, 3, 1, 1}, 1, 0, 1, true},
    {{1, 2, 5, 5}, {2, 2, 1, 1}, 2, 0, 1, false},  {{1, 2, 3, 3}, {3, 2, 1, 1}, 1, 1, 1, true},
    {{1, 2, 6, 5}, {3, 2, 2, 4}, {2, 1}, {1, 2}, 1, true}, {{1, 1, 5, 5}, {1, 1, 3, 3}, 1, 0, 1, false},
    {{3, 3, 7, 5}, {2, 3, 3, 1}, {3, 2}, {0, 1}, {2, 1}, true}, {{1, 1, 1, 1}, {1, 1, 1, 1}, 1, 0, 1, true},
    {{2, 2, 4, 5}, {2, 2, 5, 3}, 1, 2, 1, false},
};

TEST(Conv2d, ForwardEqualsTheDirectLoop) {
  std::uint64_t seed = 10;
  for (const Case& c : kCases) {
    const Tensor<double> x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++);
    const Tensor<double> b = random_tensor({c.w[0]}, seed++);
    Tape<double> t;
    const Var<double> y = c.bias ? conv2d(t.constant(x), t.constant(w), t.constant(b), c.stride, c.padding, c.dilation)
                                 : conv2d(t.constant(x), t.constant(w), c.stride, c.padding, c.dilation);
    EXPECT_TRUE(all_close(y.value(), naive_conv2d(x, w, c.bias ? &b : nullptr, c.stride, c.padding, c.dilation),
                          1e-13, 1e-13))
        << shape_str(c.x) << " * " << shape_str(c.w);
  }
}

TEST(Conv2d, GradcheckAtManyGeometries) {
  std::uint64_t seed = 100;
  for (const Case& c : kCases) {
    auto f = [c](Tape<double>&, const std::vector<Var<double>>& v) {
      return c.bias ? conv2d(v[0], v[1], v[2], c.stride, c.padding, c.dilation)
                    : conv2d(v[0], v[1], c.stride, c.padding, c.dilation);
    };
    std::vector<Tensor<double>> in = {random_tensor(c.x, seed), random_tensor(c.w, seed + 1)};
    if (c.bias) in.push_back(random_tensor({c.w[0]}, seed + 2));
    EXPECT_TRUE(gradcheck_passes(f, in, testing::contracted())) << shape_str(c.x) << " * " << shape_str(c.w);
    seed += 3;
  }
}

TEST(Conv2d, GradcheckWhenTheInputAlsoFeedsAnotherOp) {
  // conv2d's backward runs second into x's gradient (fresh = false): it must add
  for (const Case& c : {kCases[1], kCases[3]}) {  // im2col and direct paths
    auto f = [c](Tape<double>&, const std::vector<Var<double>>& v) {
      const Var<double> h = v[0] * 1.5;
      const Var<double> y = conv2d(h, v[1], v[2], c.stride, c.padding, c.dilation);
      return sum(y * y) + sum(h * h * h);
    };
    EXPECT_TRUE(gradcheck_passes(f, {random_tensor(c.x, 7), random_tensor(c.w, 8), random_tensor({c.w[0]}, 9)}));
  }
}

TEST(Conv2d, BackwardTwiceAddsIntoExistingGradients) {
  for (const Case& c : {kCases[0], kCases[3]}) {
    Parameter<double> x(random_tensor(c.x, 1)), w(random_tensor(c.w, 2)), b(random_tensor({c.w[0]}, 3));
    Tape<double> t;
    const Var<double> y = conv2d(t.watch(x), t.watch(w), t.watch(b), c.stride, c.padding, c.dilation);
    const Tensor<double> seed = random_tensor(to_shape(y.value().shape()), 4);
    t.backward(y, seed);
    const Tensor<double> gx = x.grad, gw = w.grad, gb = b.grad;
    t.backward(y, seed);
    EXPECT_TRUE(all_close(x.grad, 2.0 * gx, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(w.grad, 2.0 * gw, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(b.grad, 2.0 * gb, 1e-12, 1e-12));
  }
}

TEST(Conv2d, FloatAgreesWithDouble) {
  const Case& c = kCases[8];
  const Tensor<double> xd = random_tensor(c.x, 5), wd = random_tensor(c.w, 6), bd = random_tensor({c.w[0]}, 7);
  auto to_float = [](const Tensor<double>& d) { return Tensor<float>(xt::cast<float>(d)); };
  Parameter<double> x(xd), w(wd), b(bd);
  Parameter<float> xf(to_float(xd)), wf(to_float(wd)), bf(to_float(bd));
  Tape<double> t;
  Tape<float> tf;
  const Var<double> y = conv2d(t.watch(x), t.watch(w), t.watch(b), c.stride, c.padding, c.dilation);
  const Var<float> yf = conv2d(tf.watch(xf), tf.watch(wf), tf.watch(bf), c.stride, c.padding, c.dilation);
  t.backward(sum(y * y));
  tf.backward(sum(yf * yf));
  EXPECT_TRUE(all_close(to_float(y.value()), yf.value(), 1e-5, 1e-5));
  EXPECT_TRUE(all_close(to_float(x.grad), xf.grad, 1e-4, 1e-5));
  EXPECT_TRUE(all_close(to_float(w.grad), wf.grad, 1e-4, 1e-5));
  EXPECT_TRUE(all_close(to_float(b.grad), bf.grad, 1e-4, 1e-5));
}

TEST(Conv2d, EmptyBatchGivesAnEmptyOutputAndZeroGradients) {
  Parameter<double> w(random_tensor({3, 2, 3, 3}, 1)), b(random_tensor({3}, 2));
  Tape<double> t;
  const Var<double> y = conv2d(t.constant(Tensor<double>::from_shape({0, 2, 5, 5})), t.watch(w), t.watch(b), 1, 1);
  EXPECT_EQ(y.value().shape(), (Tensor<double>::shape_type{0, 3, 5, 5}));
  w.grad.fill(7);
  t.backward(sum(y));
  EXPECT_TRUE(all_close(w.grad, Tensor<double>(xt::full_like(w.value, 7.0)), 0, 0));
  EXPECT_TRUE(all_close(b.grad, Tensor<double>(xt::zeros<double>({3})), 0, 0));
}

TEST(Conv2d, NoGradComputesTheSameValue) {
  const Case& c = kCases[0];
  Parameter<double> x(random_tensor(c.x, 1)), w(random_tensor(c.w, 2));
  Tape<double> t;
  const Tensor<double> with_grad = conv2d(t.watch(x), t.watch(w), c.stride).value();
  NoGrad<double> off(t);
  EXPECT_TRUE(all_close(conv2d(t.watch(x), t.watch(w), c.stride).value(), with_grad, 0, 0));
}

TEST(Conv2dErrors, NameTheOpAndTheShapes) {
  Tape<double> t;
  auto c = [&t](const Shape& s) { return t.constant(Tensor<double>(xt::zeros<double>(s))); };
  const Var<double> x = c({2, 3, 5, 5}), w = c({4, 3, 3, 3});
  const std::int64_t big = std::int64_t(1) << 62;
  const std::vector<std::pair<std::function<void()>, std::string>> cases = {
      {[&] { conv2d(c({1, 3, 3}), c({1, 1, 2, 2})); }, "conv2d: expected x of shape (N, C, H, W), got (1, 3, 3)"},
      {[&] { conv2d(c({1, 1, 0, 5}), c({1, 1, 1, 1})); },
       "conv2d: x (1, 1, 0, 5) has an empty channel or spatial axis"},
      {[&] { conv2d(x, c({3, 3})); }, "conv2d: expected weight of shape (O, C, KH, KW), got (3, 3)"},
      {[&] { conv2d(x, c({0, 3, 3, 3})); }, "conv2d: weight (0, 3, 3, 3) has no output channels"},
      {[&] { conv2d(x, c({2, 3, 0, 3})); }, "conv2d: weight (2, 3, 0, 3) has an empty kernel"},
      {[&] { conv2d(x, c({4, 2, 3, 3})); }, "conv2d: x (2, 3, 5, 5) has 3 channels but weight (4, 2, 3, 3) expects 2"},
      {[&] { conv2d(x, w, c({3})); }, "conv2d: bias must have shape (4) for weight (4, 3, 3, 3), got (3)"},
      {[&] { conv2d(x, w, c({4, 1})); }, "conv2d: bias must have shape (4) for weight (4, 3, 3, 3), got (4, 1)"},
      {[&] { conv2d(x, w, {0, 1}); }, "conv2d: stride must be positive, got (0, 1)"},
      {[&] { conv2d(x, w, 1, 0, -1); }, "conv2d: dilation must be positive, got (-1, -1)"},
      {[&] { conv2d(x, w, 1, {-1, 0}); }, "conv2d: padding must be non-negative, got (-1, 0)"},
      {[&] { conv2d(x, w, big); },
       "conv2d: stride (4611686018427387904, 4611686018427387904), padding (0, 0) or dilation (1, 1) is too large "
       "(at least 2^62)"},
      {[&] { conv2d(c({1, 1, 2, 5}), c({1, 1, 3, 3})); },
       "conv2d: output size (0, 3) is less than 1 for x (1, 1, 2, 5), weight (1, 1, 3, 3), stride (1, 1), padding "
       "(0, 0), dilation (1, 1)"},
      {[&] { conv2d(x, w, Conv2dOptions().dilation(3)); },
       "conv2d: output size (0, 0) is less than 1 for x (2, 3, 5, 5), weight (4, 3, 3, 3), stride (1, 1), padding "
       "(0, 0), dilation (3, 3)"},
      {[&] { conv2d(x, w, 1, big / 2); },
       "conv2d: the padded input is too large (2^62 or more) for x (2, 3, 5, 5), weight (4, 3, 3, 3), stride (1, 1), "
       "padding (2305843009213693952, 2305843009213693952), dilation (1, 1)"},
      {[&] { conv2d(x, w, 1, big / 4); },
       "conv2d: shape (2305843009213693955, 2305843009213693955) has more elements than fit in size_t"},
      {[&] { conv2d(c({1, 1, 1, 1}), c({1, 1, 1, 1}), 1, 30000); },
       "conv2d: gemm extents C·KH·KW = 1, OH·OW = 60001·60001 or O = 1 exceed int for x (1, 1, 1, 1), weight (1, 1, "
       "1, 1)"},
  };
  for (const auto& [call, message] : cases) {
    const std::size_t before = t.size();
    EXPECT_EQ(error_of(call), message);
    for (std::size_t k = before; k < t.size(); ++k)  // the call's constants, and no conv2d record
      EXPECT_STRNE(t.record(std::uint32_t(k)).op, "conv2d") << message;
  }
  EXPECT_THAT(error_of([&] { conv2d(Var<double>(), w); }), ::testing::StartsWith("conv2d: Var is empty"));
  Tape<double> other;
  EXPECT_THAT(error_of([&] { conv2d(x, other.constant(w.value())); }), ::testing::StartsWith("conv2d: "));
}

TEST(Conv2dSteadyState, AWarmConvPoolStepAllocatesNothing) {
  Parameter<float> w1(Tensor<float>(xt::cast<float>(random_tensor({4, 2, 3, 3}, 1)))), b1(Tensor<float>::from_shape({4}));
  Parameter<float> w2(Tensor<float>(xt::cast<float>(random_tensor({3, 4, 1, 1}, 2))));
  const Tensor<float> x = xt::cast<float>(random_tensor({8, 2, 12, 12}, 3));
  b1.value.fill(0.1f);
  Tape<float> t;
  auto step = [&] {
    t.clear();
    const Var<float> h = max_pool2d(conv2d(t.borrow(x), t.watch(w1), t.watch(b1), 1, 1), 2);
    t.backward(sum(avg_pool2d(conv2d(h, t.watch(w2)), 3, 1, 1)));
  };
  EXPECT_EQ(testing::allocations_after_warmup(g_allocations, g_counting, step, 2, 8), 0);
}

}  // namespace
}  // namespace tapegrad
