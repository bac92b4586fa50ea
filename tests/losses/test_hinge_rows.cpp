// The portable rows kernel (losses/hinge_rows.hpp), forced through multiclass_hinge:
// both kinds, float and double, give the reference op's values and gradients exactly
// at every width 1..129 and every option (tests/losses/hinge_exactness.hpp) and take
// its side of every kink; the single-pass input check finds bad input after push and
// leaves no record; the exactness data really sits on kinks, ties and order-sensitive z.
#include <gmock/gmock.h>

#include <limits>

#include <tapegrad/losses/hinge.hpp>
#include "losses/hinge_cases.hpp"
#include "losses/hinge_exactness.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::CS;
using testing::expect_kernel_matches_reference;
using testing::opts;
using testing::WW;

// widths 1..129 × 2 kinds × 2 p × 2 margins × 3 reductions × weights × accumulating
TEST(HingeRows, RowsKernelEqualsTheReferenceExactlyInFloat) {
  EXPECT_EQ(expect_kernel_matches_reference<float>(HingeKernel::rows), 129u * 96);
}
TEST(HingeRows, RowsKernelEqualsTheReferenceExactlyInDouble) {
  EXPECT_EQ(expect_kernel_matches_reference<double>(HingeKernel::rows), 129u * 96);
}

TEST(HingeRows, TakesTheReferencesSideOfEveryKink) {
  EXPECT_EQ(testing::expect_same_sides_of_kinks<float>(HingeKernel::rows), 129u * 6);
  EXPECT_EQ(testing::expect_same_sides_of_kinks<double>(HingeKernel::rows), 129u * 6);
}

TEST(HingeRows, TheExactnessDataHitsKinksAndTies) {
  // guards the tests above: integer scores must put margins on 0 and tie maxima
  const Tensor<double> s = testing::integer_scores<double>(testing::kExactRows, 40, 1040);
  const IndexTensor y = testing::edge_labels(testing::kExactRows, 40, 2040);
  std::size_t on_kink = 0, tied = 0;
  for (std::size_t i = 0; i < testing::kExactRows; ++i) {
    const auto yi = static_cast<std::size_t>(y(i));
    double m = -1e9;
    std::size_t count = 0;
    for (std::size_t j = 0; j < 40; ++j)
      if (j != yi) {
        on_kink += s(i, j) - s(i, yi) + 1.0 == 0.0;
        m = std::max(m, s(i, j));
      }
    for (std::size_t j = 0; j < 40; ++j) count += j != yi && s(i, j) == m;
    tied += count > 1;
  }
  EXPECT_GT(on_kink, 50u);
  EXPECT_GT(tied, 10u);
  // and the decimal data sits where the order of operations decides the side of a kink
  std::size_t sensitive_f = 0, sensitive_d = 0;
  for (std::size_t c : {std::size_t(10), std::size_t(40), std::size_t(129)})
    for (double margin : {0.1, 0.3, 0.7}) {
      const IndexTensor yc = testing::edge_labels(testing::kExactRows, c, 4000 + c);
      sensitive_f += testing::order_sensitive_terms(testing::decimal_scores<float>(testing::kExactRows, c, 3000 + c), yc, margin);
      sensitive_d += testing::order_sensitive_terms(testing::decimal_scores<double>(testing::kExactRows, c, 3000 + c), yc, margin);
    }
  EXPECT_GT(sensitive_f, 20u);
  EXPECT_GT(sensitive_d, 20u);
}

// (with cs_argmax, whose forward checks the same way: test_hinge_cs_argmax.cpp)
TEST(HingeRows, BadInputFoundInTheForwardPassLeavesNoRecord) {
  for (HingeKernel k : {HingeKernel::rows, HingeKernel::cs_argmax})
    for (std::size_t c : {std::size_t(5), std::size_t(40)}) {
      HingeOptions o = opts(CS, 1, Reduction::none);
      o.kernel = k;
      Tensor<double> s = testing::random_tensor({6, c}, c);
      const IndexTensor y = testing::random_labels(6, c, c + 1);
      s(4, c - 1) = std::numeric_limits<double>::quiet_NaN();
      Tape<double> t;
      const Var<double> bad = t.constant(s);
      EXPECT_EQ(testing::error_of([&] { multiclass_hinge(bad, y, o); }),
                "multiclass_hinge: non-finite score nan at row 4, column " + std::to_string(c - 1));
      EXPECT_EQ(t.size(), 1u);
      IndexTensor y_bad = y;
      y_bad(2) = -3;
      s(4, c - 1) = 0;
      const Var<double> ok = t.constant(s);
      EXPECT_EQ(testing::error_of([&] { multiclass_hinge(ok, y_bad, o); }),
                "multiclass_hinge: label -3 at row 2 is outside [0, " + std::to_string(c) + ")");
      EXPECT_EQ(t.size(), 2u);
      EXPECT_EQ(t.value(multiclass_hinge(ok, y, o)).size(), 6u);  // the tape goes on
      EXPECT_EQ(t.size(), 3u);
    }
}

}  // namespace
}  // namespace tapegrad
