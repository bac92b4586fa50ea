// compare_gradients: agreement, the worst element it names, value differences,
// tolerances, both element types, and misuse.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>

#include <tapegrad/core/compare.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::random_tensor;

// Σ x² ⊙ c: with c all ones it is Σ x²; one c entry off by a factor tells the
// report which element to blame.
template <class T>
TapeFn<T> weighted_square(const Tensor<T>& c) {
  return [c](Tape<T>& t, const std::vector<Var<T>>& v) { return sum(v[0] * v[0] * t.constant(c)); };
}

TEST(CompareGradients, IdenticalPathsAgreeExactly) {
  const Tensor<double> x = random_tensor({3, 4}, 1);
  const TapeFn<double> square_sum = weighted_square<double>(xt::ones<double>({3, 4}));
  const TapeFn<double> via_mul = [](Tape<double>&, const std::vector<Var<double>>& v) {
    return sum(square(v[0]));  // 2x·g from square's backward, x·g + x·g from mul's
  };
  const CompareReport rep = compare_gradients(square_sum, via_mul, {x});
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.value_a, rep.value_b);
  EXPECT_EQ(rep.max_abs_diff, 0.0);
  EXPECT_EQ(rep.max_rel_diff, 0.0);
  EXPECT_EQ(rep.compared, 12u);
  EXPECT_NEAR(rep.value_a, xt::sum(x * x)(), 1e-12);
}

TEST(CompareGradients, NamesTheWorstInputAndElement) {
  const Tensor<double> x = random_tensor({2, 3}, 2, 1.0, 2.0);
  const Tensor<double> y = random_tensor({4}, 3, 1.0, 2.0);
  Tensor<double> c = xt::ones<double>({4});
  c(3) = 1.001;  // input 1, flat element 3: its gradient differs by 0.1%
  const TapeFn<double> a = [](Tape<double>&, const std::vector<Var<double>>& v) {
    return sum(v[0] * v[0]) + sum(v[1] * v[1]);
  };
  const TapeFn<double> b = [c](Tape<double>& t, const std::vector<Var<double>>& v) {
    return sum(v[0] * v[0]) + sum(v[1] * v[1] * t.constant(c));
  };
  const CompareReport rep = compare_gradients(a, b, {x, y});
  EXPECT_FALSE(rep.passed);
  EXPECT_EQ(rep.worst_input, 1u);
  EXPECT_EQ(rep.worst_index, 3u);
  EXPECT_DOUBLE_EQ(rep.worst_a, 2 * y(3));
  EXPECT_DOUBLE_EQ(rep.worst_b, 2 * 1.001 * y(3));
  EXPECT_NEAR(rep.max_abs_diff, 0.002 * y(3), 1e-12);
  EXPECT_NEAR(rep.max_rel_diff, 0.001 / 1.001, 1e-9);
  EXPECT_NEAR(rep.value_abs_diff, 0.001 * y(3) * y(3), 1e-12);
  EXPECT_EQ(rep.compared, 10u);
  EXPECT_THAT(rep.summary(), HasSubstr("DIFFER"));
  EXPECT_THAT(rep.summary(), HasSubstr("(input 1, element 3:"));
}

TEST(CompareGradients, ToleranceDecidesPassed) {
  const Tensor<double> x = random_tensor({5}, 4, 1.0, 2.0);
  Tensor<double> c = xt::ones<double>({5});
  c(0) = 1 + 1e-9;
  const auto a = weighted_square<double>(xt::ones<double>({5}));
  const auto b = weighted_square<double>(c);
  EXPECT_FALSE(compare_gradients(a, b, {x}).passed);  // default double rtol 1e-10
  const CompareReport loose = compare_gradients(a, b, {x}, CompareOptions{1e-8, 0.0});
  EXPECT_TRUE(loose.passed) << loose.summary();
  EXPECT_THAT(loose.summary(), HasSubstr("agree"));
}

TEST(CompareGradients, ValueDifferenceAloneFails) {
  const Tensor<double> x = random_tensor({3}, 5);
  const auto a = weighted_square<double>(xt::ones<double>({3}));
  const TapeFn<double> shifted = [a](Tape<double>& t, const std::vector<Var<double>>& v) { return a(t, v) + 0.5; };
  const CompareReport rep = compare_gradients(a, shifted, {x});
  EXPECT_FALSE(rep.passed);
  EXPECT_NEAR(rep.value_abs_diff, 0.5, 1e-12);
  EXPECT_EQ(rep.max_abs_diff, 0.0);  // same gradients
}

