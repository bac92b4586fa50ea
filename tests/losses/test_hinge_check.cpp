// check_hinge_gradient (losses/hinge_check.cpp): tapegrad's own gradients are right
// (random points, every option, float and double, at kinks with no kink reported);
// at kinks other subgradients are accepted and named (a margin exactly 0: the box
// α ∈ [0, 1]; a Crammer–Singer tie: the simplex; both at once: the capped simplex;
// dL/dW through X), and gradients just outside those sets are not; margins within
// round-off of 0 count as kinks; per-element atol and rtol; shapes; the errors.
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
using testing::hinge_gradient_w;
using testing::opts;
using testing::WW;

TEST(HingeCheck, TapegradsOwnGradientIsRightForEveryOption) {
  const Tensor<double> s = testing::random_tensor({7, 5}, 3, -2, 2);
  const IndexTensor y = testing::random_labels(7, 5, 4);
  const Tensor<double> w{0.5, 1, 2, 1.5, 0};
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2})
      for (Reduction red : {Reduction::mean, Reduction::sum})
        for (const Tensor<double>* weights : {static_cast<const Tensor<double>*>(nullptr), &w}) {
          const HingeOptions o = opts(kind, p, red, 0.75);
          const HingeCheckReport r = check_hinge_gradient(s, y, hinge_gradient(s, y, o, weights), o, weights);
          EXPECT_TRUE(r.right) << describe(r);
          EXPECT_EQ(r.checked, 35u);
          EXPECT_EQ(r.wrong, 0u);
          EXPECT_TRUE(r.findings.empty());
          EXPECT_TRUE(r.accepted.empty());
          EXPECT_LT(r.max_abs_error, 1e-15);
        }
}

TEST(HingeCheck, FloatGradientsWithFloatTolerances) {
  const Tensor<float> s = xt::cast<float>(testing::random_tensor({6, 4}, 9, -2, 2));
  const IndexTensor y = testing::random_labels(6, 4, 10);
  const HingeCheckReport r = check_hinge_gradient(s, y, hinge_gradient(s, y, opts(CS, 2)), opts(CS, 2));
  EXPECT_TRUE(r.right) << describe(r);
  EXPECT_EQ(r.tolerance.atol, 1e-6);
  EXPECT_EQ(r.tolerance.rtol, 1e-4);
  Tensor<float> g = hinge_gradient(s, y, opts(CS, 2)) * 6.0f;  // the gradient of the sum
  EXPECT_FALSE(check_hinge_gradient(s, y, g, opts(CS, 2)).right);
}

// Row 0 (label 0, scores 2, 1, 0): class 1's margin is 1 − 2 + 1 = 0 exactly; class 2's is −1.
const Tensor<double> kKinkScores{{2, 1, 0}, {0.2, -1, 3}};
const IndexTensor kKinkLabels{0, 2};

// ds = (−α, α, 0) in row 0, zeros in row 1, times c (1 for the sum).
Tensor<double> ww_alpha(double alpha, double c = 1) { return Tensor<double>{{-alpha * c, alpha * c, 0}, {0, 0, 0}}; }

TEST(HingeCheck, MarginExactlyZeroAcceptsTheWholeBox) {
  const HingeOptions o = opts(WW, 1, Reduction::sum);
  EXPECT_EQ(hinge_gradient(kKinkScores, kKinkLabels, o), ww_alpha(0));  // tapegrad takes α = 0
  EXPECT_TRUE(check_hinge_gradient(kKinkScores, kKinkLabels, ww_alpha(0), o).accepted.empty());
  EXPECT_EQ(check_hinge_gradient(kKinkScores, kKinkLabels, ww_alpha(0), o).kinks, 1u);
  for (double alpha : {0.3, 0.5, 1.0}) {
    SCOPED_TRACE(alpha);
    const HingeCheckReport r = check_hinge_gradient(kKinkScores, kKinkLabels, ww_alpha(alpha), o);
    EXPECT_TRUE(r.right) << describe(r);
    ASSERT_EQ(r.accepted.size(), 1u);
    EXPECT_EQ(r.accepted[0].row, 0u);
    EXPECT_EQ(r.accepted[0].cls, 1u);
    EXPECT_EQ(r.accepted[0].label, 0u);
    EXPECT_FALSE(r.accepted[0].tie);
    EXPECT_TRUE(r.accepted[0].margin_zero);
    EXPECT_NEAR(r.accepted[0].yours, alpha, 1e-8);
    EXPECT_EQ(r.accepted[0].tapegrad, 0);
    EXPECT_EQ(r.accepted[0].low, 0);
    EXPECT_EQ(r.accepted[0].high, 1);
  }
  // With the mean the box is c·[0, 1] = [0, 0.5].
  const HingeCheckReport mean = check_hinge_gradient(kKinkScores, kKinkLabels, ww_alpha(0.8, 0.5), opts(WW, 1));
  EXPECT_TRUE(mean.right) << describe(mean);
  ASSERT_EQ(mean.accepted.size(), 1u);
  EXPECT_EQ(mean.accepted[0].high, 0.5);
}

