#include <gmock/gmock.h>

#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include "support/support.hpp"

#include <cblas.h>

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::gradcheck_passes;
using testing::random_tensor;
using testing::weighted_sum;

// Naive triple loop, the reference for BLAS.
Tensor<double> naive_matmul(const Tensor<double>& a, const Tensor<double>& b) {
  Tensor<double> c = xt::zeros<double>({a.shape()[0], b.shape()[1]});
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t j = 0; j < b.shape()[1]; ++j)
      for (std::size_t p = 0; p < a.shape()[1]; ++p) c(i, j) += a(i, p) * b(p, j);
  return c;
}

const Tensor<double> kA = {{1, 2, 3}, {4, 5, 6}};
const Tensor<double> kB = {{7, 8}, {9, 10}, {11, 12}};

TEST(Matmul, ForwardHandComputed) {
  Tape<double> t;
  Var<double> c = matmul(t.constant(kA), t.constant(kB));
  // [1·7+2·9+3·11, 1·8+2·10+3·12; 4·7+5·9+6·11, 4·8+5·10+6·12]
  const Tensor<double> expected = {{58, 64}, {139, 154}};
  EXPECT_TRUE(all_close(c.value(), expected, 0, 0));
}

TEST(Matmul, BackwardHandComputed) {
  Parameter<double> a(kA), b(kB);
  Tape<double> t;
  Var<double> c = matmul(t.watch(a), t.watch(b));
  const Tensor<double> seed = {{1, 0}, {0, 2}};
  t.backward(c, seed);
  // dA = G·Bᵀ: row 0 is column 0 of B, row 1 is twice column 1 of B
  const Tensor<double> da = {{7, 9, 11}, {16, 20, 24}};
  // dB = Aᵀ·G: column 0 is row 0 of A, column 1 is twice row 1 of A
  const Tensor<double> db = {{1, 8}, {2, 10}, {3, 12}};
  EXPECT_TRUE(all_close(a.grad, da, 0, 0));
  EXPECT_TRUE(all_close(b.grad, db, 0, 0));
}

TEST(Matmul, ForwardMatchesNaiveLoopOnRandomShapes) {
  const std::vector<std::array<std::size_t, 3>> shapes = {{5, 7, 3}, {1, 9, 1}, {8, 1, 6}, {13, 17, 11}};
  std::uint64_t seed = 10;
  for (const auto& [m, k, n] : shapes) {
    const Tensor<double> a = random_tensor({m, k}, seed++), b = random_tensor({k, n}, seed++);
    Tape<double> t;
    Var<double> c = matmul(t.constant(a), t.constant(b));
    EXPECT_TRUE(all_close(c.value(), naive_matmul(a, b), 1e-12, 1e-12)) << m << "x" << k << "x" << n;
  }
}

TEST(Matmul, GradcheckRandomShapes) {
  // includes row and column vectors (1×k, k×1), a 1×1 product, an outer product,
  // and narrow outputs with k >= 16, m >= 8 (full blocks and remainders of ops/linalg.cpp's kernel)
  const std::vector<std::array<std::size_t, 3>> shapes = {{3, 4, 5},   {1, 6, 4},  {4, 6, 1},   {1, 5, 1},
                                                          {1, 1, 1},   {5, 1, 3},  {6, 2, 7},   {17, 19, 3},
                                                          {9, 18, 8}, {10, 21, 1}, {11, 17, 9}};
  std::uint64_t seed = 100;
  for (const auto& [m, k, n] : shapes) {
    auto f = [&, s = seed](Tape<double>&, const std::vector<Var<double>>& v) {
      return weighted_sum(matmul(v[0], v[1]), s);
    };
    EXPECT_TRUE(gradcheck_passes(f, {random_tensor({m, k}, seed + 1), random_tensor({k, n}, seed + 2)}))
        << m << "x" << k << "x" << n;
    seed += 3;
  }
}