TEST(CompareGradients, FloatInstantiation) {
  const Tensor<float> x = xt::cast<float>(random_tensor({4, 3}, 6));
  const auto a = weighted_square<float>(xt::ones<float>({4, 3}));
  const TapeFn<float> b = [](Tape<float>&, const std::vector<Var<float>>& v) { return sum(square(v[0])); };
  const CompareReport rep = compare_gradients(a, b, {x});
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(default_compare_options<float>().rtol, 1e-4);
  EXPECT_EQ(default_compare_options<double>().rtol, 1e-10);
}

TEST(CompareGradients, InputsNoPathReachesHaveZeroGradientsOnBothSides) {
  const TapeFn<double> only_first = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(v[0]); };
  const CompareReport rep = compare_gradients(only_first, only_first, {random_tensor({2}, 7), random_tensor({3}, 8)});
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.compared, 5u);
}

TEST(CompareGradients, NoGradientElementIsInconclusiveNeverPassed) {
  const TapeFn<double> s = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(v[0]); };
  const TapeFn<double> s2 = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(v[0]) + 1.0; };
  const Tensor<double> empty = xt::zeros<double>(Shape{0, 3});
  const CompareReport rep = compare_gradients(s, s, {empty});
  EXPECT_EQ(rep.compared, 0u);
  EXPECT_FALSE(rep.passed);
  EXPECT_TRUE(rep.inconclusive);
  EXPECT_STREQ(rep.outcome(), "inconclusive");
  EXPECT_THAT(rep.summary(), HasSubstr("inconclusive: "));
  EXPECT_THAT(rep.summary(), HasSubstr("0 elements compared (no gradient element"));
  // values that differ fail even with nothing to compare: 0 vs 1
  const CompareReport differ = compare_gradients(s, s2, {empty});
  EXPECT_FALSE(differ.passed);
  EXPECT_FALSE(differ.inconclusive);
  EXPECT_STREQ(differ.outcome(), "DIFFER");
}

TEST(CompareGradients, ToleranceIsAtolPlusRtolTimesTheLargerMagnitude) {
  // gradients 2 and 2.2 per element: |a − b| = 0.2, max(|a|, |b|) = 2.2
  const TapeFn<double> a = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(v[0] * 2.0); };
  const TapeFn<double> b = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(v[0] * 2.2); };
  const Tensor<double> x = xt::zeros<double>(Shape{3});
  EXPECT_TRUE(compare_gradients(a, b, {x}, CompareOptions{0.091, 0.0}).passed);   // 0.2002 >= 0.2
  EXPECT_FALSE(compare_gradients(a, b, {x}, CompareOptions{0.090, 0.0}).passed);  // 0.198 < 0.2
  EXPECT_TRUE(compare_gradients(a, b, {x}, CompareOptions{0.0, 0.2000001}).passed);  // atol alone
  EXPECT_FALSE(compare_gradients(a, b, {x}, CompareOptions{0.0, 0.19}).passed);
}

TEST(CompareGradients, NaNGradientFailsAndIsReported) {
  const Tensor<double> x = {1.0, 0.0, 4.0};
  const TapeFn<double> a = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(v[0] * v[0]); };
  const TapeFn<double> b = [](Tape<double>&, const std::vector<Var<double>>& v) {
    return sum(v[0] * v[0] + v[0] / v[0] * 0.0);  // d(x/x)/dx at x = 0 is NaN
  };
  const CompareReport rep = compare_gradients(a, b, {x});
  EXPECT_FALSE(rep.passed);
  EXPECT_TRUE(std::isnan(rep.max_rel_diff));
  EXPECT_EQ(rep.worst_index, 1u);
}

TEST(CompareGradients, Errors) {
  const Tensor<double> x = random_tensor({3}, 9);
  const TapeFn<double> scalar = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(v[0]); };
  const TapeFn<double> vector = [](Tape<double>&, const std::vector<Var<double>>& v) { return v[0] * 2.0; };
  try {
    compare_gradients(scalar, vector, {x});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "compare_gradients: function b must return a scalar, got shape (3)");
  }
  EXPECT_THROW(compare_gradients(scalar, scalar, {x}, CompareOptions{-1.0, 0.0}), Error);
}

// The tolerance check's message names both tolerances.
TEST(CompareGradients, NegativeToleranceMessage) {
  const TapeFn<double> scalar = [](Tape<double>&, const std::vector<Var<double>>& v) { return sum(v[0]); };
  EXPECT_THAT([&] { compare_gradients(scalar, scalar, {Tensor<double>{1.0}}, CompareOptions{-1.0, 0.0}); },
              ::testing::ThrowsMessage<Error>(
                  ::testing::StrEq("compare_gradients: tolerances must be non-negative, got rtol -1, atol 0")));
  EXPECT_THAT([&] { compare_gradients(scalar, scalar, {Tensor<double>{1.0}}, CompareOptions{0.0, -2.0}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("got rtol 0, atol -2")));
}

}  // namespace
}  // namespace tapegrad
