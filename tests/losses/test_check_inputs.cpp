// The input validation shared by the classification losses: every misuse is an
// Error whose message starts with the loss's name and names the offending value,
// raised before anything is recorded (tested through the fused hinge, whose
// composed twin and softmax cross-entropy share the checks; see their tests).
#include <gmock/gmock.h>

#include <limits>

#include <tapegrad/losses/check_inputs.hpp>
#include <tapegrad/losses/hinge.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::error_of;

const Tensor<double> kScores = {{3.2, 5.1, -1.7}, {1.3, 4.9, 2.0}, {2.2, 2.5, -3.1}};
const IndexTensor kLabels = {0, 1, 2};

std::string hinge_error(const Tensor<double>& s, const IndexTensor& y, const HingeOptions& o = {},
                        const Tensor<double>* w = nullptr) {
  return error_of([&] {
    Tape<double> t;
    multiclass_hinge(t.constant(s), y, o, w);
  });
}

TEST(HingeFusedErrors, LabelOutsideRangeNamesLabelRowAndRange) {
  const Tensor<double> s = xt::zeros<double>({8, 10});
  IndexTensor y = xt::zeros<std::int64_t>({8});
  y(5) = 12;
  EXPECT_EQ(hinge_error(s, y), "multiclass_hinge: label 12 at row 5 is outside [0, 10)");
  y(5) = 0;
  y(2) = -1;
  EXPECT_EQ(hinge_error(s, y), "multiclass_hinge: label -1 at row 2 is outside [0, 10)");
}

TEST(HingeFusedErrors, ShapesAndRanks) {
  EXPECT_THAT(hinge_error(kScores, IndexTensor{0, 1}),
              HasSubstr("multiclass_hinge: labels must be 1-D with one label per row of scores (3, 3), got shape (2)"));
  EXPECT_THAT(hinge_error(kScores, xt::zeros<std::int64_t>({3, 1})), HasSubstr("got shape (3, 1)"));
  EXPECT_THAT(hinge_error(Tensor<double>{1.0, 2.0}, IndexTensor{0}),
              HasSubstr("multiclass_hinge: scores must be 2-D (N, C), got shape (2)"));
  EXPECT_THAT(hinge_error(xt::zeros<double>({2, 3, 4}), IndexTensor{0, 0}), HasSubstr("got shape (2, 3, 4)"));
  const Tensor<double> w = {1.0, 2.0};
  EXPECT_EQ(hinge_error(kScores, kLabels, {}, &w),
            "multiclass_hinge: weights must have one entry per class, shape (3), got shape (2)");
}

