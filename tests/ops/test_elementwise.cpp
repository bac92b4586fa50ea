#include <tapegrad/ops/elementwise.hpp>

#include <cmath>
#include <functional>
#include <string>

#include <gmock/gmock.h>

#include <tapegrad/core/broadcast.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::contracted;
using testing::random_away_from_zero;
using testing::random_tensor;
using testing::shaped;

using Binary = std::function<Var<double>(const Var<double>&, const Var<double>&)>;
using Unary = std::function<Var<double>(const Var<double>&)>;

struct NamedBinary {
  const char* name;
  Binary f;
};
const std::vector<NamedBinary>& binary_ops() {
  static const std::vector<NamedBinary> ops = {
      {"add", [](const Var<double>& a, const Var<double>& b) { return add(a, b); }},
      {"sub", [](const Var<double>& a, const Var<double>& b) { return sub(a, b); }},
      {"mul", [](const Var<double>& a, const Var<double>& b) { return mul(a, b); }},
      {"div", [](const Var<double>& a, const Var<double>& b) { return div(a, b); }}};
  return ops;
}


// ---- forward values ---------------------------------------------------------

TEST(Elementwise, BinaryForwardBroadcastsAColumn) {
  Tape<double> t;
  Var<double> a = t.constant(shaped({2, 3}, {1, 2, 3, 4, 5, 6}));
  Var<double> b = t.constant(shaped({2, 1}, {2, 4}));
  EXPECT_TRUE(all_close(t.value(add(a, b)), shaped({2, 3}, {3, 4, 5, 8, 9, 10}), 0, 0));
  EXPECT_TRUE(all_close(t.value(sub(a, b)), shaped({2, 3}, {-1, 0, 1, 0, 1, 2}), 0, 0));
  EXPECT_TRUE(all_close(t.value(mul(a, b)), shaped({2, 3}, {2, 4, 6, 16, 20, 24}), 0, 0));
  EXPECT_TRUE(all_close(t.value(div(a, b)), shaped({2, 3}, {0.5, 1, 1.5, 1, 1.25, 1.5}), 0, 0));
  EXPECT_TRUE(all_close(t.value(sub(b, a)), shaped({2, 3}, {1, 0, -1, 0, -1, -2}), 0, 0));
  // a rank-0 operand and a leading-axis operand
  Var<double> s = t.constant(Tensor<double>(10.0));
  EXPECT_TRUE(all_close(t.value(s - a), shaped({2, 3}, {9, 8, 7, 6, 5, 4}), 0, 0));
  Var<double> row = t.constant(Tensor<double>{1.0, 0.0, -1.0});
  EXPECT_TRUE(all_close(t.value(a * row), shaped({2, 3}, {1, 0, -3, 4, 0, -6}), 0, 0));
  EXPECT_EQ(t.value(s * s).dimension(), 0u);
  EXPECT_EQ(t.value(s * s)(), 100.0);
}