TEST(HingeCheck, OutsideTheBoxOrAnUnbalancedTrueEntryIsWrong) {
  const HingeOptions o = opts(WW, 1, Reduction::sum);
  for (double alpha : {1.2, -0.1}) {
    const HingeCheckReport r = check_hinge_gradient(kKinkScores, kKinkLabels, ww_alpha(alpha), o);
    EXPECT_FALSE(r.right) << alpha;
    EXPECT_NEAR(r.max_abs_error, alpha > 1 ? 0.2 : 0.1, 1e-6);  // the nearest valid: α = 1, or 0
    EXPECT_TRUE(r.accepted.empty());
  }
  Tensor<double> g = ww_alpha(0.3);
  g(0, 0) = 0;  // the true class must give back what class 1 takes
  EXPECT_FALSE(check_hinge_gradient(kKinkScores, kKinkLabels, g, o).right);
  // p = 2 is differentiable at a margin of 0: the gradient there is 0 and nothing else
  EXPECT_FALSE(check_hinge_gradient(kKinkScores, kKinkLabels, ww_alpha(0.3), opts(WW, 2, Reduction::sum)).right);
  EXPECT_EQ(check_hinge_gradient(kKinkScores, kKinkLabels, ww_alpha(0), opts(WW, 2, Reduction::sum)).kinks, 0u);
}

// Label 2, scores (3, 3, 1): classes 0 and 1 tie for the largest wrong score, z = 3.
TEST(HingeCheck, CrammerSingerTieAcceptsTheSimplex) {
  const Tensor<double> s{{3, 3, 1}};
  const IndexTensor y{2};
  for (int p : {1, 2}) {
    const HingeOptions o = opts(CS, p, Reduction::sum);
    const double g = p == 1 ? 1 : 6;  // slope(z) at z = 3
    EXPECT_EQ(hinge_gradient(s, y, o), (Tensor<double>{{g / 2, g / 2, -g}}));
    for (double beta : {0.2, 1.0}) {
      const HingeCheckReport r = check_hinge_gradient(s, y, Tensor<double>{{g * beta, g * (1 - beta), -g}}, o);
      EXPECT_TRUE(r.right) << describe(r);
      ASSERT_EQ(r.accepted.size(), 2u);
      EXPECT_TRUE(r.accepted[0].tie);
      EXPECT_FALSE(r.accepted[0].margin_zero);
      EXPECT_NEAR(r.accepted[0].yours, beta, 1e-5);  // fitted to within the tolerance
      EXPECT_THAT(describe(r), HasSubstr(", tied for the largest wrong score: a share " + std::string(beta == 1 ? "1" : "0.2") +
                                         " of the row's gradient (tapegrad: 0.5); any shares >= 0 that sum to 1 are right"));
      EXPECT_EQ(r.accepted[0].tapegrad, 0.5);
    }
    EXPECT_FALSE(check_hinge_gradient(s, y, Tensor<double>{{0.6 * g, 0.6 * g, -1.2 * g}}, o).right);  // Σβ = 1.2
    EXPECT_FALSE(check_hinge_gradient(s, y, Tensor<double>{{-0.1 * g, 1.1 * g, -g}}, o).right);       // β < 0
    EXPECT_FALSE(check_hinge_gradient(s, y, Tensor<double>{{0.5 * g, 0.5 * g, -0.9 * g}}, o).right);  // y unbalanced
  }
}

