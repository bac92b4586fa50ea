#include <cmath>
#include <limits>
#include <string>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::all_close;
using testing::error_of;
using testing::gradcheck_passes;
using testing::kNoError;
using testing::nested;
using testing::random_tensor;
using testing::shaped;

::testing::AssertionResult contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << s << "\" does not contain \"" << part << "\"";
}

const Tensor<double> k23 = {{1., 2., 3.}, {4., 5., 6.}};

TEST(Reduce, SumForward) {
  Tape<double> t;
  Var<double> x = t.constant(k23);
  const Tensor<double>& all = t.value(sum(x));
  EXPECT_EQ(all.dimension(), 0u);
  EXPECT_EQ(all(), 21.0);
  EXPECT_TRUE(all_close(t.value(sum(x, 0)), Tensor<double>{5., 7., 9.}));
  EXPECT_TRUE(all_close(t.value(sum(x, 1)), Tensor<double>{6., 15.}));
  EXPECT_TRUE(all_close(t.value(sum(x, -1, true)), nested<double, 2>({{6.}, {15.}})));
  EXPECT_TRUE(all_close(t.value(sum(x, -2, true)), Tensor<double>{{5., 7., 9.}}));
}

TEST(Reduce, MeanForward) {
  Tape<double> t;
  Var<double> x = t.constant(k23);
  EXPECT_EQ(t.value(mean(x))(), 3.5);
  EXPECT_TRUE(all_close(t.value(mean(x, 0)), Tensor<double>{2.5, 3.5, 4.5}));
  EXPECT_TRUE(all_close(t.value(mean(x, 1, true)), nested<double, 2>({{2.}, {5.}})));
}

TEST(Reduce, MaxForward3D) {
  // x[a][b][c] = values chosen so that each axis has a different argmax pattern
  const Tensor<double> v = {{{1., 9., 2.}, {7., 3., 8.}}, {{6., 0., 5.}, {4., 10., -1.}}};
  Tape<double> t;
  Var<double> x = t.constant(v);
  EXPECT_EQ(t.value(max(x))(), 10.0);
  EXPECT_TRUE(all_close(t.value(max(x, 0)), Tensor<double>{{6., 9., 5.}, {7., 10., 8.}}));
  EXPECT_TRUE(all_close(t.value(max(x, 1)), Tensor<double>{{7., 9., 8.}, {6., 10., 5.}}));
  EXPECT_TRUE(all_close(t.value(max(x, 2)), Tensor<double>{{9., 8.}, {6., 10.}}));
  EXPECT_TRUE(all_close(t.value(max(x, -1, true)), nested<double, 3>({{{9.}, {8.}}, {{6.}, {10.}}})));
}

TEST(Reduce, LongRowsMatchReference) {
  // lengths around the 8- and 32-lane and 128-block boundaries, reduced along the last
  // axis (contiguous rows) and along axis 0 (strided rows)
  for (std::size_t n : {1u, 7u, 8u, 15u, 16u, 17u, 63u, 64u, 65u, 97u, 127u, 128u, 129u, 1000u}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const Tensor<double> v = random_tensor({3, n}, 40 + n, -5.0, 5.0);
    Tape<double> t;
    Var<double> x = t.constant(v);
    Tensor<double> s = xt::zeros<double>({3}), m = xt::zeros<double>({3});
    for (std::size_t i = 0; i < 3; ++i) {
      m(i) = v(i, 0);
      for (std::size_t k = 0; k < n; ++k) {
        s(i) += v(i, k);
        m(i) = std::max(m(i), v(i, k));
      }
    }
    EXPECT_TRUE(all_close(t.value(sum(x, 1)), s, 1e-11, 1e-12));
    EXPECT_TRUE(all_close(t.value(max(x, 1)), m, 0, 0));
    const Tensor<double> vt = xt::transpose(v);
    Var<double> x_t = t.constant(vt);
    EXPECT_TRUE(all_close(t.value(sum(x_t, 0)), s, 1e-11, 1e-12));
    EXPECT_TRUE(all_close(t.value(max(x_t, 0)), m, 0, 0));
  }
}

