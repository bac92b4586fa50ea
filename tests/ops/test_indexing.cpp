#include <string>

#include <xtensor/xbuilder.hpp>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::all_close;
using testing::error_of;
using testing::gradcheck_passes;
using testing::kNoError;
using testing::nested;
using testing::random_tensor;

const Tensor<double> k34 = {{0., 1., 2., 3.}, {10., 11., 12., 13.}, {20., 21., 22., 23.}};

TEST(Gather, TwoDimAlongAxis1) {
  Tape<double> t;
  Var<double> x = t.constant(k34);
  // one column per row: the hinge's "score of the true class"
  const Tensor<double>& g = t.value(gather(x, 1, nested<std::int64_t, 2>({{1}, {3}, {0}})));
  EXPECT_TRUE(all_close(g, nested<double, 2>({{1.}, {13.}, {20.}})));
  // several columns per row, in any order, repeats allowed
  EXPECT_TRUE(all_close(t.value(gather(x, -1, IndexTensor{{3, 0}, {2, 2}, {1, 3}})),
                        Tensor<double>{{3., 0.}, {12., 12.}, {21., 23.}}));
}

TEST(Gather, TwoDimAlongAxis0) {
  Tape<double> t;
  Var<double> x = t.constant(k34);
  // out[j][k] = x[index[j][k]][k]
  EXPECT_TRUE(all_close(t.value(gather(x, 0, IndexTensor{{2, 0, 1, 2}, {0, 0, 2, 1}})),
                        Tensor<double>{{20., 1., 12., 23.}, {0., 1., 22., 13.}}));
}

TEST(Gather, ThreeDimEveryAxis) {
  // x[a][b][c] = 100a + 10b + c makes every gathered value name its source
  Tensor<double> v = xt::zeros<double>({2, 3, 2});
  for (std::size_t a = 0; a < 2; ++a)
    for (std::size_t b = 0; b < 3; ++b)
      for (std::size_t c = 0; c < 2; ++c) v(a, b, c) = 100. * a + 10. * b + c;
  Tape<double> t;
  Var<double> x = t.constant(v);
  const IndexTensor i0 = {{{1, 0}, {0, 0}, {1, 1}}};  // (1, 3, 2) along axis 0
  EXPECT_TRUE(all_close(t.value(gather(x, 0, i0)), Tensor<double>{{{100., 1.}, {10., 11.}, {120., 121.}}}));
  const IndexTensor i1 = {{{2, 0}}, {{1, 1}}};  // (2, 1, 2) along axis 1
  EXPECT_TRUE(all_close(t.value(gather(x, 1, i1)), Tensor<double>{{{20., 1.}}, {{110., 111.}}}));
  EXPECT_TRUE(all_close(t.value(gather(x, -2, i1)), t.value(gather(x, 1, i1))));
  const IndexTensor i2 = {{{1, 1, 0}, {0, 0, 0}, {1, 0, 1}}, {{0, 1, 1}, {1, 1, 1}, {0, 0, 0}}};  // (2, 3, 3)
  EXPECT_TRUE(all_close(t.value(gather(x, 2, i2)),
                        Tensor<double>{{{1., 1., 0.}, {10., 10., 10.}, {21., 20., 21.}},
                                       {{100., 101., 101.}, {111., 111., 111.}, {120., 120., 120.}}}));
}

template <class T>
class GatherBackward : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GatherBackward, FloatTypes);

TYPED_TEST(GatherBackward, RepeatedIndicesAccumulate) {
  using T = TypeParam;
  Parameter<T> p(Tensor<T>{10, 20, 30});
  Tape<T> t;
  Var<T> out = gather(t.watch(p), 0, IndexTensor{2, 2, 0, 2});
  EXPECT_TRUE(all_close(t.value(out), Tensor<T>{30, 30, 10, 30}, 0, 0));
  t.backward(out, Tensor<T>{1, 2, 3, 4});
  EXPECT_TRUE(all_close(p.grad, Tensor<T>{3, 0, 7}, 0, 0));  // x[1] never gathered: 0
}

TYPED_TEST(GatherBackward, TwoDimScatterIntoIntermediate) {
  // y = x·2 is an intermediate, so the scatter starts from a fresh buffer
  using T = TypeParam;
  Parameter<T> p(Tensor<T>{{1, 2, 3}, {4, 5, 6}});
  Tape<T> t;
  Var<T> y = t.watch(p) * T(2);
  Var<T> g0 = gather(y, 0, IndexTensor{{1, 1, 0}});
  Var<T> g1 = gather(y, 1, IndexTensor{{0, 0}, {2, 1}});
  t.backward(sum(g0) + sum(g1));
  // dy = [[0, 0, 1], [1, 1, 0]] + [[2, 0, 0], [0, 1, 1]]; dx = 2·dy
  EXPECT_TRUE(all_close(p.grad, Tensor<T>{{4, 0, 2}, {2, 4, 2}}, 0, 0));
}