TEST(Matmul, GradcheckWithZeroLengthAxes) {
  // The operands pass through `· 1.5` so their gradients land in intermediate
  // buffers, which must be zero-filled when an empty inner product feeds them.
  const std::vector<std::array<std::size_t, 3>> shapes = {{0, 3, 2}, {2, 3, 0}, {2, 0, 3}, {0, 0, 0}};
  for (const auto& [m, k, n] : shapes) {
    auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
      return weighted_sum(matmul(v[0] * 1.5, v[1] * 1.5), 7);
    };
    const std::vector<Tensor<double>> in = {random_tensor({m, k}, 1), random_tensor({k, n}, 2)};
    if (in[0].size() + in[1].size())
      EXPECT_TRUE(gradcheck_passes(f, in)) << m << "x" << k << "x" << n;
    else  // both operands empty: nothing to check, which gradcheck calls inconclusive
      EXPECT_TRUE(gradcheck(f, in).inconclusive) << m << "x" << k << "x" << n;
  }
}

TEST(Matmul, EmptyInnerDimensionGivesExactZerosInReusedBuffers) {
  // First fill the records' buffers with nonzeros, then reuse them after clear():
  // an empty product must overwrite them with zeros, forward and backward.
  Parameter<double> a(random_tensor({2, 3}, 1)), b(random_tensor({3, 4}, 2));
  Parameter<double> a0(Tensor<double>(xt::zeros<double>({2, 0})));
  Parameter<double> b0(Tensor<double>(xt::zeros<double>({0, 4})));
  Parameter<double> b1(random_tensor({3, 4}, 3));
  Tape<double> t;
  t.backward(matmul(t.watch(a) * 1.0, t.watch(b) * 1.0), xt::ones<double>({2, 4}));
  t.clear();
  Var<double> c = matmul(t.watch(a0) * 1.0, t.watch(b0) * 1.0);
  EXPECT_TRUE(all_close(c.value(), Tensor<double>(xt::zeros<double>({2, 4})), 0, 0));

  // m = 0: dB = Aᵀ·G sums over no rows, so it is exactly zero. Record #1 (h)
  // first holds a nonzero gradient of the same shape, then is reused.
  t.clear();
  Parameter<double> e(Tensor<double>(xt::zeros<double>({0, 3})));
  Var<double> h = t.watch(b1) * 1.0;
  t.backward(matmul(t.watch(a) * 1.0, h), xt::ones<double>({2, 4}));
  ASSERT_GT(xt::amax(xt::abs(t.grad(h)))(), 0.0);
  b1.zero_grad();
  t.clear();
  h = t.watch(b1) * 1.0;
  t.backward(matmul(t.watch(e) * 1.0, h), Tensor<double>(xt::zeros<double>({0, 4})));
  EXPECT_TRUE(all_close(t.grad(h), Tensor<double>(xt::zeros<double>({3, 4})), 0, 0));
  EXPECT_TRUE(all_close(b1.grad, Tensor<double>(xt::zeros<double>({3, 4})), 0, 0));
}

TEST(Matmul, SameVarAsBothOperands) {
  // C = X·X: dX = G·Xᵀ + Xᵀ·G, both gemms adding into one buffer
  const Tensor<double> x0 = random_tensor({4, 4}, 5), g = random_tensor({4, 4}, 6);
  Parameter<double> x(x0);
  Tape<double> t;
  Var<double> v = t.watch(x);
  t.backward(matmul(v, v), g);
  const Tensor<double> expected = naive_matmul(g, xt::transpose(x0)) + naive_matmul(xt::transpose(x0), g);
  EXPECT_TRUE(all_close(x.grad, expected, 1e-12, 1e-12));

  // and through an intermediate, whose grad buffer starts fresh
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
    Var<double> h = v[0] * 2.0;
    return weighted_sum(matmul(h, h), 9);
  };
  EXPECT_TRUE(gradcheck_passes(f, {random_tensor({5, 5}, 8)}));
}

TEST(Matmul, GradientAccumulatesAcrossUses) {
  // h feeds two products, so its second contribution must add (beta = 1)
  auto f = [](Tape<double>& t, const std::vector<Var<double>>& v) {
    Var<double> h = v[0] * 0.5;
    Var<double> w = t.constant(random_tensor({2, 3}, 4));
    return weighted_sum(matmul(h, v[1]) + matmul(h, v[2]), 11) + weighted_sum(matmul(v[1], w), 12);
  };
  EXPECT_TRUE(gradcheck_passes(f, {random_tensor({3, 4}, 1), random_tensor({4, 2}, 2), random_tensor({4, 2}, 3)}));
}

