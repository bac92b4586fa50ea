#include <tapegrad/core/tape.hpp>

#include <cmath>

#include <gmock/gmock.h>

#include <tapegrad/ops/elementwise.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::error_of;
using testing::random_tensor;
using testing::shaped;

// Test-local ops, written as every op is (forward, then a captureless backward).

// Counts how often its backward runs: y = x.
int g_identity_backward_runs = 0;
Var<double> counted_identity(const Var<double>& x) {
  Tape<double>& t = x.tape();
  Record<double>& r = t.push("counted_identity", {x}, [](Tape<double>& t, Record<double>& r) {
    ++g_identity_backward_runs;
    t.accumulate(r.inputs[0], r.grad);
  }, nullptr);
  r.value = t.value(x);
  return t.commit(r);
}

// A backward that hands accumulate a gradient of the wrong shape.
Var<double> wrong_grad_shape(const Var<double>& x) {
  Tape<double>& t = x.tape();
  Record<double>& r = t.push("wrong_grad_shape", {x}, [](Tape<double>& t, Record<double>& r) {
    t.accumulate(r.inputs[0], Tensor<double>(xt::ones<double>(Shape{7})));
  }, nullptr);
  r.value = t.value(x);
  return t.commit(r);
}

TEST(Tape, VarUsedTwiceAccumulates) {
  Parameter<double> x(Tensor<double>{3.0});
  Tape<double> t;
  Var<double> v = t.watch(x);
  t.backward(v * v + v);  // d/dx (x² + x) = 2x + 1 = 7
  EXPECT_DOUBLE_EQ(x.grad(0), 7.0);
}

TEST(Tape, SameVarAsBothInputsOfOneOp) {
  Parameter<double> x(Tensor<double>{{1.0, -2.0}, {0.5, 3.0}});
  Tape<double> t;
  Var<double> v = t.watch(x);
  t.backward(v * v, xt::ones<double>(Shape{2, 2}));  // d(x·x) = 2x
  EXPECT_TRUE(all_close(x.grad, Tensor<double>(2.0 * x.value), 0, 0));
  x.zero_grad();
  t.backward(v + v, xt::ones<double>(Shape{2, 2}));  // d(x + x) = 2
  EXPECT_TRUE(all_close(x.grad, Tensor<double>(xt::full_like(x.value, 2.0)), 0, 0));
  x.zero_grad();
  t.backward(v / v, xt::ones<double>(Shape{2, 2}));  // x/x is constant: 1/x − x/x² = 0
  EXPECT_TRUE(all_close(x.grad, Tensor<double>(xt::zeros_like(x.value)), 1e-15, 0));
  x.zero_grad();
  t.backward(v - v, xt::ones<double>(Shape{2, 2}));
  EXPECT_TRUE(all_close(x.grad, Tensor<double>(xt::zeros_like(x.value)), 0, 0));
}

TEST(Tape, DiamondGraph) {
  // a = eˣ, b = x², c = a·b, L = c + a:  dL/dx = eˣx² + 2xeˣ + eˣ
  const double x0 = 0.7;
  Parameter<double> x(Tensor<double>{x0});
  Tape<double> t;
  Var<double> xv = t.watch(x);
  Var<double> a = exp(xv), b = square(xv);
  Var<double> c = a * b;
  t.backward(c + a);
  const double e = std::exp(x0);
  EXPECT_NEAR(x.grad(0), e * x0 * x0 + 2 * x0 * e + e, 1e-14);
  EXPECT_NEAR(t.grad(a)(0), x0 * x0 + 1, 1e-14);  // dL/da = b + 1
  EXPECT_NEAR(t.grad(b)(0), e, 1e-14);            // dL/db = a
  EXPECT_DOUBLE_EQ(t.grad(c)(0), 1.0);
}

TEST(Tape, ParameterWatchedInTwoPlacesGetsBothContributions) {
  // w watched twice (as two layers sharing a weight would): L = (w·x)·w = w²x
  Parameter<double> w(Tensor<double>{1.5, -0.5}), x(Tensor<double>{2.0, 3.0});
  Tape<double> t;
  Var<double> w1 = t.watch(w), xv = t.watch(x), w2 = t.watch(w);
  t.backward(w1 * xv * w2, xt::ones<double>(Shape{2}));
  EXPECT_TRUE(all_close(w.grad, Tensor<double>{6.0, -3.0}, 1e-15, 0));  // 2wx
  EXPECT_TRUE(all_close(x.grad, Tensor<double>{2.25, 0.25}, 1e-15, 0));  // w²
}