TEST(GatherGradcheck, ShapesAndAxes) {
  struct Case {
    Shape x;
    std::ptrdiff_t axis;
    Shape index;
  };
  const std::vector<Case> cases = {
      {{6}, 0, {9}},           {{4, 5}, 0, {3, 5}},        {{4, 5}, 1, {4, 7}},
      {{4, 5}, -1, {4, 1}},    {{2, 3, 4}, 0, {5, 3, 4}},  {{2, 3, 4}, 1, {2, 2, 4}},
      {{2, 3, 4}, 2, {2, 3, 6}}, {{2, 3, 4}, -3, {1, 3, 4}}, {{3, 4}, 1, {3, 0}},
  };
  std::uint64_t seed = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE("x " + shape_str(c.x) + " axis " + std::to_string(c.axis) + " index " + shape_str(c.index));
    const std::size_t ax = static_cast<std::size_t>(c.axis < 0 ? c.axis + std::ptrdiff_t(c.x.size()) : c.axis);
    IndexTensor index = xt::zeros<std::int64_t>(c.index);
    for (std::size_t k = 0; k < index.size(); ++k) index.data()[k] = (k * 7 + 3) % c.x[ax];  // repeats
    const Tensor<double> w = random_tensor(c.index, seed++);
    auto f = [&](Tape<double>& t, const std::vector<Var<double>>& v) {
      return sum(square(gather(v[0], c.axis, index)) * t.constant(w));
    };
    EXPECT_TRUE(gradcheck_passes(f, {random_tensor(c.x, seed++)}));
  }
}

TEST(Gather, ZeroLengthAxes) {
  // an empty non-gathered axis, and an empty index along the gathered axis
  Parameter<double> p(Tensor<double>(xt::zeros<double>({0, 3})));
  Tape<double> t;
  Var<double> x = t.watch(p);
  Var<double> out = gather(x, 1, IndexTensor(xt::zeros<std::int64_t>({0, 5})));
  EXPECT_EQ(to_shape(t.value(out).shape()), (Shape{0, 5}));
  t.backward(sum(out));
  EXPECT_EQ(to_shape(p.grad.shape()), (Shape{0, 3}));

  Parameter<double> q(k34);
  Var<double> none = gather(t.watch(q), 1, IndexTensor(xt::zeros<std::int64_t>({3, 0})));
  EXPECT_EQ(to_shape(t.value(none).shape()), (Shape{3, 0}));
  t.backward(sum(none));
  EXPECT_TRUE(all_close(q.grad, Tensor<double>(xt::zeros<double>({3, 4}))));
}

TEST(GatherErrors, Messages) {
  Tape<double> t;
  Var<double> x = t.constant(Tensor<double>(xt::zeros<double>({6, 10})));
  IndexTensor bad = xt::zeros<std::int64_t>({6, 1});
  bad(5, 0) = 12;
  EXPECT_EQ(error_of([&] { gather(x, 1, bad); }), "gather: index 12 at position (5, 0) is outside [0, 10) along axis 1");
  bad(5, 0) = 0;
  bad(2, 0) = -1;  // negative indices do not wrap around
  EXPECT_EQ(error_of([&] { gather(x, -1, bad); }), "gather: index -1 at position (2, 0) is outside [0, 10) along axis 1");
  EXPECT_EQ(error_of([&] { gather(x, 2, IndexTensor(xt::zeros<std::int64_t>({6, 1}))); }),
            "gather: axis 2 is out of range for shape (6, 10)");
  EXPECT_EQ(error_of([&] { gather(x, 1, IndexTensor{1, 2}); }),
            "gather: index rank 1 differs from x rank 2 (index shape (2), x shape (6, 10))");
  EXPECT_EQ(error_of([&] { gather(x, 1, IndexTensor(xt::zeros<std::int64_t>({5, 1}))); }),
            "gather: index shape (5, 1) differs from x shape (6, 10) along axis 0 (only axis 1 may differ)");
  const std::size_t before = t.size();
  EXPECT_NE(error_of([&] { gather(x, 1, IndexTensor(xt::zeros<std::int64_t>({7, 1}))); }), kNoError);
  EXPECT_EQ(t.size(), before);  // nothing recorded for a rejected call
}

TEST(OneHot, Values) {
  Tape<float> t;
  Var<float> oh = one_hot(t, IndexTensor{2, 0, 2, 1}, 3);
  EXPECT_TRUE(all_close(t.value(oh), Tensor<float>{{0, 0, 1}, {1, 0, 0}, {0, 0, 1}, {0, 1, 0}}, 0, 0));
  EXPECT_FALSE(t.needs_grad(oh.id()));
  EXPECT_EQ(to_shape(t.value(one_hot(t, IndexTensor(xt::zeros<std::int64_t>({0})), 4)).shape()), (Shape{0, 4}));
}

TEST(OneHot, Errors) {
  Tape<double> t;
  EXPECT_EQ(error_of([&] { one_hot(t, IndexTensor{1, 0, 3, 4, 1, 12}, 10); }), "one_hot: label 12 at row 5 is outside [0, 10)");
  EXPECT_EQ(error_of([&] { one_hot(t, IndexTensor{0, -2}, 10); }), "one_hot: label -2 at row 1 is outside [0, 10)");
  EXPECT_EQ(error_of([&] { one_hot(t, IndexTensor{{0, 1}}, 10); }), "one_hot: labels must be 1-D, got shape (1, 2)");
  EXPECT_EQ(t.size(), 0u);
}

TEST(Mask, Values) {
  Tape<double> t;
  const xt::xarray<bool> m = {{true, false, true}, {false, false, true}};
  Var<double> v = mask(t, m);
  EXPECT_TRUE(all_close(t.value(v), Tensor<double>{{1., 0., 1.}, {0., 0., 1.}}, 0, 0));
  EXPECT_FALSE(t.needs_grad(v.id()));
  // a mask composes as a constant: d(sum(x·mask))/dx = mask
  Parameter<double> p(random_tensor({2, 3}, 4));
  t.backward(sum(t.watch(p) * v));
  EXPECT_TRUE(all_close(p.grad, t.value(v), 0, 0));
}

}  // namespace
}  // namespace tapegrad