TEST(HingeFusedErrors, OptionsAndNonFiniteValues) {
  HingeOptions o;
  o.p = 3;
  EXPECT_EQ(hinge_error(kScores, kLabels, o), "multiclass_hinge: p must be 1 or 2, got 3");
  o.p = 0;
  EXPECT_EQ(hinge_error(kScores, kLabels, o), "multiclass_hinge: p must be 1 or 2, got 0");
  o = {};
  o.margin = std::numeric_limits<double>::infinity();
  EXPECT_EQ(hinge_error(kScores, kLabels, o), "multiclass_hinge: margin must be finite, got inf");
  Tensor<double> s = kScores;
  s(2, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(hinge_error(s, kLabels), "multiclass_hinge: non-finite score nan at row 2, column 1");
  s(2, 1) = 0;
  s(1, 0) = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(hinge_error(s, kLabels), "multiclass_hinge: non-finite score -inf at row 1, column 0");
  const Tensor<double> w = {1.0, std::numeric_limits<double>::quiet_NaN(), 1.0};
  EXPECT_EQ(hinge_error(kScores, kLabels, {}, &w), "multiclass_hinge: non-finite weight nan for class 1");
  EXPECT_THAT(hinge_error(Tensor<double>::from_shape({0, 3}), IndexTensor::from_shape({0})),
              HasSubstr("multiclass_hinge: the mean over 0 rows is undefined"));
}

TEST(HingeFusedErrors, VarsFromElsewhereAndNothingRecordedOnError) {
  EXPECT_THAT(error_of([] { multiclass_hinge(Var<double>(), kLabels); }), HasSubstr("multiclass_hinge: "));
  Tape<double> a, b;
  const Var<double> s = a.constant(kScores);
  EXPECT_THAT(error_of([&] { multiclass_hinge(s, IndexTensor{0, 1, 7}); }), HasSubstr("label 7 at row 2"));
  EXPECT_EQ(a.size(), 1u);  // validation happens before the record is pushed
  b.clear();
  a.clear();
  EXPECT_THAT(error_of([&] { multiclass_hinge(s, kLabels); }), HasSubstr("multiclass_hinge: stale Var"));
}

TEST(CheckInputs, ValidInputsGiveTheDimensions) {
  const Tensor<float> w = {1.0f, 2.0f, 3.0f};
  const detail::ClassDims d =
      detail::check_class_inputs("op", Tensor<float>(xt::zeros<float>({4, 3})), IndexTensor{0, 2, 1, 2}, &w);
  EXPECT_EQ(d.rows, 4u);
  EXPECT_EQ(d.classes, 3u);
  EXPECT_EQ(detail::weighted_row_count("op", IndexTensor{0, 2, 2}, &w), 7.0);
  EXPECT_EQ(detail::weighted_row_count<float>("op", IndexTensor{0, 2, 2}, nullptr), 3.0);
}

TEST(CheckInputs, NonFiniteScoreFoundInTheVectorBodyAndTheTail) {
  // 7 × 37 scores: positions inside SIMD batches and in the scalar tail
  for (std::size_t k : {std::size_t(0), std::size_t(100), std::size_t(7 * 37 - 1)}) {
    Tensor<float> s = xt::zeros<float>({7, 37});
    s.data()[k] = std::numeric_limits<float>::infinity();
    const std::string expected = "loss: non-finite score inf at row " + std::to_string(k / 37) + ", column " +
                                 std::to_string(k % 37);
    try {
      detail::check_class_inputs<float>("loss", s, xt::zeros<std::int64_t>({7}), nullptr);
      ADD_FAILURE() << "no error for element " << k;
    } catch (const Error& e) {
      EXPECT_EQ(e.what(), expected);
    }
  }
  // the largest finite values pass
  Tensor<float> big = xt::zeros<float>({2, 20});
  big.fill(std::numeric_limits<float>::max());
  EXPECT_NO_THROW(detail::check_class_inputs<float>("loss", big, IndexTensor{0, 1}, nullptr));
}

// The kernel's forward itself checks labels and finiteness in its one pass (float,
// C ≤ 16: small_avx512; C = 40: ww_bits_avx512, cs_argmax or rows, as dispatched),
// and on bad input the op takes its record back and the full check gives the same
// messages: the tape is left as it was.
TEST(HingeFusedErrors, SinglePassForwardReportsTheSameErrors) {
  for (std::size_t c : {std::size_t(3), std::size_t(10), std::size_t(16), std::size_t(40)})
    for (HingeKind kind : {HingeKind::weston_watkins, HingeKind::crammer_singer})
      for (int p : {1, 2}) {
        HingeOptions o;
        o.kind = kind;
        o.p = p;
        o.reduction = Reduction::sum;
        const auto err = [&](const Tensor<float>& s, const IndexTensor& y) {
          Tape<float> t;
          const Var<float> v = t.constant(s);
          const std::string e = error_of([&] { multiclass_hinge(v, y, o); });
          EXPECT_EQ(t.size(), 1u) << e;
          return e;
        };
        const Tensor<float> s = xt::zeros<float>(Shape{6, c});
        IndexTensor y = xt::zeros<std::int64_t>({6});
        y(3) = static_cast<std::int64_t>(c);
        EXPECT_EQ(err(s, y), "multiclass_hinge: label " + std::to_string(c) + " at row 3 is outside [0, " +
                                 std::to_string(c) + ")");
        y(3) = -1;
        EXPECT_EQ(err(s, y), "multiclass_hinge: label -1 at row 3 is outside [0, " + std::to_string(c) + ")");
        y(3) = 1;
        for (std::size_t col : {std::size_t(0), std::size_t(1), c - 1}) {  // col 1 is row 4's true class
          y(4) = 1;
          Tensor<float> bad = s;
          bad(4, col) = std::numeric_limits<float>::quiet_NaN();
          EXPECT_EQ(err(bad, y), "multiclass_hinge: non-finite score nan at row 4, column " + std::to_string(col));
          bad(4, col) = -std::numeric_limits<float>::infinity();
          EXPECT_EQ(err(bad, y), "multiclass_hinge: non-finite score -inf at row 4, column " + std::to_string(col));
        }
        // the largest finite scores are accepted
        Tensor<float> big = s;
        big.fill(std::numeric_limits<float>::max());
        Tape<float> t;
        EXPECT_NO_THROW(multiclass_hinge(t.constant(big), y, o));
      }
}

// Out-of-range enum values (a cast from an int) are refused by name.
TEST(HingeFusedErrors, UnknownKindAndReduction) {
  HingeOptions o;
  o.kind = static_cast<HingeKind>(7);
  EXPECT_EQ(hinge_error(kScores, kLabels, o), "multiclass_hinge: unknown hinge kind 7");
  o = HingeOptions{};
  o.reduction = static_cast<Reduction>(9);
  EXPECT_EQ(hinge_error(kScores, kLabels, o), "multiclass_hinge: unknown reduction 9");
}

}  // namespace
}  // namespace tapegrad
