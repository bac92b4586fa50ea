// The causes check_hinge_gradient names (losses/hinge_check_diagnose.cpp), each
// pinned with a gradient built to have exactly that slip: scale factors (N, 1/N,
// 1/C, −1, any k), margins ≤ 0 counted, the true-class entry's sign, count or
// absence, two slips at once, a square transpose, non-finite and other entries;
// the same through X (dL/dW); and describe()'s lines.
#include <gmock/gmock.h>

#include <cmath>

#include "losses/hinge_check_cases.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::CS;
using testing::has_cause;
using testing::hinge_gradient;
using testing::opts;
using testing::WW;

// Margins: row 0 (label 0) 2 and 0.5; row 1 (label 2) −1.8 and −3; row 2 (label 1)
// 0.5 and −0.4; row 3 (label 2) −0.6 and 0.7. No kinks. With the mean, c = 1/4:
const Tensor<double> kS{{1, 2, 0.5}, {0.2, -1, 3}, {0.5, 1, -0.4}, {-1, 0.3, 0.6}};
const IndexTensor kY{0, 2, 1, 2};
const Tensor<double> kRight{{-0.5, 0.25, 0.25}, {0, 0, 0}, {0.25, -0.25, 0}, {0, 0.25, -0.25}};

HingeCheckReport check(const Tensor<double>& g, const HingeOptions& o = opts(WW)) {
  return check_hinge_gradient(kS, kY, g, o);
}

// The single finding of r, which must be wrong.
HingeCheckFinding only(const HingeCheckReport& r) {
  EXPECT_FALSE(r.right);
  EXPECT_EQ(r.findings.size(), 1u) << describe(r);
  return r.findings.empty() ? HingeCheckFinding{} : r.findings[0];
}

TEST(HingeCheckDiagnose, TheRunningExampleIsRight) {
  EXPECT_EQ(hinge_gradient(kS, kY, opts(WW)), kRight);
  EXPECT_TRUE(check(kRight).right);
}

TEST(HingeCheckDiagnose, ScaleFactorsAreNamed) {
  struct Case {
    double k;
    const char* why;
  };
  for (const Case& c : {Case{4, "a missing 1/N (N = 4): the gradient of the sum over the rows"},
                        Case{0.25, "an extra 1/N (N = 4): divided by N twice"},
                        Case{1.0 / 3, "1/C (C = 3): a mean over all N*C entries, as PyTorch's MultiMarginLoss"},
                        Case{-1, "-1: the sign is flipped"}, Case{2, "2: a factor 2 too many"},
                        Case{0.7, "a factor no usual slip gives"}}) {
    SCOPED_TRACE(c.k);
    const HingeCheckFinding f = only(check(kRight * c.k));
    EXPECT_EQ(f.cause, HingeCheckCause::scale);
    EXPECT_NEAR(f.factor, c.k, 1e-12);
    EXPECT_THAT(f.what, HasSubstr(c.why));
    EXPECT_EQ(f.count, 7u);  // the non-zero entries
  }
  // The gradient of the mean where the loss is the sum: 1/N
  const HingeCheckFinding f = only(check(kRight, opts(WW, 1, Reduction::sum)));
  EXPECT_EQ(f.factor, 0.25);
  EXPECT_THAT(f.what, HasSubstr("the gradient of the mean, but the loss is the sum"));
}

TEST(HingeCheckDiagnose, MarginsAtOrBelowZeroCounted) {
  // every wrong class gets c, the true class −2c: 4 margins ≤ 0 counted (rows 1, 2, 3)
  const Tensor<double> g{{-0.5, 0.25, 0.25}, {0.25, 0.25, -0.5}, {0.25, -0.5, 0.25}, {0.25, 0.25, -0.5}};
  const HingeCheckFinding f = only(check(g));
  EXPECT_EQ(f.cause, HingeCheckCause::unclamped_margins);
  EXPECT_EQ(f.count, 4u);
  EXPECT_THAT(f.what, HasSubstr("4 margins <= 0 are counted as violations (e.g. row 1, class 0: margin -1.8)"));
  EXPECT_EQ(f.entries.size(), 5u);  // (1,0), (1,1), (1,2), ... where it differs
  // p = 2: the unclamped square's derivative 2·c·z, negative for z < 0
  Tensor<double> g2 = hinge_gradient(kS, kY, opts(WW, 2));
  g2(1, 0) = 2 * 0.25 * -1.8, g2(1, 1) = 2 * 0.25 * -3, g2(1, 2) = 2 * 0.25 * 4.8;
  g2(2, 2) = 2 * 0.25 * -0.4, g2(2, 1) -= g2(2, 2);
  g2(3, 0) = 2 * 0.25 * -0.6, g2(3, 2) -= g2(3, 0);
  EXPECT_EQ(only(check(g2, opts(WW, 2))).cause, HingeCheckCause::unclamped_margins);
  // Crammer–Singer: row 1's largest wrong margin (−1.8, class 0) counted
  Tensor<double> gc = hinge_gradient(kS, kY, opts(CS));
  gc(1, 0) = 0.25, gc(1, 2) = -0.25;
  EXPECT_EQ(only(check(gc, opts(CS))).cause, HingeCheckCause::unclamped_margins);
}

