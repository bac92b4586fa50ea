#include <tapegrad/core/gradcheck.hpp>

#include <cmath>
#include <limits>

#include <gmock/gmock.h>

#include <tapegrad/ops/elementwise.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::random_tensor;

// Test-local ops with deliberately wrong or special backwards, written the way
// every op is: forward value, then a captureless backward via tape.push.

// y = x², backward claims 3·x·g (the correct one is 2·x·g).
Var<double> bad_square(const Var<double>& x) {
  Tape<double>& t = x.tape();
  Record<double>& r = t.push("bad_square", {x}, [](Tape<double>& t, Record<double>& r) {
    t.accumulate(r.inputs[0], 3.0 * t.value_of(r.inputs[0]) * r.grad);
  }, nullptr);
  r.value = xt::square(t.value(x));
  return t.commit(r);
}

// y = x, backward correct except that flat element 2 gets an extra +0.5.
Var<double> off_at_two(const Var<double>& x) {
  Tape<double>& t = x.tape();
  Record<double>& r = t.push("off_at_two", {x}, [](Tape<double>& t, Record<double>& r) {
    r.scratch = r.grad;
    r.scratch.data()[2] += 0.5;
    t.accumulate(r.inputs[0], r.scratch);
  }, nullptr);
  r.value = t.value(x);
  return t.commit(r);
}

// y = x, backward NaN everywhere.
Var<double> nan_grad(const Var<double>& x) {
  Tape<double>& t = x.tape();
  Record<double>& r = t.push("nan_grad", {x}, [](Tape<double>& t, Record<double>& r) {
    t.accumulate(r.inputs[0], r.grad * std::numeric_limits<double>::quiet_NaN());
  }, nullptr);
  r.value = t.value(x);
  return t.commit(r);
}

// y = |x| with a kink at 0, noting its branch per element as kinked ops must.
Var<double> abs_op(const Var<double>& x) {
  Tape<double>& t = x.tape();
  Record<double>& r = t.push("abs", {x}, [](Tape<double>& t, Record<double>& r) {
    const Tensor<double>& X = t.value_of(r.inputs[0]);
    t.accumulate(r.inputs[0], xt::where(X > 0.0, r.grad, -r.grad));
  }, nullptr);
  const Tensor<double>& X = t.value(x);
  if (t.tracking_branches())
    for (double v : X) t.note_branch(v > 0);
  r.value = xt::abs(X);
  return t.commit(r);
}

TEST(Gradcheck, PassesOnACorrectFunctionAndCountsEveryElement) {
  // f(x, y) = x·y + exp(x) − log(y), all of shape (1,), so the output is one element
  const Tensor<double> x = {0.3}, y = {1.7};
  GradcheckReport rep = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return v[0] * v[1] + exp(v[0]) - log(v[1]); },
      {x, y});
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.checked, 2u);
  EXPECT_EQ(rep.skipped_kinks, 0u);
  EXPECT_LT(rep.max_abs_error, 1e-8);
  EXPECT_LT(rep.max_rel_error, 1e-7);
  EXPECT_THAT(rep.summary(), HasSubstr("passed"));
}

TEST(Gradcheck, FailsOnAWrongBackwardAndNamesTheWorstElement) {
  const Tensor<double> x = {0.8};
  GradcheckReport rep = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return bad_square(v[0]); }, {x});
  EXPECT_FALSE(rep.passed);
  EXPECT_EQ(rep.checked, 1u);
  EXPECT_NEAR(rep.worst_analytic, 2.4, 1e-12);  // 3·0.8, the wrong claim
  EXPECT_NEAR(rep.worst_numeric, 1.6, 1e-6);    // 2·0.8, the truth
  EXPECT_NEAR(rep.max_abs_error, 0.8, 1e-6);
  EXPECT_THAT(rep.summary(), HasSubstr("FAILED"));
  EXPECT_FALSE(testing::gradcheck_passes(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return bad_square(v[0]); }, {x}));
}