TEST(Reduce, FloatSumOfManyIsAccurate) {
  // rows of 100000 floats: pairwise summation keeps each row sum within a few
  // float roundings of the exact sum (a running sum drifts by ~1e-5 relative)
  const Tensor<double> v = random_tensor({8, 100000}, 7, 0.0, 1.0);
  const Tensor<float> vf = xt::cast<float>(v);
  Tape<float> t;
  Var<float> x = t.constant(vf);
  const Tensor<double> expected = xt::sum(xt::cast<double>(vf), {1});
  const Tensor<double> got = xt::cast<double>(t.value(sum(x, 1)));
  EXPECT_TRUE(all_close(got, expected, 0, 1e-6));
}

TEST(Reduce, ScalarInput) {
  Parameter<double> p(Tensor<double>(4.0));
  Tape<double> t;
  Var<double> x = t.watch(p);
  EXPECT_EQ(t.value(sum(x))(), 4.0);
  EXPECT_EQ(t.value(mean(x))(), 4.0);
  t.backward(max(x) * 3.0);
  EXPECT_EQ(p.grad(), 3.0);
}

TEST(Reduce, SumAndMeanBackwardExact) {
  Parameter<double> p(k23);
  Tape<double> t;
  Var<double> x = t.watch(p);
  // dsum(x, 1)/dx broadcasts the seed along axis 1; mean divides it by 3
  t.backward(sum(x, 1), Tensor<double>{10., 20.});
  EXPECT_TRUE(all_close(p.grad, Tensor<double>{{10., 10., 10.}, {20., 20., 20.}}));
  p.zero_grad();
  t.backward(mean(x, 0, true), Tensor<double>{{3., 6., 9.}});
  EXPECT_TRUE(all_close(p.grad, Tensor<double>{{1.5, 3., 4.5}, {1.5, 3., 4.5}}));
  p.zero_grad();
  t.backward(mean(x));
  EXPECT_TRUE(all_close(p.grad, Tensor<double>(xt::ones<double>({2, 3}) / 6.0)));
}

TEST(Reduce, GradientsAccumulateIntoIntermediates) {
  // y = 2x is an intermediate: its first contribution assigns (fresh), the second adds
  Parameter<double> p(k23);
  Tape<double> t;
  Var<double> y = t.watch(p) * 2.0;
  t.backward(sum(sum(y, 1)) + sum(max(y, 0)) + mean(y));
  // d/dy = 1 + [y is its column's max] + 1/6, then ×2 for dx
  const double c = 1.0 + 1.0 / 6.0;
  EXPECT_TRUE(all_close(p.grad, Tensor<double>{{2 * c, 2 * c, 2 * c}, {2 * (c + 1), 2 * (c + 1), 2 * (c + 1)}}));
}

template <class T>
class MaxTies : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(MaxTies, FloatTypes);

TYPED_TEST(MaxTies, SplitEvenlyOverAll) {
  using T = TypeParam;
  Parameter<T> p(Tensor<T>{1, 3, 3});
  Tape<T> t;
  t.backward(max(t.watch(p)));
  EXPECT_TRUE(all_close(p.grad, Tensor<T>{0, 0.5, 0.5}, 0, 0));
}

TYPED_TEST(MaxTies, AllEqualRowGetsOneOverN) {
  using T = TypeParam;
  Parameter<T> p(Tensor<T>{{2, 2, 2, 2, 2}, {1, 4, 0, 4, -1}});
  Tape<T> t;
  t.backward(max(t.watch(p), 1), Tensor<T>{1, 3});
  const T f = T(1) / T(5);
  EXPECT_TRUE(all_close(p.grad, Tensor<T>{{f, f, f, f, f}, {0, 1.5, 0, 1.5, 0}}, 0, 0));
}