TEST(Matmul, FloatAgreesWithDouble) {
  const Tensor<double> a = random_tensor({17, 33}, 21), b = random_tensor({33, 9}, 22);
  const Tensor<double> g = random_tensor({17, 9}, 23);
  Parameter<double> ad(a), bd(b);
  Parameter<float> af(xt::cast<float>(a)), bf(xt::cast<float>(b));
  Tape<double> td;
  Tape<float> tf;
  Var<double> cd = matmul(td.watch(ad), td.watch(bd));
  Var<float> cf = matmul(tf.watch(af), tf.watch(bf));
  td.backward(cd, g);
  tf.backward(cf, xt::cast<float>(g));
  EXPECT_TRUE(all_close(cf.value(), Tensor<float>(xt::cast<float>(cd.value())), 1e-5, 1e-5));
  EXPECT_TRUE(all_close(af.grad, Tensor<float>(xt::cast<float>(ad.grad)), 1e-5, 1e-5));
  EXPECT_TRUE(all_close(bf.grad, Tensor<float>(xt::cast<float>(bd.grad)), 1e-5, 1e-5));
}

// Small and narrow products run with OpenBLAS on one thread (ops/linalg.cpp);
// the caller's thread count is restored after each call, and the results are
// those of the naive loop for the shapes of a linear classifier's step.
TEST(Matmul, SmallAndNarrowProductsRestoreTheBlasThreadCount) {
  const int before = openblas_get_num_threads();
  for (auto [m, k, n] : {std::array<std::size_t, 3>{256, 78, 10}, std::array<std::size_t, 3>{300, 1, 9},
                         std::array<std::size_t, 3>{70, 70, 70}, std::array<std::size_t, 3>{270, 260, 250}}) {
    Tape<double> t;
    Parameter<double> a(random_tensor({m, k}, 1 + m), "a");
    Parameter<double> b(random_tensor({k, n}, 2 + n), "b");
    const Var<double> c = matmul(t.watch(a), t.watch(b));
    EXPECT_EQ(openblas_get_num_threads(), before);
    EXPECT_TRUE(all_close(t.value(c), naive_matmul(a.value, b.value), 1e-12, 1e-10));
    t.backward(c, xt::ones<double>({m, n}));  // dA = 1·Bᵀ: each row of dA is B's row sums
    EXPECT_EQ(openblas_get_num_threads(), before);
    const Tensor<double> row_sums = xt::sum(b.value, {1});
    for (std::size_t i = 0; i < m; i += 37)
      for (std::size_t j = 0; j < k; ++j) EXPECT_NEAR(a.grad(i, j), row_sums(j), 1e-10);
  }
  openblas_set_num_threads(1);  // a caller's own setting survives too
  Tape<double> t;
  Parameter<double> a(random_tensor({300, 300}, 3), "a");
  matmul(t.watch(a), t.watch(a));
  EXPECT_EQ(openblas_get_num_threads(), 1);
  openblas_set_num_threads(before);
}