TEST(Elementwise, UnaryAndScalarForward) {
  Tape<double> t;
  Var<double> a = t.constant(shaped({2, 3}, {1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(all_close(t.value(neg(a)), shaped({2, 3}, {-1, -2, -3, -4, -5, -6}), 0, 0));
  EXPECT_TRUE(all_close(t.value(square(a)), shaped({2, 3}, {1, 4, 9, 16, 25, 36}), 0, 0));
  EXPECT_TRUE(all_close(t.value(add_scalar(a, 0.5)), shaped({2, 3}, {1.5, 2.5, 3.5, 4.5, 5.5, 6.5}), 0, 0));
  EXPECT_TRUE(all_close(t.value(mul_scalar(a, -2.0)), shaped({2, 3}, {-2, -4, -6, -8, -10, -12}), 0, 0));
  EXPECT_TRUE(all_close(t.value(div_scalar(a, 4.0)), shaped({2, 3}, {0.25, 0.5, 0.75, 1, 1.25, 1.5}), 0, 0));
  EXPECT_TRUE(all_close(t.value(rsub_scalar(10.0, a)), shaped({2, 3}, {9, 8, 7, 6, 5, 4}), 0, 0));
  EXPECT_TRUE(all_close(t.value(rdiv_scalar(12.0, a)), shaped({2, 3}, {12, 6, 4, 3, 2.4, 2}), 0, 0));
  const double e = std::exp(1.0);
  Var<double> x = t.constant(Tensor<double>{0.0, 1.0, -1.0, 2.0});
  EXPECT_TRUE(all_close(t.value(exp(x)), Tensor<double>{1.0, e, 1.0 / e, e * e}, 1e-15, 1e-15));
  Var<double> p = t.constant(Tensor<double>{1.0, e, 0.25, e * e * e});
  EXPECT_TRUE(all_close(t.value(log(p)), Tensor<double>{0.0, 1.0, -2.0 * std::log(2.0), 3.0}, 1e-15, 1e-15));
  // IEEE at the edges, recorded as-is outside anomaly mode
  Var<double> z = t.constant(Tensor<double>{0.0, -1.0});
  EXPECT_EQ(t.value(log(z))(0), -INFINITY);
  EXPECT_TRUE(std::isnan(t.value(log(z))(1)));
  EXPECT_EQ(t.value(rdiv_scalar(1.0, z))(0), INFINITY);
}

TEST(Elementwise, OperatorsMapToTheirOps) {
  Tape<double> t;
  Var<double> a = t.constant(Tensor<double>{2.0, -4.0});
  Var<double> b = t.constant(Tensor<double>{8.0, 0.5});
  struct Case {
    Var<double> v;
    const char* op;
    std::vector<double> expected;
  };
  const std::vector<Case> cases = {
      {a + b, "add", {10, -3.5}},        {a - b, "sub", {-6, -4.5}},        {a * b, "mul", {16, -2}},
      {a / b, "div", {0.25, -8}},        {-a, "neg", {-2, 4}},              {a + 3.0, "add_scalar", {5, -1}},
      {3.0 + a, "add_scalar", {5, -1}},  {a - 3.0, "add_scalar", {-1, -7}}, {3.0 - a, "rsub_scalar", {1, 7}},
      {a * 3.0, "mul_scalar", {6, -12}}, {3.0 * a, "mul_scalar", {6, -12}}, {a / 4.0, "div_scalar", {0.5, -1}},
      {8.0 / a, "rdiv_scalar", {4, -2}}, {a * 2, "mul_scalar", {4, -8}}};
  for (const Case& c : cases) {
    EXPECT_STREQ(t.record(c.v.id()).op, c.op);
    EXPECT_TRUE(all_close(t.value(c.v), shaped({2}, c.expected), 0, 0)) << c.op;
  }
}

TEST(Elementwise, FloatOperatorsTakeDoubleAndIntLiterals) {
  Tape<float> t;
  Var<float> x = t.constant(Tensor<float>{1.0f, 4.0f});
  // the scalar's type is not deduced: double and int literals convert to float
  EXPECT_TRUE(all_close(t.value(x * 2.0), Tensor<float>{2.0f, 8.0f}, 0, 0));
  EXPECT_TRUE(all_close(t.value(2.0 * x), Tensor<float>{2.0f, 8.0f}, 0, 0));
  EXPECT_TRUE(all_close(t.value(x + 1.0), Tensor<float>{2.0f, 5.0f}, 0, 0));
  EXPECT_TRUE(all_close(t.value(1.0 - x), Tensor<float>{0.0f, -3.0f}, 0, 0));
  EXPECT_TRUE(all_close(t.value(x / 2.0), Tensor<float>{0.5f, 2.0f}, 0, 0));
  EXPECT_TRUE(all_close(t.value(2.0 / x), Tensor<float>{2.0f, 0.5f}, 0, 0));
  EXPECT_TRUE(all_close(t.value(x * 3 - 1), Tensor<float>{2.0f, 11.0f}, 0, 0));
  // x / s is a true division (as NumPy), not x · (1/s): 3/3 and 0.3/0.1 round as a division does
  Var<float> y = t.constant(Tensor<float>{3.0f, 0.3f, 1e-3f});
  const Tensor<float>& q = t.value(y / 3.0);
  EXPECT_EQ(q(0), 1.0f);
  EXPECT_EQ(q(1), 0.3f / 3.0f);
  EXPECT_EQ(q(2), 1e-3f / 3.0f);
}

// ---- exact backward through broadcasting -----------------------------------

TEST(Elementwise, BackwardSumsOverBroadcastAxesExactly) {
  // a (3, 1) = [1, 2, 3]ᵀ, b (1, 4) = [1, 2, 4, 8], seeded with ones (3, 4)
  const Tensor<double> ones = xt::ones<double>(Shape{3, 4});
  struct Case {
    const char* op;
    std::vector<double> da, db;
  };
  const std::vector<Case> cases = {
      {"add", {4, 4, 4}, {3, 3, 3, 3}},
      {"sub", {4, 4, 4}, {-3, -3, -3, -3}},
      {"mul", {15, 15, 15}, {6, 6, 6, 6}},                              // Σ_j b_j, Σ_i a_i
      {"div", {1.875, 1.875, 1.875}, {-6.0, -1.5, -0.375, -0.09375}}};  // Σ_j 1/b_j, −Σ_i a_i / b_j²
  for (std::size_t k = 0; k < cases.size(); ++k) {
    Parameter<double> a(shaped({3, 1}, {1, 2, 3})), b(shaped({1, 4}, {1, 2, 4, 8}));
    Tape<double> t;
    t.backward(binary_ops()[k].f(t.watch(a), t.watch(b)), ones);
    EXPECT_TRUE(all_close(a.grad, shaped({3, 1}, cases[k].da), 0, 0)) << cases[k].op;
    EXPECT_TRUE(all_close(b.grad, shaped({1, 4}, cases[k].db), 0, 0)) << cases[k].op;
  }
}

// ---- gradcheck over shapes --------------------------------------------------

TEST(Elementwise, BinaryGradcheckOverBroadcastShapes) {
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {{2, 3}, {2, 3}},    {{3, 1}, {1, 4}}, {{4}, {2, 3, 4}},   {{2, 3, 4}, {4}},
      {{2, 1, 3}, {4, 1}}, {{}, {2, 3}},     {{2, 3}, {}},       {{}, {}},
      {{1}, {3, 2}},       {{0, 3}, {1, 3}}, {{3}, {0, 3}},      {{0, 3}, {0, 3}}};
  std::uint64_t seed = 100;
  for (const auto& op : binary_ops()) {
    for (const auto& [sa, sb] : pairs) {
      const Tensor<double> a = random_tensor(sa, ++seed);
      // div's divisor kept away from 0; for the others a spread around 0
      const Tensor<double> b = std::string(op.name) == "div" ? random_away_from_zero(sb, ++seed, 0.3)
                                                             : random_tensor(sb, ++seed);
      auto f = [&op](Tape<double>&, const std::vector<Var<double>>& v) { return op.f(v[0], v[1]); };
      const GradcheckReport rep = gradcheck(f, {a, b}, contracted());
      // two empty inputs: nothing to check, which gradcheck calls inconclusive
      EXPECT_TRUE(a.size() + b.size() ? rep.passed : rep.inconclusive) << op.name << " " << shape_str(sa) << " with " << shape_str(sb) << ": "
                              << rep.summary();
      EXPECT_EQ(rep.checked, a.size() + b.size()) << op.name;
    }
  }
}

TEST(Elementwise, UnaryGradcheckOverShapes) {
  struct NamedUnary {
    const char* name;
    Unary f;
    bool positive;  // domain: (0.3, 2) rather than away from zero in [-1.3, 1.3]
  };
  const std::vector<NamedUnary> ops = {
      {"neg", [](const Var<double>& x) { return neg(x); }, false},
      {"exp", [](const Var<double>& x) { return exp(x); }, false},
      {"log", [](const Var<double>& x) { return log(x); }, true},
      {"square", [](const Var<double>& x) { return square(x); }, false},
      {"add_scalar", [](const Var<double>& x) { return add_scalar(x, 1.7); }, false},
      {"mul_scalar", [](const Var<double>& x) { return mul_scalar(x, -2.5); }, false},
      {"div_scalar", [](const Var<double>& x) { return div_scalar(x, 0.4); }, false},
      {"rsub_scalar", [](const Var<double>& x) { return rsub_scalar(3.0, x); }, false},
      {"rdiv_scalar", [](const Var<double>& x) { return rdiv_scalar(-1.5, x); }, false}};
  const std::vector<Shape> shapes = {{}, {5}, {2, 3}, {2, 1, 3}, {0, 3}};
  std::uint64_t seed = 500;
  for (const auto& op : ops) {
    for (const Shape& s : shapes) {
      const Tensor<double> x = op.positive ? random_tensor(s, ++seed, 0.3, 2.0) : random_away_from_zero(s, ++seed, 0.3);
      auto f = [&op](Tape<double>&, const std::vector<Var<double>>& v) { return op.f(v[0]); };
      const GradcheckReport rep = gradcheck(f, {x}, contracted());
      EXPECT_TRUE(x.size() ? rep.passed : rep.inconclusive) << op.name << " " << shape_str(s) << ": " << rep.summary();
      EXPECT_EQ(rep.checked, x.size()) << op.name;
    }
  }
}

TEST(Elementwise, ComposedExpressionGradcheckWithAliasing) {
  // f(a, b, c) = log(a² + 1) · exp(b) / (c − 3) + a·a − b/b, broadcasting (3,1), (1,4), (4,)
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
    const Var<double>& a = v[0];
    const Var<double>& b = v[1];
    const Var<double>& c = v[2];
    return log(square(a) + 1.0) * exp(b) / (c - 3.0) + a * a - b / b;
  };
  const std::vector<Tensor<double>> in = {random_tensor({3, 1}, 1), random_away_from_zero({1, 4}, 2),
                                          random_tensor({4}, 3)};
  const GradcheckReport rep = gradcheck(f, in, contracted());
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.checked, 11u);
  // the same one-element loss without contraction: a (1,) chain
  EXPECT_TRUE(testing::gradcheck_passes(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return exp(v[0]) * v[0] - 2.0 / v[0]; },
      {Tensor<double>{0.6}}));
}