TEST(HingeCheckDiagnose, TrueClassEntry) {
  Tensor<double> sign = kRight;
  sign(0, 0) = 0.5, sign(2, 1) = 0.25, sign(3, 2) = 0.25;
  HingeCheckFinding f = only(check(sign));
  EXPECT_EQ(f.cause, HingeCheckCause::true_class_sign);
  EXPECT_EQ(f.count, 3u);
  ASSERT_FALSE(f.entries.empty());
  EXPECT_EQ(f.entries[0].row, 0u);  // the largest difference first: +0.5 where −0.5 is right
  EXPECT_EQ(f.entries[0].got, 0.5);
  EXPECT_EQ(f.entries[0].expected, -0.5);

  Tensor<double> one = kRight;  // row 0 has two violations, counted as one
  one(0, 0) = -0.25;
  f = only(check(one));
  EXPECT_EQ(f.cause, HingeCheckCause::true_class_count);
  EXPECT_THAT(f.what, HasSubstr("counts one violation per row in 1 rows"));

  Tensor<double> all = kRight;  // −c·(C − 1) in every row
  all(1, 2) = -0.5, all(2, 1) = -0.5, all(3, 2) = -0.5;
  f = only(check(all));
  EXPECT_EQ(f.cause, HingeCheckCause::true_class_count);
  EXPECT_THAT(f.what, HasSubstr("counts all C - 1 = 2 wrong classes in 3 rows"));

  Tensor<double> zero = kRight;
  zero(0, 0) = 0, zero(2, 1) = 0, zero(3, 2) = 0;
  EXPECT_EQ(only(check(zero)).cause, HingeCheckCause::true_class_missing);
}

// The NumPy recipe's slips together: margins ≤ 0 counted, and a mean over N·C entries.
TEST(HingeCheckDiagnose, TwoSlipsAtOnce) {
  const Tensor<double> g =
      Tensor<double>{{-0.5, 0.25, 0.25}, {0.25, 0.25, -0.5}, {0.25, -0.5, 0.25}, {0.25, 0.25, -0.5}} / 3.0;
  const HingeCheckReport r = check(g);
  ASSERT_EQ(r.findings.size(), 2u) << describe(r);
  EXPECT_EQ(r.findings[0].cause, HingeCheckCause::scale);
  EXPECT_NEAR(r.findings[0].factor, 1.0 / 3, 1e-15);
  EXPECT_EQ(r.findings[1].cause, HingeCheckCause::unclamped_margins);
  Tensor<double> sign = kRight * 4.0;  // the sum's gradient with the true class's sign flipped
  sign(0, 0) = 2, sign(2, 1) = 1, sign(3, 2) = 1;
  const HingeCheckReport s = check(sign);
  ASSERT_EQ(s.findings.size(), 2u) << describe(s);
  EXPECT_EQ(s.findings[0].factor, 4);
  EXPECT_EQ(s.findings[1].cause, HingeCheckCause::true_class_sign);
}