// One training-like step, exp(w ⊙ x + b) with w (1, 4), x (3, 4), b (3, 1), seeded
// with ones. Records: 0 watch w, 1 constant x, 2 mul, 3 watch b, 4 add, 5 exp.
void step(Tape<double>& t, Parameter<double>& w, Parameter<double>& b, const Tensor<double>& x) {
  Var<double> wv = t.watch(w);
  Var<double> xc = t.constant(x);
  Var<double> m = wv * xc;
  Var<double> bv = t.watch(b);
  Var<double> out = exp(m + bv);
  t.backward(out, Tensor<double>(xt::ones<double>(Shape{3, 4})));
}

TEST(Tape, StepsWithClearMatchFreshTapesAndReuseBuffers) {
  Parameter<double> w(random_tensor({1, 4}, 1)), b(random_tensor({3, 1}, 2));
  Parameter<double> w_ref = w, b_ref = b;
  Tape<double> reused;
  std::vector<const double*> value_ptrs, grad_ptrs, aux_ptrs;
  for (int s = 0; s < 3; ++s) {
    const Tensor<double> x = random_tensor({3, 4}, 10 + s);
    reused.clear();
    w.zero_grad();
    b.zero_grad();
    step(reused, w, b, x);
    Tape<double> fresh;
    w_ref.zero_grad();
    b_ref.zero_grad();
    step(fresh, w_ref, b_ref, x);
    EXPECT_TRUE(all_close(w.grad, w_ref.grad, 0, 0)) << "step " << s;
    EXPECT_TRUE(all_close(b.grad, b_ref.grad, 0, 0)) << "step " << s;
    ASSERT_EQ(reused.size(), 6u);
    EXPECT_STREQ(reused.record(2).op, "mul");
    EXPECT_STREQ(reused.record(4).op, "add");
    value_ptrs.push_back(reused.record(2).value.data());
    grad_ptrs.push_back(reused.record(2).grad.data());
    aux_ptrs.push_back(reused.record(4).scratch.data());  // the add's scratch for b's unbroadcast
  }
  // same shapes every step: the records' buffers are reused, not reallocated
  EXPECT_EQ(value_ptrs[0], value_ptrs[1]);
  EXPECT_EQ(value_ptrs[1], value_ptrs[2]);
  EXPECT_EQ(grad_ptrs[0], grad_ptrs[2]);
  EXPECT_EQ(aux_ptrs[0], aux_ptrs[2]);
}

TEST(Tape, ParameterGradsAccumulateAcrossBackwardsUntilZeroGrad) {
  Parameter<double> x(Tensor<double>{2.0});
  Tape<double> t;
  t.backward(square(t.watch(x)));  // 2x = 4
  t.clear();
  t.backward(square(t.watch(x)));
  EXPECT_DOUBLE_EQ(x.grad(0), 8.0);
  x.zero_grad();
  EXPECT_DOUBLE_EQ(x.grad(0), 0.0);
  t.clear();
  t.backward(square(t.watch(x)));
  EXPECT_DOUBLE_EQ(x.grad(0), 4.0);
}

TEST(Tape, BackwardTwiceWithoutClearAddsAgainButIntermediatesStartFresh) {
  Parameter<double> x(Tensor<double>{3.0});
  Tape<double> t;
  Var<double> xv = t.watch(x);
  Var<double> y = square(xv);
  Var<double> loss = y * 2.0;
  t.backward(loss);
  t.backward(loss);
  EXPECT_DOUBLE_EQ(x.grad(0), 24.0);     // 2 · (2·2x)
  EXPECT_DOUBLE_EQ(t.grad(y)(0), 2.0);   // this sweep's dL/dy, not 4
  EXPECT_DOUBLE_EQ(t.grad(xv)(0), 24.0);  // a leaf's grad is its Parameter's
  // a second loss earlier on the tape: gradients recorded after it are forgotten
  t.backward(y);
  EXPECT_THAT(error_of([&] { t.grad(loss); }), HasSubstr("no gradient reached Var #2 (mul_scalar)"));
  EXPECT_DOUBLE_EQ(t.grad(y)(0), 1.0);
}

