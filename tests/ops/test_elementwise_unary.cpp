// abs, sqrt, pow, clamp: values by hand, the kinks' subgradients exactly, and
// gradcheck in double over shapes with size-1 and zero-length axes.
#include <tapegrad/ops/elementwise.hpp>

#include <cmath>
#include <limits>

#include <gmock/gmock.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::contracted;
using testing::error_of;
using testing::random_away_from_zero;
using testing::random_tensor;

constexpr double kInf = std::numeric_limits<double>::infinity();


// d f(x) / dx at x, one element per entry, by backward with seed 1.
template <class F>
Tensor<double> grad_at(const Tensor<double>& x, F f) {
  Parameter<double> p(x);
  Tape<double> t;
  Var<double> y = f(t.watch(p));
  t.backward(y, Tensor<double>(xt::ones<double>(y.value().shape())));
  return p.grad;
}

TEST(Unary, ForwardHandComputed) {
  Tape<double> t;
  Var<double> x = t.constant(Tensor<double>{-2.0, -0.5, 0.0, 0.25, 4.0});
  EXPECT_TRUE(all_close(abs(x).value(), Tensor<double>{2.0, 0.5, 0.0, 0.25, 4.0}, 0, 0));
  EXPECT_TRUE(all_close(pow(x, 2.0).value(), Tensor<double>{4.0, 0.25, 0.0, 0.0625, 16.0}, 0, 0));
  EXPECT_TRUE(all_close(pow(x, 3.0).value(), Tensor<double>{-8.0, -0.125, 0.0, 0.015625, 64.0}, 0, 0));
  EXPECT_TRUE(all_close(clamp(x, -1.0, 1.0).value(), Tensor<double>{-1.0, -0.5, 0.0, 0.25, 1.0}, 0, 0));
  EXPECT_TRUE(all_close(clamp(x, 0.0, kInf).value(), Tensor<double>{0.0, 0.0, 0.0, 0.25, 4.0}, 0, 0));
  Var<double> pos = t.constant(Tensor<double>{0.0, 0.25, 4.0, 9.0});
  EXPECT_TRUE(all_close(sqrt(pos).value(), Tensor<double>{0.0, 0.5, 2.0, 3.0}, 0, 0));
  EXPECT_TRUE(all_close(pow(pos, 0.5).value(), Tensor<double>{0.0, 0.5, 2.0, 3.0}, 0, 0));
  EXPECT_TRUE(std::isnan(sqrt(t.constant(Tensor<double>{-1.0})).value()(0)));  // as NumPy
}

TEST(Unary, SubgradientsAtKinksAreExact) {
  // abs'(0) = 0; clamp passes g at its bounds (lo ≤ x ≤ hi, as PyTorch) and 0 outside
  EXPECT_EQ(grad_at(Tensor<double>{-3.0, 0.0, -0.0, 2.0}, [](const Var<double>& v) { return abs(v); }),
            (Tensor<double>{-1.0, 0.0, 0.0, 1.0}));
  EXPECT_EQ(grad_at(Tensor<double>{-2.0, -1.0, 0.0, 1.0, 2.0},
                    [](const Var<double>& v) { return clamp(v, -1.0, 1.0); }),
            (Tensor<double>{0.0, 1.0, 1.0, 1.0, 0.0}));
  // lo > hi: every element is hi and nothing passes (PyTorch's clamp)
  Tape<double> t;
  EXPECT_EQ(clamp(t.constant(Tensor<double>{-5.0, 0.0, 5.0}), 2.0, 1.0).value(), (Tensor<double>{1.0, 1.0, 1.0}));
  EXPECT_EQ(grad_at(Tensor<double>{-5.0, 1.5, 5.0}, [](const Var<double>& v) { return clamp(v, 2.0, 1.0); }),
            (Tensor<double>{0.0, 0.0, 0.0}));
  // pow(x, 0) has gradient 0 even at x = 0; sqrt'(0) = +∞
  EXPECT_EQ(grad_at(Tensor<double>{0.0, 2.0}, [](const Var<double>& v) { return pow(v, 0.0); }),
            (Tensor<double>{0.0, 0.0}));
  EXPECT_EQ(grad_at(Tensor<double>{0.0, 4.0}, [](const Var<double>& v) { return sqrt(v); })(0), kInf);
  EXPECT_EQ(grad_at(Tensor<double>{0.0, 4.0}, [](const Var<double>& v) { return sqrt(v); })(1), 0.25);
  // pow: d x³ = 3x²
  EXPECT_EQ(grad_at(Tensor<double>{-2.0, 0.5}, [](const Var<double>& v) { return pow(v, 3.0); }),
            (Tensor<double>{12.0, 0.75}));
}