TEST(Elementwise, ZeroLengthAxisGivesEmptyValuesAndZeroGradients) {
  Parameter<double> a(Tensor<double>(xt::zeros<double>(Shape{0, 3}))), b(shaped({1, 3}, {1, 2, 3}));
  b.grad = shaped({1, 3}, {5, 5, 5});  // accumulated from before: must be left as is
  Tape<double> t;
  Var<double> y = t.watch(a) * t.watch(b);
  EXPECT_EQ(to_shape(t.value(y).shape()), (Shape{0, 3}));
  t.backward(y, Tensor<double>(xt::zeros<double>(Shape{0, 3})));
  EXPECT_EQ(to_shape(a.grad.shape()), (Shape{0, 3}));
  EXPECT_TRUE(all_close(b.grad, shaped({1, 3}, {5, 5, 5}), 0, 0));
  // an intermediate's gradient summed over zero rows is exactly zero
  Var<double> bb = square(t.watch(b));
  Var<double> z = t.watch(a) + bb;
  t.backward(z, Tensor<double>(xt::zeros<double>(Shape{0, 3})));
  EXPECT_TRUE(all_close(t.grad(bb), shaped({1, 3}, {0, 0, 0}), 0, 0));
}

TEST(Elementwise, RecordsReusedWithNewShapesGiveCorrectResults) {
  // one tape, shapes changing from step to step: buffers are resized, never stale
  Tape<double> t;
  const std::vector<std::pair<Shape, Shape>> steps = {{{2, 3}, {2, 3}}, {{3, 1}, {1, 4}}, {{}, {5}}, {{2, 3}, {3}}};
  std::uint64_t seed = 900;
  for (const auto& [sa, sb] : steps) {
    Parameter<double> a(random_tensor(sa, ++seed)), b(random_away_from_zero(sb, ++seed));
    t.clear();
    Var<double> av = t.watch(a), bv = t.watch(b);
    Var<double> y = av * bv / bv + av;  // = 2a broadcast to the output's shape
    const Shape out = broadcast_shape("test", sa, sb);
    Tensor<double> expected = xt::broadcast(2.0 * a.value, out);
    EXPECT_TRUE(all_close(t.value(y), expected, 1e-15, 1e-15)) << shape_str(sa) << shape_str(sb);
    t.backward(y, Tensor<double>(xt::ones<double>(out)));
    const double per_a = double(expected.size()) / double(std::max<std::size_t>(a.value.size(), 1));
    EXPECT_TRUE(all_close(a.grad, Tensor<double>(xt::full_like(a.value, 2.0 * per_a)), 1e-14, 1e-14));
    EXPECT_TRUE(all_close(b.grad, Tensor<double>(xt::zeros_like(b.value)), 1e-14, 0));
  }
}