TYPED_TEST(MaxTies, AlongLeadingAxis) {
  // axis 0 of a (3, 2) matrix: the strided (inner > 1) path
  using T = TypeParam;
  Parameter<T> p(Tensor<T>{{1, 3}, {3, 3}, {2, 1}});
  Tape<T> t;
  t.backward(max(t.watch(p), 0, true), Tensor<T>{{4, 4}});
  EXPECT_TRUE(all_close(p.grad, Tensor<T>{{0, 2}, {4, 2}, {0, 0}}, 0, 0));
}

TYPED_TEST(MaxTies, ThreeWayTieInLongRow) {
  // a row of 64 or more uses the 32-lane forward; ties in different lanes and in the tail
  using T = TypeParam;
  Tensor<T> v = xt::arange<T>(0, 100) / T(100);
  v(3) = v(40) = v(98) = T(5);
  Parameter<T> p(v);
  Tape<T> t;
  t.backward(max(t.watch(p)) * T(3));
  Tensor<T> expected = xt::zeros<T>({100});
  expected(3) = expected(40) = expected(98) = T(1);
  EXPECT_TRUE(all_close(p.grad, expected, 0, 0));
}

TEST(Reduce, MaxPropagatesNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // NaN inside the vectorised lanes, in the scalar tail, first, and nowhere
  Tensor<double> v = random_tensor({4, 100}, 3);
  v(0, 45) = nan;
  v(1, 98) = nan;
  v(2, 0) = nan;
  Parameter<double> p(v);
  Tape<double> t;
  Var<double> m = max(t.watch(p), 1);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(t.value(m)(i))) << "row " << i;
  EXPECT_FALSE(std::isnan(t.value(m)(3)));
  const Tensor<double>& cols = t.value(max(t.watch(p), 0));
  EXPECT_TRUE(std::isnan(cols(45)));
  EXPECT_TRUE(std::isnan(cols(0)));
  EXPECT_FALSE(std::isnan(cols(1)));
  EXPECT_TRUE(std::isnan(t.value(max(t.watch(p)))()));
  // the NaN is its row's maximum, so it takes the row's gradient
  t.backward(m, Tensor<double>{5., 0., 0., 0.});
  EXPECT_EQ(p.grad(0, 45), 5.0);
  EXPECT_EQ(xt::sum(xt::row(p.grad, 0))(), 5.0);
}

// f(x) = Σ reduce(x) · c with a fixed random c, so every output's gradient differs.
template <class Reduce>
void check_all_axes(Reduce reduce, const char* name) {
  const std::vector<Shape> shapes = {{7}, {3, 4}, {2, 3, 4}, {2, 1, 3}};
  std::uint64_t seed = 100;
  for (const Shape& shape : shapes) {
    const auto rank = static_cast<std::ptrdiff_t>(shape.size());
    for (std::ptrdiff_t axis = -rank; axis < rank; ++axis)
      for (bool keepdims : {false, true}) {
        SCOPED_TRACE(std::string(name) + " shape " + shape_str(shape) + " axis " + std::to_string(axis) +
                     (keepdims ? " keepdims" : ""));
        Tape<double> probe;
        Shape out = to_shape(probe.value(reduce(probe.constant(xt::zeros<double>(shape)), axis, keepdims)).shape());
        const Tensor<double> c = random_tensor(out, seed++);
        auto f = [&](Tape<double>& t, const std::vector<Var<double>>& v) {
          return sum(reduce(v[0], axis, keepdims) * t.constant(c));
        };
        EXPECT_TRUE(gradcheck_passes(f, {random_tensor(shape, seed++)}));
      }
  }
}

TEST(ReduceGradcheck, SumEveryAxis) {
  check_all_axes([](const Var<double>& x, std::ptrdiff_t a, bool k) { return sum(x, a, k); }, "sum");
}