TEST(Unary, GradcheckOverShapes) {
  std::uint64_t seed = 300;
  for (const Shape& shape : std::vector<Shape>{{6}, {3, 4}, {2, 1, 3}, {1, 1}}) {
    const Tensor<double> x = random_away_from_zero(shape, seed, 0.2);
    const Tensor<double> pos = random_tensor(shape, seed + 1, 0.5, 2.0);
    auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
      return abs(v[0]) * 0.5 + clamp(v[0], -0.6, 0.7) + pow(v[1], 1.5) + sqrt(v[1]) + pow(v[0], -2.0);
    };
    const GradcheckReport rep = gradcheck(f, {x, pos}, contracted());
    EXPECT_TRUE(rep.passed) << rep.summary();
    EXPECT_EQ(rep.checked + rep.skipped_kinks, x.size() + pos.size());
    seed += 2;
  }
}

TEST(Unary, GradcheckSkipsTheKinks) {
  Tensor<double> x = random_away_from_zero({2, 4}, 17, 0.2);
  x(0, 1) = 0.0;   // abs's kink
  x(1, 2) = 0.5;   // clamp's upper bound
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return abs(v[0]) + clamp(v[0], -2.0, 0.5); };
  const GradcheckReport rep = gradcheck(f, {x}, contracted());
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.skipped_kinks, 2u);
}

TEST(Unary, ZeroLengthInputs) {
  Parameter<double> x(Tensor<double>(xt::zeros<double>({2, 0})));
  Tape<double> t;
  Var<double> y = clamp(pow(sqrt(abs(t.watch(x))), 2.0), 0.0, 1.0);
  EXPECT_EQ(y.value().shape(), (std::vector<std::size_t>{2, 0}));
  t.backward(y, Tensor<double>(xt::zeros<double>({2, 0})));
  EXPECT_EQ(x.grad.shape(), (std::vector<std::size_t>{2, 0}));
}

TEST(Unary, FloatAgreesWithDouble) {
  Tape<float> t;
  Var<float> x = t.constant(Tensor<float>{0.3f, 1.7f, 2.5f});
  EXPECT_NEAR(pow(x, 2.5f).value()(1), std::pow(1.7, 2.5), 1e-5);
  EXPECT_NEAR(sqrt(x).value()(2), std::sqrt(2.5), 1e-6);
}

TEST(UnaryErrors, NameTheOpAndTheValue) {
  Tape<double> t;
  Var<double> x = t.constant(Tensor<double>{1.0});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(error_of([&] { clamp(x, nan, 1.0); }), "clamp: bounds must not be NaN, got [nan, 1]");
  EXPECT_EQ(error_of([&] { pow(x, nan); }), "pow: the exponent is NaN");
  Var<double> empty;
  EXPECT_THAT(error_of([&] { abs(empty); }), HasSubstr("abs: Var is empty"));
  t.clear();
  EXPECT_THAT(error_of([&] { sqrt(x); }), HasSubstr("sqrt: stale Var #0"));
}

}  // namespace
}  // namespace tapegrad
