// logsumexp, softmax, log_softmax: values by hand, stability at ±1e4 in float,
// gradcheck along every axis in double.
#include <tapegrad/ops/activation.hpp>

#include <cmath>
#include <limits>

#include <gmock/gmock.h>

#include <tapegrad/ops/reduce.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::contracted;
using testing::error_of;
using testing::random_tensor;
using testing::shaped;


TEST(Softmax, ForwardHandComputed) {
  Tape<double> t;
  Var<double> x = t.constant(shaped({2, 3}, {0, std::log(2.0), std::log(5.0), 1, 1, 1}));
  EXPECT_TRUE(all_close(softmax(x, 1).value(), shaped({2, 3}, {0.125, 0.25, 0.625, 1 / 3.0, 1 / 3.0, 1 / 3.0}), 1e-15,
                        1e-15));
  EXPECT_TRUE(all_close(logsumexp(x, 1).value(), Tensor<double>{std::log(8.0), 1 + std::log(3.0)}, 1e-15, 1e-15));
  EXPECT_TRUE(all_close(log_softmax(x, -1).value(),
                        shaped({2, 3}, {-std::log(8.0), std::log(0.25), std::log(0.625), -std::log(3.0),
                                        -std::log(3.0), -std::log(3.0)}),
                        1e-15, 1e-15));
  EXPECT_EQ(logsumexp(x, 0, true).value().shape(), (std::vector<std::size_t>{1, 3}));
  // along axis 0: columns normalise
  EXPECT_TRUE(all_close(sum(softmax(x, 0), 0).value(), Tensor<double>{1.0, 1.0, 1.0}, 1e-15, 1e-15));
}

TEST(Softmax, StableAtLargeScoresInFloat) {
  Tape<float> t;
  Var<float> x = t.constant(Tensor<float>{{1e4f, -1e4f, 1e4f - 1.0f}, {-1e4f, -1e4f, -1e4f}});
  const Tensor<float> y = softmax(x, 1).value();
  EXPECT_NEAR(y(0, 0), 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_EQ(y(0, 1), 0.0f);
  EXPECT_NEAR(y(1, 2), 1.0 / 3.0, 1e-7);
  const Tensor<float> l = logsumexp(x, 1).value();
  EXPECT_NEAR(l(0), 1e4 + std::log1p(std::exp(-1.0)), 1e-2);
  EXPECT_NEAR(l(1), -1e4 + std::log(3.0), 1e-2);
  const Tensor<float> ls = log_softmax(x, 1).value();
  EXPECT_NEAR(ls(0, 1), -2e4 - std::log1p(std::exp(-1.0)), 1e-1);
  for (float v : ls) EXPECT_TRUE(std::isfinite(v));
}

TEST(Softmax, InfiniteAndEmptySlices) {
  const double inf = std::numeric_limits<double>::infinity();
  Parameter<double> p(shaped({2, 2}, {-inf, -inf, 0.0, -inf}));
  Tape<double> t;
  Var<double> l = logsumexp(t.watch(p), 1);
  EXPECT_EQ(l.value()(0), -inf);  // log Σ exp(−∞) = −∞, not NaN
  EXPECT_EQ(l.value()(1), 0.0);
  t.backward(l, Tensor<double>{1.0, 1.0});
  EXPECT_EQ(p.grad, shaped({2, 2}, {0, 0, 1, 0}));
  Tape<double> u;
  Var<double> e = logsumexp(u.constant(Tensor<double>(xt::zeros<double>({2, 0}))), 1);
  EXPECT_EQ(e.value(), (Tensor<double>{-inf, -inf}));  // as torch.logsumexp
}

TEST(Softmax, GradcheckAlongEveryAxis) {
  std::uint64_t seed = 700;
  for (const Shape& shape : std::vector<Shape>{{5}, {3, 4}, {2, 3, 4}, {1, 3}, {3, 1}}) {
    const Tensor<double> x = random_tensor(shape, seed, -3.0, 3.0);
    for (std::ptrdiff_t axis = 0; axis < static_cast<std::ptrdiff_t>(shape.size()); ++axis) {
      auto f = [axis](Tape<double>&, const std::vector<Var<double>>& v) {
        return softmax(v[0], axis) * 3.0 + log_softmax(v[0], axis);
      };
      const GradcheckReport rep = gradcheck(f, {x}, contracted());
      EXPECT_TRUE(rep.passed) << "axis " << axis << ": " << rep.summary();
      auto g = [axis](Tape<double>&, const std::vector<Var<double>>& v) { return logsumexp(v[0], axis, axis % 2 == 0); };
      const GradcheckReport lse = gradcheck(g, {x}, contracted());
      EXPECT_TRUE(lse.passed) << "axis " << axis << ": " << lse.summary();
      EXPECT_EQ(lse.checked, x.size());
    }
    seed += 1;
  }
}

TEST(SoftmaxErrors, AxisOutOfRange) {
  Tape<double> t;
  Var<double> x = t.constant(Tensor<double>(xt::zeros<double>({2, 3})));
  EXPECT_EQ(error_of([&] { softmax(x, 2); }), "softmax: axis 2 is out of range for shape (2, 3)");
  EXPECT_EQ(error_of([&] { log_softmax(x, -3); }), "log_softmax: axis -3 is out of range for shape (2, 3)");
  EXPECT_EQ(error_of([&] { logsumexp(x, 5); }), "logsumexp: axis 5 is out of range for shape (2, 3)");
  EXPECT_EQ(error_of([&] { softmax(x, std::numeric_limits<std::ptrdiff_t>::min()); }),
            "softmax: axis -9223372036854775808 is out of range for shape (2, 3)");
  // a scalar has no axis (PyTorch takes dim 0 or -1 of a 0-d tensor and returns 1 or 0)
  const Var<double> s = t.constant(Tensor<double>(xt::xarray<double>::from_shape({})));
  EXPECT_EQ(error_of([&] { softmax(s, 0); }), "softmax: axis 0 is out of range for shape ()");
  EXPECT_EQ(error_of([&] { log_softmax(s, -1); }), "log_softmax: axis -1 is out of range for shape ()");
}

}  // namespace
}  // namespace tapegrad