// ---- errors -----------------------------------------------------------------

TEST(Elementwise, ShapeErrorsNameTheOpAndBothShapesAndRecordNothing) {
  for (const auto& op : binary_ops()) {
    Tape<double> t;
    Var<double> a = t.constant(xt::zeros<double>(Shape{2, 3}));
    Var<double> b = t.constant(xt::zeros<double>(Shape{3, 2}));
    Var<double> e = t.constant(xt::zeros<double>(Shape{0, 3}));
    try {
      op.f(a, b);
      ADD_FAILURE() << op.name << ": expected an Error";
    } catch (const Error& err) {
      EXPECT_EQ(std::string(err.what()),
                std::string(op.name) + ": shapes (2, 3) and (3, 2) cannot be broadcast together");
    }
    EXPECT_THROW(op.f(e, a), Error) << op.name << ": 0 against 2 must not broadcast";
    EXPECT_EQ(t.size(), 3u) << op.name << ": a failed op left a record behind";
  }
  Tape<double> t;
  Var<double> a = t.constant(xt::zeros<double>(Shape{4}));
  Var<double> b = t.constant(xt::zeros<double>(Shape{2, 3}));
  try {
    a / b;
    FAIL() << "expected an Error";
  } catch (const Error& err) {
    EXPECT_THAT(err.what(), HasSubstr("div: shapes (4) and (2, 3)"));
  }
}