// Label 2, scores (1, 1, 2): a tie and z = 1 − 2 + 1 = 0, so Σβ anywhere in [0, 1].
TEST(HingeCheck, TieOnAMarginOfZeroAcceptsTheCappedSimplex) {
  const Tensor<double> s{{1, 1, 2}};
  const IndexTensor y{2};
  const HingeOptions o = opts(CS, 1, Reduction::sum);
  EXPECT_EQ(hinge_gradient(s, y, o), (Tensor<double>{{0, 0, 0}}));
  for (const Tensor<double>& g : {Tensor<double>{{0.3, 0.3, -0.6}}, Tensor<double>{{1, 0, -1}}, Tensor<double>{{0, 0, 0}}})
    EXPECT_TRUE(check_hinge_gradient(s, y, g, o).right) << describe(check_hinge_gradient(s, y, g, o));
  EXPECT_FALSE(check_hinge_gradient(s, y, Tensor<double>{{0.6, 0.6, -1.2}}, o).right);
  const HingeCheckReport r = check_hinge_gradient(s, y, Tensor<double>{{0.5, 0.5, -1}}, o);
  ASSERT_EQ(r.accepted.size(), 2u);
  EXPECT_TRUE(r.accepted[0].tie && r.accepted[0].margin_zero);
  EXPECT_THAT(describe(r), HasSubstr("[0, 0] = 0.5, tied for the largest wrong score on a margin of exactly 0: a share "
                                     "0.5 of the row's gradient (tapegrad: 0); any shares >= 0 that sum to at most 1"));
  // A single maximum on a margin of 0 (scores 0, 1, 2, label 2): the box [0, 1].
  const HingeCheckReport one = check_hinge_gradient(Tensor<double>{{0, 1, 2}}, y, Tensor<double>{{0, 0.4, -0.4}}, o);
  EXPECT_TRUE(one.right) << describe(one);
  ASSERT_EQ(one.accepted.size(), 1u);
  EXPECT_FALSE(one.accepted[0].tie);
  EXPECT_TRUE(one.accepted[0].margin_zero);
  EXPECT_FALSE(check_hinge_gradient(Tensor<double>{{0, 1, 2}}, y, Tensor<double>{{0.1, 0.4, -0.5}}, o).right);
}

// X (3 x 2), W (2 x 3): scores (2, 1, 0), (0.5, 1, 3), (2.5, 2, 3); row 0's class 1 sits
// on its kink, so dL/dW may carry α·x_0 = (α, 0) in column 1 and minus that in column 0.
TEST(HingeCheck, KinksThroughXAcceptAlphaTimesTheRow) {
  const Tensor<double> x{{1, 0}, {0, 1}, {1, 1}}, w{{2, 1, 0}, {0.5, 1, 3}};
  const IndexTensor y{0, 2, 1};
  const Tensor<double> s{{2, 1, 0}, {0.5, 1, 3}, {2.5, 2, 3}};
  const HingeOptions o = opts(WW, 1, Reduction::sum);
  const Tensor<double> dw = hinge_gradient_w(x, w, y, o);
  EXPECT_EQ(dw, (Tensor<double>{{1, -2, 1}, {1, -2, 1}}));  // row 2: (1, −2, 1) times x_2 = (1, 1)
  EXPECT_TRUE(check_hinge_gradient(s, y, dw, o, nullptr, &x).right);
  Tensor<double> shifted = dw;
  shifted(0, 1) += 0.4;
  shifted(0, 0) -= 0.4;
  const HingeCheckReport r = check_hinge_gradient(s, y, shifted, o, nullptr, &x);
  EXPECT_TRUE(r.right) << describe(r);
  EXPECT_TRUE(r.wrt_weights);
  ASSERT_EQ(r.accepted.size(), 1u);
  EXPECT_NEAR(r.accepted[0].yours, 0.4, 1e-7);
  EXPECT_THAT(describe(r), HasSubstr("accepted at a kink: row 0, class 1 (dL/dW gets c*x_0 times the coefficient in "
                                     "column 1 and minus that in column 0), margin exactly 0: alpha = 0.4 of the term "
                                     "(tapegrad: 0); any alpha in [0, 1] is right\n"));
  shifted(0, 1) += 1.1;  // α = 1.5
  shifted(0, 0) -= 1.1;
  EXPECT_FALSE(check_hinge_gradient(s, y, shifted, o, nullptr, &x).right);
}