TEST(HingeCheckDiagnose, SquareTransposeAndOtherAndNonFinite) {
  const Tensor<double> s{{1, 2, 0.5}, {0.2, -1, 3}, {0.5, 1, -0.4}};  // N = C = 3
  const IndexTensor y{0, 2, 1};
  const Tensor<double> right = hinge_gradient(s, y, opts(WW));
  const HingeCheckReport t = check_hinge_gradient(s, y, Tensor<double>(xt::transpose(right)), opts(WW));
  EXPECT_EQ(only(t).cause, HingeCheckCause::transposed);
  EXPECT_EQ(t.findings[0].what, "this is the transpose of a right dL/dscores (its rows are classes)");

  Tensor<double> g = kRight;
  g(3, 0) = 0.125, g(2, 2) = -1;
  HingeCheckFinding f = only(check(g));
  EXPECT_EQ(f.cause, HingeCheckCause::other);
  EXPECT_EQ(f.count, 2u);
  ASSERT_EQ(f.entries.size(), 2u);
  EXPECT_EQ(f.entries[0].row, 2u);  // worst first
  EXPECT_EQ(f.entries[0].col, 2u);
  EXPECT_EQ(f.entries[1].got, 0.125);
  EXPECT_EQ(f.entries[1].expected, 0);

  g = kRight;
  g(1, 1) = NAN;
  f = only(check(g));
  EXPECT_EQ(f.cause, HingeCheckCause::other);
  EXPECT_THAT(f.what, HasSubstr("1 entries are not finite"));
  ASSERT_EQ(f.entries.size(), 1u);
  EXPECT_EQ(f.entries[0].row, 1u);
}

// dL/dW for X (4 x 2) and scores = kS (any X fits: the check takes the scores given).
TEST(HingeCheckDiagnose, ThroughX) {
  const Tensor<double> x{{1, 0}, {0, 2}, {1, 1}, {-1, 0.5}};
  const auto xt_g = [&](const Tensor<double>& g) {  // Xᵀ·g
    Tensor<double> w = xt::zeros<double>({2, 3});
    for (std::size_t i = 0; i < 4; ++i)
      for (std::size_t k = 0; k < 2; ++k)
        for (std::size_t j = 0; j < 3; ++j) w(k, j) += x(i, k) * g(i, j);
    return w;
  };
  EXPECT_TRUE(check_hinge_gradient(kS, kY, xt_g(kRight), opts(WW), nullptr, &x).right);
  HingeCheckReport r = check_hinge_gradient(kS, kY, xt_g(kRight) * 4.0, opts(WW), nullptr, &x);
  EXPECT_EQ(only(r).cause, HingeCheckCause::scale);
  EXPECT_EQ(r.findings[0].factor, 4);
  const Tensor<double> unclamped{{-0.5, 0.25, 0.25}, {0.25, 0.25, -0.5}, {0.25, -0.5, 0.25}, {0.25, 0.25, -0.5}};
  r = check_hinge_gradient(kS, kY, xt_g(unclamped), opts(WW), nullptr, &x);
  EXPECT_EQ(only(r).cause, HingeCheckCause::unclamped_margins);
  EXPECT_EQ(r.findings[0].count, 4u);
  EXPECT_EQ(only(check_hinge_gradient(kS, kY, Tensor<double>(xt::transpose(xt_g(kRight))), opts(WW), nullptr, &x)).cause,
            HingeCheckCause::transposed);
}

TEST(HingeCheckDiagnose, DescribeLines) {
  EXPECT_EQ(describe(check(kRight)),
            "right: all 12 entries of dL/dscores (4, 3) are within atol 1e-08 + rtol 1e-05 of a valid gradient\n");
  EXPECT_EQ(describe(check(kRight * 4.0)),
            "wrong: 7 of 12 entries of dL/dscores (4, 3) differ from every valid gradient by more than atol 1e-08 + "
            "rtol 1e-05 (largest difference 1.5)\n"
            "scale: every entry is 4 times a right one: a missing 1/N (N = 4): the gradient of the sum over the "
            "rows, but the loss is their mean\n"
            "  [0, 0] = -2, right: -0.5\n"
            "  [0, 1] = 1, right: 0.25\n"
            "  [0, 2] = 1, right: 0.25\n"
            "  [2, 0] = 1, right: 0.25\n"
            "  [2, 1] = -1, right: -0.25\n");
  const Tensor<double> s{{2, 1, 0}};
  const HingeCheckReport k = check_hinge_gradient(s, IndexTensor{0}, Tensor<double>{{-0.25, 0.25, 0}}, opts(WW));
  EXPECT_EQ(describe(k),
            "right: all 3 entries of dL/dscores (1, 3) are within atol 1e-08 + rtol 1e-05 of a valid gradient\n"
            "accepted at a kink: [0, 1] = 0.25, margin exactly 0: alpha = 0.25 of the term (tapegrad: 0); any "
            "alpha in [0, 1] is right, and the true-class entry [0, 0] gives back the same\n");
  EXPECT_EQ(describe(check(Tensor<double>{1, 2})), "wrong: dL/dscores must have shape (4, 3), got (2)\n"
                                                   "shape: dL/dscores has the scores' shape (4, 3), but this has "
                                                   "shape (2)\n");
}

}  // namespace
}  // namespace tapegrad