TEST(Tape, NoGradRecordsValuesOnly) {
  Parameter<double> x(Tensor<double>{1.0, 2.0});
  x.grad = {5.0, 5.0};
  Tape<double> t;
  Var<double> y;
  {
    NoGrad<double> ng(t);
    EXPECT_FALSE(t.grad_enabled());
    y = square(t.watch(x)) + 1.0;
    EXPECT_TRUE(all_close(t.value(y), Tensor<double>{2.0, 5.0}, 0, 0));
    EXPECT_FALSE(t.needs_grad(y.id()));
    EXPECT_EQ(t.record(y.id()).backward, nullptr);
  }
  EXPECT_TRUE(t.grad_enabled());
  EXPECT_EQ(error_of([&] { t.backward(y, Tensor<double>{1.0, 1.0}); }),
            "backward: the output (record #2, add_scalar) depends on no watched parameter (only constants, or "
            "recorded under NoGrad): no gradient would reach anything");
  EXPECT_TRUE(all_close(x.grad, Tensor<double>{5.0, 5.0}, 0, 0));
  EXPECT_THAT(error_of([&] { t.grad(y); }), HasSubstr("tape.grad: no gradient reached Var #2"));
}

TEST(Tape, BackwardThatReachesNoParameterIsAnErrorAndLeavesGradsUntouched) {
  Parameter<double> x(Tensor<double>{1.0});
  x.grad = {5.0};
  Tape<double> t;
  t.watch(x);
  Var<double> c = t.constant(Tensor<double>{2.0});
  EXPECT_EQ(error_of([&] { t.backward(c * 3.0); }),
            "backward: the output (record #2, mul_scalar) depends on no watched parameter (only constants, or "
            "recorded under NoGrad): no gradient would reach anything");
  EXPECT_DOUBLE_EQ(x.grad(0), 5.0);
}

TEST(Tape, RecordsNoParameterDependsOnAreSkipped) {
  Parameter<double> x(Tensor<double>{2.0});
  Tape<double> t;
  Var<double> xv = t.watch(x);
  Var<double> c = counted_identity(t.constant(Tensor<double>{4.0}));  // constant branch
  Var<double> after = counted_identity(xv * 5.0);                     // recorded, not in the loss
  Var<double> used = counted_identity(xv);
  (void)after;
  g_identity_backward_runs = 0;
  t.backward(used * c);  // L = x·4
  EXPECT_EQ(g_identity_backward_runs, 1);  // only `used`'s
  EXPECT_DOUBLE_EQ(x.grad(0), 4.0);
  EXPECT_FALSE(t.needs_grad(c.id()));
  EXPECT_THAT(error_of([&] { t.grad(c); }), HasSubstr("no gradient reached"));
  EXPECT_THAT(error_of([&] { t.grad(after); }), HasSubstr("(counted_identity)"));
}

TEST(Tape, GradOfAnIntermediate) {
  Parameter<double> x(Tensor<double>{{1.0, 2.0, 3.0}});
  Tape<double> t;
  Var<double> xv = t.watch(x);
  Var<double> u = square(xv);  // (1, 3)
  Var<double> z = u * t.constant(shaped({2, 1}, {1.0, 2.0}));  // (2, 3)
  t.backward(z, Tensor<double>{{1.0, 1.0, 1.0}, {1.0, 1.0, 1.0}});
  EXPECT_TRUE(all_close(t.grad(z), Tensor<double>(xt::ones<double>(Shape{2, 3})), 0, 0));
  EXPECT_TRUE(all_close(t.grad(u), Tensor<double>{{3.0, 3.0, 3.0}}, 0, 0));  // summed over the broadcast
  EXPECT_TRUE(all_close(x.grad, Tensor<double>{{6.0, 12.0, 18.0}}, 0, 0));
}

TEST(Tape, StaleVarsAfterClearAreErrorsNamingTheOp) {
  Parameter<double> x(Tensor<double>{1.0});
  Tape<double> t;
  Var<double> v = t.watch(x);
  Var<double> y = exp(v);
  t.clear();
  EXPECT_EQ(error_of([&] { add(y, y); }), "add: stale Var #1 (recorded before tape.clear())");
  EXPECT_THAT(error_of([&] { exp(v); }), HasSubstr("exp: stale Var #0"));
  EXPECT_THAT(error_of([&] { t.value(y); }), HasSubstr("tape.value: stale Var #1"));
  EXPECT_THAT(error_of([&] { t.backward(y); }), HasSubstr("backward: stale Var #1"));
  // stale even when the new tape is longer than the old one
  Var<double> w = t.watch(x);
  exp(exp(w));
  EXPECT_THAT(error_of([&] { mul(w, y); }), HasSubstr("mul: stale Var #1"));
}