// 0.1 + 0.2 − 0.3 = 5.55e-17 in double: tapegrad counts the margin (Δ = 0) as positive,
// exact decimals say 0; both subgradients are accepted.
TEST(HingeCheck, MarginWithinRoundOffOfZeroIsAKink) {
  const Tensor<double> s{{0.3, 0.1 + 0.2, -5}};
  const IndexTensor y{0};
  const HingeOptions o = opts(WW, 1, Reduction::sum, 0.0);
  EXPECT_EQ(hinge_gradient(s, y, o), (Tensor<double>{{-1, 1, 0}}));
  const HingeCheckReport r = check_hinge_gradient(s, y, Tensor<double>{{0, 0, 0}}, o);
  EXPECT_TRUE(r.right) << describe(r);
  ASSERT_EQ(r.accepted.size(), 1u);
  EXPECT_EQ(r.accepted[0].tapegrad, 1);
}

// Integer scores: many margins exactly 0 and many ties. Central differences' choice
// (α = ½ at every margin of 0) is found through X (N > D, so dL/dscores cannot be
// recovered from dL/dW) and accepted; a perturbed gradient is not, in bounded time.
TEST(HingeCheck, ManyKinksThroughX) {
  const std::size_t n = 60, d = 8, c = 6;
  const Tensor<double> x = testing::random_tensor({n, d}, 5, -1, 1);
  const Tensor<double> s = xt::round(testing::random_tensor({n, c}, 6, -2, 2));
  const IndexTensor y = testing::random_labels(n, c, 7);
  const HingeOptions o = opts(WW);
  Tensor<double> g = hinge_gradient(s, y, o);
  std::size_t kinks = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < c; ++j) {
      const std::size_t yi = static_cast<std::size_t>(y(i));
      if (j == yi || s(i, j) - s(i, yi) + 1 != 0) continue;
      g(i, j) += 0.5 / n, g(i, yi) -= 0.5 / n, ++kinks;
    }
  ASSERT_GT(kinks, 20u);
  Tensor<double> dw = xt::zeros<double>({d, c});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < d; ++k)
      for (std::size_t j = 0; j < c; ++j) dw(k, j) += x(i, k) * g(i, j);
  const HingeCheckReport r = check_hinge_gradient(s, y, dw, o, nullptr, &x);
  EXPECT_TRUE(r.right) << describe(r);
  EXPECT_EQ(r.kinks, kinks);
  EXPECT_TRUE(check_hinge_gradient(s, y, g, o).right);  // and as dL/dscores
  dw(3, 2) += 0.01;
  EXPECT_FALSE(check_hinge_gradient(s, y, dw, o, nullptr, &x).right);
}

TEST(HingeCheck, TolerancesArePerElement) {
  const Tensor<double> s{{1, 2, 0.5}, {0.2, -1, 3}};
  const IndexTensor y{0, 2};
  const Tensor<double> right = hinge_gradient(s, y, opts(WW));  // (−1, 0.5, 0.5), (0, 0, 0)
  Tensor<double> g = right;
  g(1, 1) = 5e-9;
  EXPECT_TRUE(check_hinge_gradient(s, y, g, opts(WW), nullptr, nullptr, {1e-8, 0}).right);
  g(1, 1) = 2e-8;
  const HingeCheckReport r = check_hinge_gradient(s, y, g, opts(WW), nullptr, nullptr, {1e-8, 0});
  EXPECT_FALSE(r.right);
  EXPECT_EQ(r.wrong, 1u);
  g = right;
  g(0, 1) = 0.5 * (1 + 5e-4);  // rtol 1e-3 of 0.5
  EXPECT_TRUE(check_hinge_gradient(s, y, g, opts(WW), nullptr, nullptr, {0, 1e-3}).right);
  g(0, 1) = 0.5 * (1 + 2e-3);
  EXPECT_FALSE(check_hinge_gradient(s, y, g, opts(WW), nullptr, nullptr, {0, 1e-3}).right);
}

