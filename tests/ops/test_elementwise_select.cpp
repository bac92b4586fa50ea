// maximum, minimum, where: values by hand, ties split ½–½ exactly, broadcasting,
// gradcheck in double.
#include <tapegrad/ops/elementwise.hpp>

#include <cmath>
#include <limits>

#include <gmock/gmock.h>

#include <tapegrad/ops/indexing.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::contracted;
using testing::error_of;
using testing::random_tensor;
using testing::shaped;


TEST(Select, MaximumMinimumForwardBroadcast) {
  Tape<double> t;
  Var<double> a = t.constant(shaped({2, 3}, {1, 5, -2, 0, 3, 3}));
  Var<double> b = t.constant(Tensor<double>{2.0, 2.0, 3.0});
  EXPECT_EQ(maximum(a, b).value(), shaped({2, 3}, {2, 5, 3, 2, 3, 3}));
  EXPECT_EQ(minimum(a, b).value(), shaped({2, 3}, {1, 2, -2, 0, 2, 3}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Var<double> n = t.constant(Tensor<double>{nan, 1.0});
  Var<double> m = t.constant(Tensor<double>{1.0, nan});
  EXPECT_TRUE(std::isnan(maximum(n, m).value()(0)) && std::isnan(maximum(n, m).value()(1)));
  EXPECT_TRUE(std::isnan(minimum(m, n).value()(0)) && std::isnan(minimum(m, n).value()(1)));
}

TEST(Select, TiesSplitTheGradientHalfAndHalf) {
  Parameter<double> a(Tensor<double>{1.0, 2.0, 3.0}), b(Tensor<double>{1.0, 5.0, 0.0});
  for (bool use_max : {true, false}) {
    a.zero_grad();
    b.zero_grad();
    Tape<double> t;
    Var<double> y = use_max ? maximum(t.watch(a), t.watch(b)) : minimum(t.watch(a), t.watch(b));
    t.backward(y, Tensor<double>{4.0, 8.0, 16.0});
    if (use_max) {
      EXPECT_EQ(a.grad, (Tensor<double>{2.0, 0.0, 16.0}));
      EXPECT_EQ(b.grad, (Tensor<double>{2.0, 8.0, 0.0}));
    } else {
      EXPECT_EQ(a.grad, (Tensor<double>{2.0, 8.0, 0.0}));
      EXPECT_EQ(b.grad, (Tensor<double>{2.0, 0.0, 16.0}));
    }
  }
}

TEST(Select, BroadcastGradientsSumOverStretchedAxes) {
  // b (1, 3) against a (2, 3): b's gradient sums its column's two shares
  Parameter<double> a(shaped({2, 3}, {1, 5, 3, 0, 3, 9})), b(shaped({1, 3}, {2, 2, 3}));
  Tape<double> t;
  t.backward(maximum(t.watch(a), t.watch(b)), Tensor<double>(xt::ones<double>({2, 3})));
  EXPECT_EQ(a.grad, shaped({2, 3}, {0, 1, 0.5, 0, 1, 1}));
  EXPECT_EQ(b.grad, shaped({1, 3}, {2, 0, 0.5}));
}

TEST(Select, WhereForwardAndGradient) {
  Parameter<double> a(shaped({2, 2}, {1, 2, 3, 4})), b(Tensor<double>{10.0, 20.0});
  const xt::xarray<bool> c = {{true, false}, {false, true}};
  Tape<double> t;
  Var<double> y = where(mask(t, c), t.watch(a), t.watch(b));
  EXPECT_EQ(y.value(), shaped({2, 2}, {1, 20, 10, 4}));
  t.backward(y, shaped({2, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(a.grad, shaped({2, 2}, {1, 0, 0, 4}));
  EXPECT_EQ(b.grad, (Tensor<double>{3.0, 2.0}));
  // a condition broadcast against both operands
  Tape<double> u;
  EXPECT_EQ(where(u.constant(shaped({2, 1}, {1, 0})), u.constant(Tensor<double>{1.0, 2.0}),
                  u.constant(Tensor<double>(0.0))).value(),
            shaped({2, 2}, {1, 2, 0, 0}));
  // a condition that depends on a watched parameter is refused
  Var<double> av = u.watch(a);
  EXPECT_THAT(error_of([&] { where(av, av, av); }), HasSubstr("where: the condition (record #"));
}

TEST(Select, GradcheckAwayFromTies) {
  const Tensor<double> c = shaped({2, 3}, {1, 0, 1, 0, 0, 1});
  std::uint64_t seed = 500;
  for (const std::pair<Shape, Shape>& s :
       std::vector<std::pair<Shape, Shape>>{{{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}}) {
    const Tensor<double> a = random_tensor(s.first, seed), b = random_tensor(s.second, seed + 1) + 0.01;
    auto f = [&c](Tape<double>&, const std::vector<Var<double>>& v) {
      Tape<double>& t = v[0].tape();
      return maximum(v[0], v[1]) + minimum(v[0], v[1]) * 2.0 + where(t.constant(c), v[0], v[1]);
    };
    const GradcheckReport rep = gradcheck(f, {a, b}, contracted());
    EXPECT_TRUE(rep.passed) << rep.summary();
    EXPECT_EQ(rep.checked, a.size() + b.size());
    seed += 2;
  }
}

TEST(SelectErrors, ShapesThatDoNotBroadcast) {
  Tape<double> t;
  Var<double> a = t.constant(Tensor<double>(xt::zeros<double>({2, 3})));
  Var<double> b = t.constant(Tensor<double>(xt::zeros<double>({4})));
  EXPECT_THAT(error_of([&] { maximum(a, b); }), HasSubstr("maximum: "));
  EXPECT_THAT(error_of([&] { minimum(a, b); }), HasSubstr("minimum: "));
  Var<double> c = t.constant(Tensor<double>(xt::ones<double>({5})));
  EXPECT_THAT(error_of([&] { where(c, a, a); }), HasSubstr("where: "));
}

}  // namespace
}  // namespace tapegrad
