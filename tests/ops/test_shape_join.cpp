// concat and slice: values by hand, NumPy's slice rules, gradients, errors.
#include <tapegrad/ops/shape.hpp>

#include <gmock/gmock.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::contracted;
using testing::error_of;
using testing::iota;
using testing::random_tensor;
using testing::shaped;


TEST(Concat, ForwardAlongEachAxis) {
  Tape<double> t;
  Var<double> a = t.constant(shaped({2, 2}, {1, 2, 3, 4}));
  Var<double> b = t.constant(shaped({2, 1}, {9, 8}));
  Var<double> c = t.constant(shaped({1, 2}, {7, 6}));
  EXPECT_EQ(concat<double>({a, b, a}, 1).value(), shaped({2, 5}, {1, 2, 9, 1, 2, 3, 4, 8, 3, 4}));
  EXPECT_EQ(concat<double>({a, c}, 0).value(), shaped({3, 2}, {1, 2, 3, 4, 7, 6}));
  EXPECT_EQ(concat<double>({c, a}, -2).value(), shaped({3, 2}, {7, 6, 1, 2, 3, 4}));
  EXPECT_EQ(concat<double>({a}, 0).value(), a.value());
  // a zero-length piece
  Var<double> none = t.constant(Tensor<double>(xt::zeros<double>({2, 0})));
  EXPECT_EQ(concat<double>({none, b, none}, 1).value(), b.value());
}

TEST(Concat, GradientGoesBackToEachPieceIncludingRepeats) {
  Parameter<double> a(shaped({2, 2}, {1, 2, 3, 4})), b(shaped({2, 1}, {9, 8}));
  Tape<double> t;
  Var<double> av = t.watch(a), bv = t.watch(b);
  Var<double> y = concat<double>({av, bv, av}, 1);
  t.backward(y, iota({2, 5}, 1));
  EXPECT_EQ(a.grad, shaped({2, 2}, {1 + 4, 2 + 5, 6 + 9, 7 + 10}));
  EXPECT_EQ(b.grad, shaped({2, 1}, {3, 8}));
}

TEST(Concat, GradcheckManyPieces) {
  // six pieces: more inputs than a record holds inline
  std::vector<Tensor<double>> xs;
  for (std::size_t k = 0; k < 6; ++k) xs.push_back(random_tensor({2, k % 3 + 1, 3}, 40 + k));
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return concat(v, 1); };
  const GradcheckReport rep = gradcheck(f, xs, contracted());
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.checked, 2u * 3u * (1 + 2 + 3 + 1 + 2 + 3));
}

TEST(Slice, NumPySliceRules) {
  Tape<double> t;
  Var<double> x = t.constant(iota({2, 5}));
  EXPECT_EQ(slice(x, 1, 1, 3).value(), shaped({2, 2}, {1, 2, 6, 7}));
  EXPECT_EQ(slice(x, 1, -2, 5).value(), shaped({2, 2}, {3, 4, 8, 9}));    // negative start
  EXPECT_EQ(slice(x, -1, 0, -4).value(), shaped({2, 1}, {0, 5}));         // negative stop
  EXPECT_EQ(slice(x, 1, -100, 100).value(), x.value());                   // clamped
  EXPECT_EQ(slice(x, 1, 3, 1).value().shape(), (std::vector<std::size_t>{2, 0}));  // empty
  EXPECT_EQ(slice(x, 0, 1, 2).value(), shaped({1, 5}, {5, 6, 7, 8, 9}));
}

TEST(Slice, GradientAndGradcheck) {
  Parameter<double> p(iota({2, 4}));
  Tape<double> t;
  t.backward(slice(t.watch(p), 1, 1, 3), shaped({2, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(p.grad, shaped({2, 4}, {0, 1, 2, 0, 0, 3, 4, 0}));
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
    return concat<double>({slice(v[0], 2, 0, 2), slice(v[0], 2, -1, 4)}, 2);
  };
  const GradcheckReport rep = gradcheck(f, {random_tensor({2, 3, 4}, 9)}, contracted());
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.checked, 24u);
}

TEST(JoinErrors, NameTheOpAndShapes) {
  Tape<double> t;
  Var<double> a = t.constant(Tensor<double>(xt::zeros<double>({2, 3})));
  Var<double> b = t.constant(Tensor<double>(xt::zeros<double>({3, 3})));
  EXPECT_EQ(error_of([&] { concat<double>({}, 0); }), "concat: needs at least one Var");
  EXPECT_EQ(error_of([&] { concat<double>({a, b}, 1); }),
            "concat: Var 1 has shape (3, 3), which differs from Var 0's (2, 3) outside axis 1");
  EXPECT_EQ(error_of([&] { concat<double>({a, a}, 2); }), "concat: axis 2 is out of range for shape (2, 3)");
  EXPECT_EQ(error_of([&] { slice(a, -3, 0, 1); }), "slice: axis -3 is out of range for shape (2, 3)");
  Tape<double> other;
  Var<double> c = other.constant(Tensor<double>(xt::zeros<double>({2, 3})));
  EXPECT_THAT(error_of([&] { concat<double>({a, c}, 0); }), HasSubstr("concat: Var #0 belongs to another tape"));
}

}  // namespace
}  // namespace tapegrad