TEST(HingeCheck, ShapesAreCheckedFirst) {
  const Tensor<double> s{{1, 2, 0.5}, {0.2, -1, 3}};
  const IndexTensor y{0, 2};
  const Tensor<double> right = hinge_gradient(s, y, opts(WW));
  const HingeCheckReport t = check_hinge_gradient(s, y, Tensor<double>(xt::transpose(right)), opts(WW));
  EXPECT_FALSE(t.right);
  ASSERT_EQ(t.findings.size(), 1u);
  EXPECT_EQ(t.findings[0].cause, HingeCheckCause::transposed);
  EXPECT_THAT(t.findings[0].what, HasSubstr("shape (3, 2), the transpose of dL/dscores's (2, 3), and its transpose is right"));
  const HingeCheckReport flat = check_hinge_gradient(s, y, Tensor<double>{-1, 0.5, 0.5, 0, 0, 0}, opts(WW));
  ASSERT_EQ(flat.findings.size(), 1u);
  EXPECT_EQ(flat.findings[0].cause, HingeCheckCause::shape);
  EXPECT_EQ(flat.findings[0].what, "dL/dscores has the scores' shape (2, 3), but this has shape (6)");
  EXPECT_EQ(flat.checked, 0u);
  // dL/dW with X's shape (N, D), the mix-up of the NumPy recipe
  const Tensor<double> x{{1, 0, 2, 1}, {0, 1, 1, 1}};
  const HingeCheckReport nd = check_hinge_gradient(s, y, x, opts(WW), nullptr, &x);
  ASSERT_EQ(nd.findings.size(), 1u);
  EXPECT_EQ(nd.findings[0].cause, HingeCheckCause::shape);
  EXPECT_THAT(nd.findings[0].what, HasSubstr("dL/dW has W's shape (4, 3) (D x C), but this has X's shape (2, 4) (N x D)"));
}

TEST(HingeCheck, ErrorsNameTheFunction) {
  const Tensor<double> s{{1, 2, 0.5}, {0.2, -1, 3}}, g = xt::zeros<double>({2, 3});
  const IndexTensor y{0, 2};
  const auto error = [&](const IndexTensor& labels, const HingeOptions& o, const Tensor<double>* x,
                         HingeCheckTolerance tol) {
    return testing::error_of([&] { check_hinge_gradient(s, labels, g, o, nullptr, x, tol); });
  };
  const HingeCheckTolerance tol{1e-8, 1e-5};
  EXPECT_EQ(error(y, opts(WW, 1, Reduction::none), nullptr, tol),
            "check_hinge_gradient: reduction none gives one loss per row, not a scalar: check the gradient of the "
            "mean or the sum");
  EXPECT_EQ(error(IndexTensor{0, 3}, opts(WW), nullptr, tol), "check_hinge_gradient: label 3 at row 1 is outside [0, 3)");
  EXPECT_EQ(error(y, opts(WW, 3), nullptr, tol), "check_hinge_gradient: p must be 1 or 2, got 3");
  const Tensor<double> x3 = xt::zeros<double>({3, 2});
  EXPECT_EQ(error(y, opts(WW), &x3, tol),
            "check_hinge_gradient: X must be 2-D with the scores' 2 rows (N x D), got shape (3, 2)");
  const Tensor<double> xnan{{1, NAN}, {0, 1}};
  EXPECT_EQ(error(y, opts(WW), &xnan, tol), "check_hinge_gradient: non-finite X entry nan at [0, 1]");
  EXPECT_EQ(error(y, opts(WW), nullptr, {-1, 1e-5}),
            "check_hinge_gradient: tolerances must be finite and >= 0, got atol -1 and rtol 1e-05");
  EXPECT_EQ(error(y, opts(WW), nullptr, {1e-8, NAN}),
            "check_hinge_gradient: tolerances must be finite and >= 0, got atol 1e-08 and rtol nan");
}

}  // namespace
}  // namespace tapegrad