TEST(Gradcheck, ReportsWhichInputAndElementIsWorst) {
  // input 0 is fine, input 1 (shape (2, 3)) is wrong at flat element 2 only
  GradcheckOptions opt;
  opt.contract_output = true;
  GradcheckReport rep = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return v[0] * off_at_two(v[1]); },
      {random_tensor({2, 3}, 1), random_tensor({2, 3}, 2)}, opt);
  EXPECT_FALSE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.checked, 12u);
  EXPECT_EQ(rep.worst_input, 1u);
  EXPECT_EQ(rep.worst_index, 2u);
  EXPECT_NEAR(std::abs(rep.worst_analytic - rep.worst_numeric), rep.max_abs_error, 1e-12);
}

TEST(Gradcheck, ANanGradientFails) {
  GradcheckReport rep = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return nan_grad(v[0]); }, {Tensor<double>{0.5}});
  EXPECT_FALSE(rep.passed);
  EXPECT_TRUE(std::isnan(rep.max_abs_error)) << rep.summary();
  EXPECT_TRUE(std::isnan(rep.worst_analytic));
}

TEST(Gradcheck, SkipsElementsWhoseStepCrossesAKink) {
  // x[1] sits within h of the kink of |x|: x ± h land on different branches
  GradcheckOptions opt;
  opt.contract_output = true;
  opt.step = 1e-6;
  const Tensor<double> x = {0.5, 4e-7, -0.3, -2e-7};
  GradcheckReport rep = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return abs_op(v[0]); }, {x}, opt);
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.skipped_kinks, 2u);
  EXPECT_EQ(rep.checked, 2u);
  EXPECT_THAT(rep.summary(), HasSubstr("2 skipped at kinks"));
}

TEST(Gradcheck, ContractionChecksEveryOutputElementDeterministically) {
  GradcheckOptions opt;
  opt.contract_output = true;
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return exp(v[0]) * v[1]; };
  const std::vector<Tensor<double>> in = {random_tensor({3, 1}, 3), random_tensor({1, 4}, 4)};
  GradcheckReport a = gradcheck(f, in, opt), b = gradcheck(f, in, opt);
  EXPECT_TRUE(a.passed) << a.summary();
  EXPECT_EQ(a.checked, 7u);
  EXPECT_EQ(a.max_abs_error, b.max_abs_error);  // same weights, same numbers
  // the wrong backward of a (2, 2) output is caught through the contraction
  GradcheckReport bad = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return bad_square(v[0]); },
      {random_tensor({2, 2}, 5, 0.5, 1.0)}, opt);
  EXPECT_FALSE(bad.passed);
  EXPECT_EQ(bad.checked, 4u);
  // a zero-size output contracts to 0 and checks nothing: inconclusive, not passed
  GradcheckReport empty = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return square(v[0]); },
      {Tensor<double>(xt::zeros<double>(Shape{0, 3}))}, opt);
  EXPECT_FALSE(empty.passed);
  EXPECT_TRUE(empty.inconclusive);
  EXPECT_EQ(empty.checked, 0u);
}

TEST(Gradcheck, NothingCheckedIsInconclusiveNeverPassed) {
  GradcheckOptions opt;
  opt.contract_output = true;
  // every element within h of |x|'s kink: all skipped, none checked
  const GradcheckReport all_kinks = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return abs_op(v[0]); }, {Tensor<double>{3e-7, -4e-7}},
      opt);
  EXPECT_EQ(all_kinks.checked, 0u);
  EXPECT_EQ(all_kinks.skipped_kinks, 2u);
  EXPECT_FALSE(all_kinks.passed);
  EXPECT_TRUE(all_kinks.inconclusive);
  EXPECT_STREQ(all_kinks.outcome(), "inconclusive");
  EXPECT_THAT(all_kinks.summary(), HasSubstr("inconclusive: "));
  EXPECT_THAT(all_kinks.summary(), HasSubstr("0 checked, 2 skipped at kinks (nothing was compared"));
  EXPECT_FALSE(testing::gradcheck_passes(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return abs_op(v[0]); }, {Tensor<double>{3e-7}}, opt));
  // one element checked is evidence: passed, not inconclusive
  const GradcheckReport one = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return abs_op(v[0]); }, {Tensor<double>{3e-7, 0.5}},
      opt);
  EXPECT_TRUE(one.passed) << one.summary();
  EXPECT_FALSE(one.inconclusive);
  EXPECT_STREQ(one.outcome(), "passed");
  // a failure is a failure, never inconclusive
  const GradcheckReport bad = gradcheck(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return bad_square(v[0]); }, {Tensor<double>{0.8}});
  EXPECT_FALSE(bad.passed);
  EXPECT_FALSE(bad.inconclusive);
  EXPECT_STREQ(bad.outcome(), "FAILED");
}