TEST(Tape, ForeignVarsAreErrorsNamingTheOp) {
  Parameter<double> x(Tensor<double>{1.0});
  Tape<double> t1, t2;
  Var<double> a = t1.watch(x), b = t2.watch(x);
  EXPECT_EQ(error_of([&] { a* b; }), "mul: Var #0 belongs to another tape");
  EXPECT_THAT(error_of([&] { sub(b, a); }), HasSubstr("sub: Var #0 belongs to another tape"));
  EXPECT_THAT(error_of([&] { t1.backward(b); }), HasSubstr("backward: Var #0 belongs to another tape"));
  EXPECT_THAT(error_of([&] { t2.grad(a); }), HasSubstr("tape.grad: Var #0 belongs to another tape"));
  EXPECT_EQ(t1.size(), 1u);  // failed ops leave nothing behind
  EXPECT_EQ(t2.size(), 1u);
}

TEST(Tape, DefaultConstructedVarIsAnError) {
  Parameter<double> x(Tensor<double>{1.0});
  Tape<double> t;
  Var<double> v = t.watch(x), empty;
  EXPECT_EQ(error_of([&] { exp(empty); }), "exp: Var is empty (default-constructed, never recorded)");
  EXPECT_THAT(error_of([&] { add(empty, v); }), HasSubstr("add: Var is empty"));
  EXPECT_THAT(error_of([&] { add(v, empty); }), HasSubstr("add: Var is empty"));
  EXPECT_THAT(error_of([&] { empty.value(); }), HasSubstr("default-constructed"));
  EXPECT_THAT(error_of([&] { t.backward(empty); }), HasSubstr("backward: Var is empty"));
  EXPECT_EQ(t.size(), 1u);
}

TEST(Tape, BackwardNeedsAOneElementLossOrASeedOfItsShape) {
  Parameter<double> x(random_tensor({2, 3}, 3));
  Tape<double> t;
  Var<double> y = square(t.watch(x));
  EXPECT_EQ(error_of([&] { t.backward(y); }),
            "backward: loss must be a scalar (one element), got shape (2, 3); pass a seed of that "
            "shape for a non-scalar output");
  EXPECT_EQ(error_of([&] { t.backward(y, xt::ones<double>(Shape{3, 2})); }),
            "backward: seed shape (3, 2) differs from output shape (2, 3)");
  EXPECT_THAT(error_of([&] { t.backward(y, xt::ones<double>(Shape{6})); }), HasSubstr("(6)"));
  EXPECT_TRUE(all_close(x.grad, Tensor<double>(xt::zeros<double>(Shape{2, 3})), 0, 0));
  // the seed is a vector-Jacobian product: x.grad = seed · 2x
  const Tensor<double> seed = random_tensor({2, 3}, 4);
  t.backward(y, seed);
  EXPECT_TRUE(all_close(x.grad, Tensor<double>(2.0 * x.value * seed), 1e-15, 0));
  // any one-element shape is a scalar loss: (1, 1) and rank 0
  Parameter<double> s(Tensor<double>(Shape{1, 1}, 1.5)), r0(Tensor<double>(2.0));
  t.backward(square(t.watch(s)));
  t.backward(square(t.watch(r0)));
  EXPECT_DOUBLE_EQ(s.grad(0, 0), 3.0);
  EXPECT_EQ(r0.grad.dimension(), 0u);
  EXPECT_DOUBLE_EQ(r0.grad(), 4.0);
}

TEST(Tape, RecordAndAccumulateAreChecked) {
  Parameter<double> x(Tensor<double>{1.0, 2.0});
  Tape<double> t;
  Var<double> y = wrong_grad_shape(t.watch(x));
  EXPECT_EQ(error_of([&] { t.record(2); }), "tape.record: id 2 is outside the tape's 2 records");
  EXPECT_EQ(error_of([&] { t.backward(y, Tensor<double>{1.0, 1.0}); }),
            "accumulate: gradient of shape (7) for record #0 (watch) whose value has shape (2)");
  EXPECT_TRUE(all_close(x.grad, Tensor<double>{0.0, 0.0}, 0, 0));  // nothing was added
}