TEST(ReduceGradcheck, MeanEveryAxis) {
  check_all_axes([](const Var<double>& x, std::ptrdiff_t a, bool k) { return mean(x, a, k); }, "mean");
}

TEST(ReduceGradcheck, MaxEveryAxis) {
  check_all_axes([](const Var<double>& x, std::ptrdiff_t a, bool k) { return max(x, a, k); }, "max");
}

TEST(ReduceGradcheck, AllElements) {
  for (const Shape& shape : {Shape{5}, Shape{3, 4}, Shape{2, 3, 2}}) {
    SCOPED_TRACE(shape_str(shape));
    const Tensor<double> x0 = random_tensor(shape, 9);
    // square keeps the upstream gradient value-dependent
    EXPECT_TRUE(gradcheck_passes([](Tape<double>&, const auto& v) { return square(sum(v[0])); }, {x0}));
    EXPECT_TRUE(gradcheck_passes([](Tape<double>&, const auto& v) { return square(mean(v[0])); }, {x0}));
    EXPECT_TRUE(gradcheck_passes([](Tape<double>&, const auto& v) { return square(max(v[0])); }, {x0}));
  }
}

TEST(ReduceGradcheck, SkipsKinksAtMaxTies) {
  // rows 0 and 2 hold exact ties: moving a tied element by ±h changes which
  // elements are maxima, so gradcheck skips exactly those four elements
  const Tensor<double> x0 = {{0.5, 0.9, 0.9}, {0.1, -0.3, 0.7}, {0.2, 0.2, -0.4}};
  auto f = [](Tape<double>& t, const std::vector<Var<double>>& v) {
    return sum(max(v[0], 1) * t.constant(Tensor<double>{1., 2., 3.}));
  };
  const GradcheckReport rep = gradcheck(f, {x0});
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.skipped_kinks, 4u) << rep.summary();
  EXPECT_EQ(rep.checked, 5u) << rep.summary();
}

TEST(Reduce, ZeroLengthAxes) {
  Parameter<double> p(Tensor<double>(xt::zeros<double>({0, 3})));
  Tape<double> t;
  Var<double> x = t.watch(p);
  // reducing the non-empty axis leaves an empty result
  EXPECT_EQ(to_shape(t.value(sum(x, 1)).shape()), Shape{0});
  EXPECT_EQ(to_shape(t.value(max(x, -1, true)).shape()), (Shape{0, 1}));
  // reducing the empty axis: sums are 0, means 0/0 = NaN as in NumPy
  EXPECT_TRUE(all_close(t.value(sum(x, 0)), Tensor<double>{0., 0., 0.}));
  const Tensor<double>& m = t.value(mean(x, 0));
  EXPECT_EQ(m.size(), 3u);
  for (double v : m) EXPECT_TRUE(std::isnan(v));
  EXPECT_TRUE(std::isnan(t.value(mean(x))()));
  EXPECT_EQ(t.value(sum(x))(), 0.0);
  // backward through an empty reduction leaves an empty gradient of x's shape
  t.backward(sum(sum(x, 1)) + sum(x));
  EXPECT_EQ(to_shape(p.grad.shape()), (Shape{0, 3}));
}

TEST(Reduce, ZeroLengthNonReducedAxisGradcheck) {
  // (2, 0, 3): reducing axis 0 or 2 keeps the empty axis; the check must still
  // pass through the empty shapes (and check zero elements)
  auto f = [](Tape<double>& t, const std::vector<Var<double>>& v) {
    return sum(max(v[0], 2)) + sum(mean(v[0], 0)) + sum(sum(v[1], 1) * t.constant(Tensor<double>(2.0)));
  };
  const GradcheckReport rep = gradcheck(f, {Tensor<double>(xt::zeros<double>({2, 0, 3})), random_tensor({1, 4}, 5)});
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.checked, 4u);
}