TEST(Gradcheck, ToleranceIsAtolPlusRtolTimesTheNumericPerElement) {
  // bad_square claims 3x for 2x: at x = 0.8 |a − n| = 0.8 and |n| = 1.6, so it passes
  // exactly when 0.8 <= atol + rtol·1.6
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return bad_square(v[0]); };
  GradcheckOptions o;
  o.atol = 0.0;
  o.rtol = 0.51;  // 0.816 >= 0.8
  EXPECT_TRUE(gradcheck(f, {Tensor<double>{0.8}}, o).passed);
  o.rtol = 0.49;  // 0.784 < 0.8
  EXPECT_FALSE(gradcheck(f, {Tensor<double>{0.8}}, o).passed);
  o.atol = 0.02;  // 0.02 + 0.784 = 0.804 >= 0.8
  EXPECT_TRUE(gradcheck(f, {Tensor<double>{0.8}}, o).passed);
}

TEST(Gradcheck, RejectsNonScalarOutputsWithoutContraction) {
  try {
    gradcheck([](Tape<double>&, const std::vector<Var<double>>& v) { return square(v[0]); },
              {random_tensor({2, 3}, 6)});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("gradcheck: f must return a scalar"));
    EXPECT_THAT(e.what(), HasSubstr("(2, 3)"));
    EXPECT_THAT(e.what(), HasSubstr("contract_output"));
  }
  // one element of any rank is a scalar loss
  EXPECT_TRUE(testing::gradcheck_passes(
      [](Tape<double>&, const std::vector<Var<double>>& v) { return square(v[0]); },
      {Tensor<double>(Shape{1, 1}, 0.7)}));
}

TEST(Gradcheck, RejectsNonPositiveStepAndNegativeTolerances) {
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return square(v[0]); };
  for (double step : {0.0, -1e-6, std::numeric_limits<double>::quiet_NaN()}) {
    GradcheckOptions opt;
    opt.step = step;
    try {
      gradcheck(f, {Tensor<double>{1.0}}, opt);
      FAIL() << "expected an Error for step " << step;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("gradcheck: step must be positive, got"));
    }
  }
  GradcheckOptions opt;
  opt.atol = -1;
  EXPECT_THROW(gradcheck(f, {Tensor<double>{1.0}}, opt), Error);
}

TEST(Gradcheck, NegativeToleranceMessageNamesBoth) {
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) { return square(v[0]); };
  GradcheckOptions opt;
  opt.atol = -1;
  EXPECT_THAT([&] { gradcheck(f, {Tensor<double>{1.0}}, opt); },
              ::testing::ThrowsMessage<Error>(
                  ::testing::StrEq("gradcheck: tolerances must be non-negative, got atol -1, rtol 1e-05")));
  opt = GradcheckOptions{};
  opt.rtol = -0.5;
  EXPECT_THAT([&] { gradcheck(f, {Tensor<double>{1.0}}, opt); },
              ::testing::ThrowsMessage<Error>(HasSubstr("rtol -0.5")));
}

// With contract_output, every perturbed evaluation must keep the output's shape:
// here x0 = 1 gives (2, 1) and x0 + h gives (2).
TEST(Gradcheck, OutputShapeChangingUnderAPerturbationIsAnError) {
  auto f = [](Tape<double>& t, const std::vector<Var<double>>& v) {
    return t.value(v[0])(0) > 1.0 ? v[0] * 2.0 : reshape(v[0], {2, 1});
  };
  GradcheckOptions opt;
  opt.contract_output = true;
  EXPECT_THAT([&] { gradcheck(f, {Tensor<double>{1.0, 0.5}}, opt); },
              ::testing::ThrowsMessage<Error>(::testing::StrEq(
                  "gradcheck: f's output shape changed from (2, 1) to (2) under a perturbation")));
}

}  // namespace
}  // namespace tapegrad