// Outputs at most one SIMD register wide (n <= 16 floats / 8 doubles) take a
// dedicated kernel in ops/linalg.cpp (C = A·B by row blocks of 8, dB = Aᵀ·G by
// column strips of 16); wider ones take BLAS. Row counts and inner extents that
// are not multiples of those blocks exercise the remainders; the records are
// reused after clear(), so a fresh result must overwrite, and W feeding two
// products must accumulate its second gradient.
template <class T>
void check_narrow_products(const std::vector<std::array<std::size_t, 3>>& shapes, double tol) {
  std::uint64_t seed = 500;
  for (const auto& [m, k, n] : shapes) {
    const Tensor<double> a = random_tensor({m, k}, seed++), a2 = random_tensor({m, k}, seed++);
    const Tensor<double> w = random_tensor({k, n}, seed++), g = random_tensor({m, n}, seed++);
    Parameter<T> pa(xt::cast<T>(a)), pa2(xt::cast<T>(a2)), pw(xt::cast<T>(w));
    Tape<T> t;
    for (int round = 0; round < 2; ++round) {  // round 1 reuses round 0's buffers
      pa.zero_grad();
      pa2.zero_grad();
      pw.zero_grad();
      t.clear();
      const Var<T> wv = t.watch(pw);
      const Var<T> c = matmul(t.watch(pa), wv), c2 = matmul(t.watch(pa2), wv);
      EXPECT_TRUE(all_close(Tensor<double>(xt::cast<double>(t.value(c))), naive_matmul(a, w), tol, tol))
          << m << "x" << k << "x" << n << " round " << round;
      t.backward(c + c2 * T(2), Tensor<T>(xt::cast<T>(g)));
      const Tensor<double> dw = naive_matmul(xt::transpose(a), g) + naive_matmul(xt::transpose(a2), 2.0 * g);
      EXPECT_TRUE(all_close(Tensor<double>(xt::cast<double>(pw.grad)), dw, tol, tol))
          << m << "x" << k << "x" << n << " round " << round;
      EXPECT_TRUE(all_close(Tensor<double>(xt::cast<double>(pa.grad)), naive_matmul(g, xt::transpose(w)), tol, tol))
          << m << "x" << k << "x" << n << " round " << round;
    }
  }
}

TEST(Matmul, NarrowOutputKernelMatchesNaiveLoopInFloat) {
  check_narrow_products<float>(
      {{19, 33, 1}, {256, 784, 10}, {9, 7, 16}, {8, 16, 10}, {21, 37, 17}, {3, 50, 5}, {1, 1, 1}}, 1e-4);
}

TEST(Matmul, NarrowOutputKernelMatchesNaiveLoopInDouble) {
  check_narrow_products<double>({{19, 33, 1}, {64, 100, 8}, {9, 7, 9}, {21, 37, 10}, {7, 17, 16}, {17, 3, 17}},
                                1e-12);
}

TEST(Matmul, ErrorsNameTheShapes) {
  Tape<float> t;
  Var<float> x = t.constant(xt::zeros<float>({64, 784}));
  Var<float> w = t.constant(xt::zeros<float>({10, 784}));
  try {
    matmul(x, w);
    FAIL() << "no error for mismatched inner dimensions";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "matmul: inner dimensions differ: (64, 784) x (10, 784)");
  }
  Var<float> v = t.constant(xt::zeros<float>({3}));
  Var<float> m = t.constant(xt::zeros<float>({3, 4}));
  try {
    matmul(v, m);
    FAIL() << "no error for a 1-D operand";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "matmul: expected 2-D operands, got (3) x (3, 4)");
  }
  Var<float> cube = t.constant(xt::zeros<float>({2, 3, 4}));
  EXPECT_THROW(
      {
        try {
          matmul(m, cube);
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), HasSubstr("(3, 4) x (2, 3, 4)"));
          throw;
        }
      },
      Error);
  // a failed call leaves no half-built record behind
  EXPECT_EQ(t.size(), 5u);
  Tape<float> other;
  Var<float> foreign = other.constant(xt::zeros<float>({784, 2}));
  try {
    matmul(x, foreign);
    FAIL() << "no error for a Var of another tape";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("matmul: Var #0 belongs to another tape"));
  }
}

// BLAS takes int extents: larger ones are refused before any allocation or call
// (the operands here are empty, so nothing large is allocated).
TEST(Matmul, ExtentsBeyondBlasIntRangeAreAnError) {
  Tape<double> t;
  Var<double> a = t.constant(Tensor<double>(xt::zeros<double>(Shape{0, 3000000000ul})));
  Var<double> b = t.constant(Tensor<double>(xt::zeros<double>(Shape{3000000000ul, 0})));
  EXPECT_THAT([&] { matmul(a, b); },
              ::testing::ThrowsMessage<Error>(::testing::StrEq(
                  "matmul: extents of (0, 3000000000) x (3000000000, 0) exceed BLAS's int range")));
  EXPECT_EQ(t.size(), 2u);
}

}  // namespace
}  // namespace tapegrad
