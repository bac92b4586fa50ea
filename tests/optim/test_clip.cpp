// clip_grad_norm against torch.nn.utils.clip_grad_norm_ (PyTorch 1.13), by hand.
// Shared setup: a.grad = [3, 4], b.grad = [[0, 12]]: the 2-norm of all of them
// is √(9 + 16 + 144) = 13, the 1-norm 19, the max norm 12, the 3-norm ∛1819.
#include <gmock/gmock.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "support/support.hpp"
#include <tapegrad/optim/clip.hpp>

#include "support/alloc_counter.hpp"

namespace tapegrad {
namespace {

using ::testing::StrEq;
using ::testing::ThrowsMessage;

constexpr double kInf = std::numeric_limits<double>::infinity();

template <class T>
struct Grads {
  Parameter<T> a{Tensor<T>{0, 0}, "a"}, b{Tensor<T>{{0, 0}}, "b"};
  Grads() {
    a.grad = Tensor<T>{3, 4};
    b.grad = Tensor<T>{{0, 12}};
  }
  std::vector<Parameter<T>*> params() { return {&a, &b}; }
};

TEST(ClipGradNorm, ScalesByMaxNormOverTheTotalPlusEpsilon) {
  Grads<double> g;
  EXPECT_EQ(clip_grad_norm(g.params(), 6.5), 13.0);  // returns the norm before clipping
  // coefficient 6.5 / (13 + 1e-6) = 0.49999996153846454
  const double c = 6.5 / (13 + 1e-6);
  EXPECT_NEAR(c, 0.49999996153846454, 1e-17);
  EXPECT_DOUBLE_EQ(g.a.grad(0), 3 * c);  // 1.4999998846153937
  EXPECT_DOUBLE_EQ(g.a.grad(1), 4 * c);
  EXPECT_EQ(g.b.grad(0, 0), 0.0);
  EXPECT_DOUBLE_EQ(g.b.grad(0, 1), 12 * c);
  EXPECT_NEAR(clip_grad_norm(g.params(), 100.0), 6.5, 1e-6);  // the clipped total is just under max_norm
}

TEST(ClipGradNorm, BelowTheLimitNothingChanges) {
  Grads<float> g;
  EXPECT_EQ(clip_grad_norm(g.params(), 13.5), 13.0);
  EXPECT_EQ(g.a.grad(0), 3.0f);  // exactly: coefficient 13.5 / 13.000001 > 1 is not applied
  EXPECT_EQ(g.b.grad(0, 1), 12.0f);
  EXPECT_EQ(clip_grad_norm(g.params(), kInf), 13.0);  // max_norm = inf never clips
  EXPECT_EQ(g.a.grad(1), 4.0f);
  // At exactly max_norm PyTorch still scales, by 13 / (13 + 1e-6).
  EXPECT_EQ(clip_grad_norm(g.params(), 13.0), 13.0);
  EXPECT_FLOAT_EQ(g.b.grad(0, 1), static_cast<float>(12 * (13 / (13 + 1e-6))));
  EXPECT_LT(g.b.grad(0, 1), 12.0f);
}

TEST(ClipGradNorm, OtherNorms) {
  {
    Grads<double> g;  // max norm: 12; coefficient 6 / (12 + 1e-6)
    EXPECT_EQ(clip_grad_norm(g.params(), 6.0, kInf), 12.0);
    EXPECT_DOUBLE_EQ(g.b.grad(0, 1), 12 * (6 / (12 + 1e-6)));
    EXPECT_DOUBLE_EQ(g.a.grad(0), 3 * (6 / (12 + 1e-6)));
  }
  {
    Grads<double> g;  // 1-norm: 3 + 4 + 0 + 12
    EXPECT_EQ(clip_grad_norm(g.params(), 9.5, 1), 19.0);
    EXPECT_DOUBLE_EQ(g.a.grad(1), 4 * (9.5 / (19 + 1e-6)));
  }
  {
    Grads<double> g;  // 3-norm: (27 + 64 + 1728)^(1/3) = 12.207054953820636
    EXPECT_NEAR(clip_grad_norm(g.params(), 100.0, 3), 12.207054953820636, 1e-13);
    EXPECT_EQ(g.a.grad(0), 3.0);
  }
  Grads<float> f;  // float gradients, norm accumulated in double
  EXPECT_EQ(clip_grad_norm(f.params(), 1.0, kInf), 12.0);
  EXPECT_FLOAT_EQ(f.b.grad(0, 1), static_cast<float>(12 / (12 + 1e-6)));
  Parameter<double> scalar(Tensor<double>(xt::xarray<double>::from_shape({})), "s");
  scalar.grad() = -2;
  EXPECT_EQ(clip_grad_norm<double>({&scalar}, 1.0), 2.0);
  EXPECT_DOUBLE_EQ(scalar.grad(), -2 * (1 / (2 + 1e-6)));
  EXPECT_EQ(clip_grad_norm<double>({}, 1.0), 0.0);  // nothing to clip: 0, as PyTorch
}

// PyTorch 1.13, error_if_nonfinite=False (its default): no error; the same
// coefficient is applied. A NaN total gives NaN / NaN gradients; an infinite
// total gives the coefficient 0, so finite entries become 0 and infinite ones
// 0·inf = NaN.
TEST(ClipGradNorm, NonFiniteTotalsFollowPyTorch) {
  Grads<double> g;
  g.a.grad(1) = std::nan("");
  EXPECT_TRUE(std::isnan(clip_grad_norm(g.params(), 1.0)));
  for (double v : {g.a.grad(0), g.a.grad(1), g.b.grad(0, 0), g.b.grad(0, 1)}) EXPECT_TRUE(std::isnan(v));
  Grads<float> f;
  f.a.grad(1) = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(clip_grad_norm(f.params(), 1.0), kInf);
  EXPECT_EQ(f.a.grad(0), 0.0f);
  EXPECT_TRUE(std::isnan(f.a.grad(1)));
  EXPECT_EQ(f.b.grad(0, 1), 0.0f);
  Grads<float> m;  // the max norm sees the NaN wherever it is
  m.b.grad(0, 0) = std::nanf("");
  EXPECT_TRUE(std::isnan(clip_grad_norm(m.params(), 1.0, kInf)));
  EXPECT_TRUE(std::isnan(m.a.grad(0)));
}

TEST(ClipGradNorm, ErrorsNameTheFunction) {
  Grads<double> g;
  EXPECT_THAT([&] { clip_grad_norm(g.params(), -1.0); },
              ThrowsMessage<Error>(StrEq("clip_grad_norm: max_norm must be >= 0, got -1")));
  EXPECT_THAT([&] { clip_grad_norm(g.params(), std::nan("")); },
              ThrowsMessage<Error>(StrEq("clip_grad_norm: max_norm must be >= 0, got nan")));
  for (double p : {0.0, -2.0, -kInf})
    EXPECT_THAT([&] { clip_grad_norm(g.params(), 1.0, p); },
                ThrowsMessage<Error>(::testing::StartsWith("clip_grad_norm: norm_type must be > 0 (or inf), got ")));
  EXPECT_THAT([&] { clip_grad_norm<double>({&g.a, nullptr}, 1.0); },
              ThrowsMessage<Error>(StrEq("clip_grad_norm: parameter 1 is a null pointer")));
  EXPECT_THAT([&] { clip_grad_norm<double>({&g.a, &g.b, &g.a}, 1.0); },
              ThrowsMessage<Error>(StrEq("clip_grad_norm: parameter 2 ('a') is the same as parameter 0 (its gradient "
                                         "would count and be scaled twice)")));
  EXPECT_EQ(g.a.grad(0), 3.0);  // untouched by the refused calls
}

TEST(ClipGradNorm, EdgeArgumentsBehaveAsPyTorch) {
  // torch.nn.utils.clip_grad_norm_ (1.13) on grad [3, 4]: max_norm 0 returns 5 and
  // zeroes the gradient; an empty list returns 0; max_norm inf changes nothing.
  Parameter<double> p(Tensor<double>{1.0, 1.0}, "p");
  p.grad = Tensor<double>{3.0, 4.0};
  EXPECT_EQ(clip_grad_norm<double>({&p}, 0.0), 5.0);
  EXPECT_EQ(p.grad, (Tensor<double>{0.0, 0.0}));
  EXPECT_EQ(clip_grad_norm<double>({}, 1.0), 0.0);
  p.grad = Tensor<double>{3.0, 4.0};
  EXPECT_EQ(clip_grad_norm<double>({&p}, kInf), 5.0);
  EXPECT_EQ(p.grad, (Tensor<double>{3.0, 4.0}));
}

TEST(ClipGradNorm, AllocatesNothing) {
  Parameter<float> w(Tensor<float>::from_shape({64, 10}), "w"), b(Tensor<float>::from_shape({10}), "b");
  const std::vector<Parameter<float>*> ps = {&w, &b};
  auto step = [&] {
    w.grad.fill(0.5f);
    b.grad.fill(-1.0f);
    clip_grad_norm(ps, 1.0);
    clip_grad_norm(ps, 1.0, kInf);
  };
  EXPECT_EQ(testing::allocations_after_warmup(g_allocations, g_counting, step, 2, 10), 0);
  EXPECT_LT(w.grad(0, 0), 0.5f);
}

}  // namespace
}  // namespace tapegrad