TEST(Reduce, BuffersAreReusedAcrossClearWithNewShapes) {
  Tape<double> t;
  for (int step = 0; step < 3; ++step) {
    t.clear();
    const std::size_t n = 2 + static_cast<std::size_t>(step);
    Parameter<double> p(random_tensor({n, 3}, 11 + step));
    Var<double> x = t.watch(p);
    Var<double> m = max(x, 1);
    t.backward(sum(m));
    Tensor<double> expected = xt::zeros<double>({n, std::size_t(3)});
    for (std::size_t i = 0; i < n; ++i) {
      const auto row = xt::row(p.value, i);
      expected(i, xt::argmax(row)()) = 1.0;
      EXPECT_EQ(t.value(m)(i), xt::amax(row)());
    }
    EXPECT_TRUE(all_close(p.grad, expected));
  }
}

TEST(ReduceErrors, AxisOutOfRange) {
  Tape<double> t;
  Var<double> x = t.constant(k23);
  EXPECT_EQ(error_of([&] { sum(x, 3); }), "sum: axis 3 is out of range for shape (2, 3)");
  EXPECT_EQ(error_of([&] { mean(x, -3, true); }), "mean: axis -3 is out of range for shape (2, 3)");
  EXPECT_EQ(error_of([&] { max(x, 2); }), "max: axis 2 is out of range for shape (2, 3)");
  Var<double> s = t.constant(Tensor<double>(1.0));
  EXPECT_EQ(error_of([&] { sum(s, 0); }), "sum: axis 0 is out of range for shape ()");
  const std::size_t before = t.size();
  EXPECT_NE(error_of([&] { sum(x, 5); }), kNoError);
  EXPECT_EQ(t.size(), before);  // nothing recorded for a rejected call
}

TEST(ReduceErrors, MaxOfNothing) {
  Tape<double> t;
  Var<double> e = t.constant(Tensor<double>(xt::zeros<double>({0, 3})));
  EXPECT_TRUE(contains(error_of([&] { max(e); }), "max: the max of an empty tensor of shape (0, 3)"));
  EXPECT_TRUE(contains(error_of([&] { max(e, 0); }), "max: axis 0 of shape (0, 3) is empty"));
  EXPECT_TRUE(contains(error_of([&] { max(e, -2, true); }), "max: axis -2 of shape (0, 3) is empty"));
  EXPECT_EQ(error_of([&] { max(e, 1); }), kNoError);
}

TEST(ReduceErrors, StaleVar) {
  Tape<double> t;
  Var<double> x = t.constant(k23);
  t.clear();
  EXPECT_TRUE(contains(error_of([&] { sum(x, 0); }), "stale"));
}

TEST(Reduce, MinForwardTiesAndNaN) {
  Parameter<double> p(shaped({2, 3}, {3, 1, 1, -2, 5, 4}));
  Tape<double> t;
  Var<double> m = min(t.watch(p), 1);
  EXPECT_EQ(m.value(), (Tensor<double>{1.0, -2.0}));
  EXPECT_EQ(min(t.watch(p)).value()(), -2.0);
  t.backward(m, Tensor<double>{6.0, 4.0});
  EXPECT_EQ(p.grad, shaped({2, 3}, {0, 3, 3, 4, 0, 0}));  // the tie splits 6 evenly
  Tape<double> u;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(std::isnan(min(u.constant(Tensor<double>{1.0, nan, -1.0})).value()()));
  EXPECT_EQ(error_of([&] { min(u.constant(Tensor<double>(xt::zeros<double>({0})))); }),
            "min: the min of an empty tensor of shape (0) is undefined");
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return min(v[0], 0, true); };
  GradcheckOptions o;
  o.contract_output = true;
  EXPECT_TRUE(gradcheck_passes(f, {random_tensor({3, 4}, 77)}, o));
}

}  // namespace
}  // namespace tapegrad