TEST(Tape, BorrowedConstantRefersToItsTensorWithoutCopying) {
  const Tensor<double> x = {{1.0, 2.0}, {3.0, 4.0}};
  Parameter<double> w(Tensor<double>{{0.5, -1.0}, {2.0, 0.25}}, "w");
  Tape<double> t;
  const Var<double> b = t.borrow(x);
  EXPECT_EQ(&t.value(b), &x);  // the value is x itself
  EXPECT_EQ(&b.value(), &x);
  EXPECT_EQ(&t.value_of(b.id()), &x);
  EXPECT_FALSE(t.needs_grad(b.id()));
  EXPECT_NE(&t.record(b.id()).value, &x);  // the record holds no copy of it
  EXPECT_STREQ(t.record(b.id()).op, "borrow");
  // y = x ⊙ w: dw = x, the same as through a copied constant
  const Var<double> y = b * t.watch(w);
  EXPECT_TRUE(all_close(t.value(y), Tensor<double>{{0.5, -2.0}, {6.0, 1.0}}));
  t.backward(y, xt::ones<double>({2, 2}));
  EXPECT_TRUE(all_close(w.grad, x));
  EXPECT_THAT(error_of([&] { t.grad(b); }), HasSubstr("no gradient reached"));
  t.clear();
  EXPECT_THAT(error_of([&] { t.value(b); }), HasSubstr("stale Var"));
  // a reused record that held a borrow becomes an ordinary constant again
  const Var<double> c = t.constant(Tensor<double>{7.0});
  EXPECT_EQ(t.value(c)(0), 7.0);
  EXPECT_NE(&t.value(c), &x);
  // and a reused constant record can hold a borrow
  t.clear();
  const Var<double> d = t.borrow(x);
  EXPECT_EQ(&t.value(d), &x);
}

TEST(Tape, FloatTapeWorksLikeDouble) {
  Parameter<float> x(Tensor<float>{0.5f, -1.0f});
  Tape<float> t;
  Var<float> v = t.watch(x);
  t.backward(v * v * 2.0, Tensor<float>{1.0f, 1.0f});  // 4x
  EXPECT_TRUE(all_close(x.grad, Tensor<float>{2.0f, -4.0f}, 0, 0));
}

// Var's own accessors have no op to name: their message names Var.
TEST(Tape, DefaultConstructedVarAccessorsNameVar) {
  Var<double> empty;
  EXPECT_EQ(error_of([&] { empty.value(); }), "Var: used before being recorded on a tape (default-constructed)");
  EXPECT_EQ(error_of([&] { empty.tape(); }), "Var: used before being recorded on a tape (default-constructed)");
}

// A record holds any number of inputs (four inline, more on the heap), each one
// checked: here six, one of them stale.
TEST(Tape, PushTakesManyInputsAndChecksEach) {
  Tape<double> t;
  Var<double> stale = t.constant(Tensor<double>{0.0});
  t.clear();
  Var<double> a = t.constant(Tensor<double>{1.0});
  const std::vector<Var<double>> six(6, a);
  Record<double>& r = t.push("six", six.data(), six.size(), nullptr, nullptr);
  EXPECT_EQ(r.n_inputs, 6u);
  EXPECT_EQ(r.inputs[5], a.id());
  std::vector<Var<double>> bad = six;
  bad[4] = stale;
  EXPECT_EQ(error_of([&] { t.push("six", bad.data(), bad.size(), nullptr, nullptr); }),
            "six: stale Var #0 (recorded before tape.clear())");
  EXPECT_EQ(t.size(), 2u);
}

TEST(Tape, UnpushTakesBackOnlyTheLastRecord) {
  // an op whose single forward pass finds bad input after push takes its record back
  Tape<double> t;
  Var<double> a = t.constant(Tensor<double>{1.0});
  Record<double>& first = t.push("op1", {a}, nullptr, nullptr);
  Record<double>& second = t.push("op2", {a}, nullptr, nullptr);
  EXPECT_EQ(error_of([&] { t.unpush(first); }), "unpush: record #1 (op1) is not the last of 3");
  EXPECT_EQ(t.size(), 3u);
  t.unpush(second);
  t.unpush(first);
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace tapegrad