// ---- float agrees with double -----------------------------------------------

template <class T>
Var<T> mixed(const Var<T>& a, const Var<T>& b, const Var<T>& c) {
  return log(square(a) + 1.0) * exp(b) / (c - 3.0) - 2.0 / b + neg(a) * 0.5;
}

TEST(Elementwise, FloatAgreesWithDouble) {
  const Tensor<double> ad = random_tensor({3, 1}, 11), bd = random_away_from_zero({1, 4}, 12),
                       cd = random_tensor({4}, 13), seedd = random_tensor({3, 4}, 14);
  Parameter<double> a(ad), b(bd), c(cd);
  Tape<double> td;
  Var<double> yd = mixed(td.watch(a), td.watch(b), td.watch(c));
  td.backward(yd, seedd);

  Parameter<float> af(xt::cast<float>(ad)), bf(xt::cast<float>(bd)), cf(xt::cast<float>(cd));
  Tape<float> tf;
  Var<float> yf = mixed(tf.watch(af), tf.watch(bf), tf.watch(cf));
  tf.backward(yf, xt::cast<float>(seedd));

  auto as_float = [](const Tensor<double>& x) { return Tensor<float>(xt::cast<float>(x)); };
  EXPECT_TRUE(all_close(tf.value(yf), as_float(td.value(yd)), 1e-5, 1e-5));
  EXPECT_TRUE(all_close(af.grad, as_float(a.grad), 1e-5, 1e-4));
  EXPECT_TRUE(all_close(bf.grad, as_float(b.grad), 1e-5, 1e-4));
  EXPECT_TRUE(all_close(cf.grad, as_float(c.grad), 1e-5, 1e-4));
}

}  // namespace
}  // namespace tapegrad
