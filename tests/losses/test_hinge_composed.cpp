// The composed multiclass hinge against the fused op (every kind × p × reduction
// × weights, at random points and on integer scores full of kinks and ties),
// against cs231n's naive loops (loss and dW through X·W), gradcheck, and errors.
#include <gmock/gmock.h>

#include <cmath>
#include <random>

#include <tapegrad/core/compare.hpp>
#include <tapegrad/losses/hinge.hpp>
#include "losses/hinge_cases.hpp"
#include "losses/reference.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::gradcheck_passes;
using testing::random_tensor;

using testing::CS;
using testing::opts;
using testing::random_labels;
using testing::WW;

std::string describe(const HingeOptions& o, bool weighted) {
  return std::string(o.kind == WW ? "weston_watkins" : "crammer_singer") + " p=" + std::to_string(o.p) +
         " reduction=" + std::to_string(int(o.reduction)) + (weighted ? " weighted" : "");
}

// Integers in [lo, hi]: with Δ = 1 many margins are exactly 0 and many rows tie.
Tensor<double> integer_scores(const Shape& shape, std::uint64_t seed, int lo = -2, int hi = 2) {
  std::mt19937_64 rng(seed);
  Tensor<double> t(shape);
  for (auto& v : t) v = static_cast<double>(lo + static_cast<int>(rng() % (hi - lo + 1)));
  return t;
}

// A scalar of a loss: itself, or for Reduction::none its rows contracted with
// fixed coefficients (so each row's upstream gradient differs).
template <class T>
Var<T> scalarize(Tape<T>& t, const Var<T>& loss) {
  const Tensor<T>& v = t.value(loss);
  if (v.dimension() == 0) return loss;
  Tensor<T> c = Tensor<T>::from_shape(v.shape());
  for (std::size_t i = 0; i < c.size(); ++i) c.data()[i] = static_cast<T>(0.5 + 0.25 * double(i % 5));
  return sum(loss * t.constant(c));
}

template <class T>
CompareReport fused_vs_composed(const Tensor<T>& s, const IndexTensor& y, const HingeOptions& o,
                                const Tensor<T>* w, const CompareOptions& tol) {
  const TapeFn<T> fused = [&](Tape<T>& t, const std::vector<Var<T>>& v) {
    return scalarize(t, multiclass_hinge(v[0], y, o, w));
  };
  const TapeFn<T> composed = [&](Tape<T>& t, const std::vector<Var<T>>& v) {
    return scalarize(t, multiclass_hinge_composed(v[0], y, o, w));
  };
  return compare_gradients(fused, composed, {s}, tol);
}

// Runs every kind × p × reduction × weights on one score matrix.
template <class T>
void sweep(const Tensor<T>& s, const IndexTensor& y, const Tensor<T>& w, double margin, const CompareOptions& tol) {
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2})
      for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
        for (bool weighted : {false, true}) {
          const HingeOptions o = opts(kind, p, red, margin);
          const CompareReport rep = fused_vs_composed(s, y, o, weighted ? &w : nullptr, tol);
          EXPECT_TRUE(rep.passed) << describe(o, weighted) << ": " << rep.summary();
        }
}

const CompareOptions kDoubleTol{1e-12, 1e-15};
const CompareOptions kFloatTol{2e-5, 1e-7};

TEST(HingeComposed, Cs231nExample) {
  const Tensor<double> s = {{3.2, 5.1, -1.7}, {1.3, 4.9, 2.0}, {2.2, 2.5, -3.1}};
  const IndexTensor y = {0, 1, 2};
  Parameter<double> p(s);
  Tape<double> t;
  const Var<double> rows = multiclass_hinge_composed(t.watch(p), y, opts(WW, 1, Reduction::none));
  EXPECT_TRUE(all_close(t.value(rows), Tensor<double>{2.9, 0.0, 12.9}, 1e-12));
  t.backward(sum(rows));
  EXPECT_TRUE(all_close(p.grad, Tensor<double>{{-1, 1, 0}, {0, 0, 0}, {1, 1, -2}}, 1e-15));
  t.clear();
  EXPECT_NEAR(t.value(multiclass_hinge_composed(t.watch(p), y, opts(CS, 2, Reduction::sum))).data()[0],
              2.9 * 2.9 + 6.6 * 6.6, 1e-12);
}

TEST(HingeComposed, KinkAndTieConventions) {
  Parameter<double> p(Tensor<double>{{2.0, 1.0, 0.0}, {2.0, 2.0, 1.0}});
  const IndexTensor y = {0, 2};
  Tape<double> t;
  // row 0 sits on the kink (z = 0): no loss, no gradient; row 1's two maxima tie: z = 2
  t.backward(multiclass_hinge_composed(t.watch(p), y, opts(CS, 1, Reduction::sum)));
  EXPECT_TRUE(all_close(p.grad, Tensor<double>{{0, 0, 0}, {0.5, 0.5, -1}}, 0, 0));
  p.zero_grad();
  t.clear();
  t.backward(multiclass_hinge_composed(t.watch(p), y, opts(WW, 2, Reduction::sum)));
  // row 1: z = 2 for both wrong classes → 2·2 each, −8 for the true class
  EXPECT_TRUE(all_close(p.grad, Tensor<double>{{0, 0, 0}, {4, 4, -8}}, 0, 0));
}

TEST(HingeComposed, SingleClassHasNoLoss) {
  Tensor<double> s = xt::zeros<double>({3, 1});
  s(1, 0) = std::numeric_limits<double>::max();  // (a shift above the scores' spread was inf)
  s(2, 0) = -1e6;
  for (HingeKind kind : {WW, CS}) {
    Parameter<double> p(s);
    Tape<double> t;
    t.backward(multiclass_hinge_composed(t.watch(p), IndexTensor{0, 0, 0}, opts(kind, 1, Reduction::sum, 5.0)));
    EXPECT_EQ(p.grad, xt::zeros<double>({3, 1}));
  }
}

TEST(HingeComposed, MatchesFusedDoubleRandom) {
  const std::size_t n = 12, c = 37;  // wide enough for the fused op's SIMD loops and tails
  const Tensor<double> s = random_tensor({n, c}, 21, -2, 2);
  const Tensor<double> w = random_tensor({c}, 22, 0.2, 3.0);
  sweep(s, random_labels(n, c, 23), w, 1.0, kDoubleTol);
  sweep(s, random_labels(n, c, 24), w, 0.3, kDoubleTol);
}

TEST(HingeComposed, MatchesFusedDoubleSmallShapes) {
  for (const Shape& shape : {Shape{1, 2}, Shape{5, 3}, Shape{3, 8}, Shape{2, 17}}) {
    const Tensor<double> s = random_tensor(shape, shape[0] * 100 + shape[1], -1, 1);
    const Tensor<double> w = random_tensor({shape[1]}, 31, 0.5, 2.0);
    sweep(s, random_labels(shape[0], shape[1], 32), w, 1.0, kDoubleTol);
  }
}

TEST(HingeComposed, MatchesFusedAtKinksAndTiesDouble) {
  // integer scores with Δ = 1: margins exactly 0 and tied maxima everywhere; the two
  // paths must take the same side of every kink and split every tie the same way
  const std::size_t n = 30, c = 19;
  const Tensor<double> s = integer_scores({n, c}, 41);
  const Tensor<double> w = {1, 2, 3, 0.5, 1, 2, 1, 1, 4, 1, 1, 2, 0.25, 1, 1, 3, 1, 1, 2};
  sweep(s, random_labels(n, c, 42), w, 1.0, kDoubleTol);
  sweep(s, random_labels(n, c, 43), w, 2.0, kDoubleTol);
  const Tensor<double> s3 = integer_scores({8, 3}, 44, 0, 1);  // few classes: every row ties or kinks
  sweep(s3, random_labels(8, 3, 45), Tensor<double>{1, 2, 3}, 1.0, kDoubleTol);
}

TEST(HingeComposed, KinksAreReallyThere) {
  // guards the test above: the integer data must exercise both conventions
  const Tensor<double> s = integer_scores({30, 19}, 41);
  const IndexTensor y = random_labels(30, 19, 42);
  std::size_t on_kink = 0, tied = 0;
  for (std::size_t i = 0; i < 30; ++i) {
    const auto yi = static_cast<std::size_t>(y(i));
    double m = -1e9;
    for (std::size_t j = 0; j < 19; ++j)
      if (j != yi) {
        on_kink += s(i, j) - s(i, yi) + 1.0 == 0.0;
        m = std::max(m, s(i, j));
      }
    std::size_t count = 0;
    for (std::size_t j = 0; j < 19; ++j) count += j != yi && s(i, j) == m;
    tied += count > 1 && m - s(i, yi) + 1.0 > 0;
  }
  EXPECT_GT(on_kink, 50u);
  EXPECT_GT(tied, 10u);
}

TEST(HingeComposed, MatchesFusedFloat) {
  const Tensor<float> s = xt::cast<float>(random_tensor({16, 41}, 51, -3, 3));
  const Tensor<float> w = xt::cast<float>(random_tensor({41}, 52, 0.5, 2.0));
  sweep(s, random_labels(16, 41, 53), w, 1.0, kFloatTol);
  const Tensor<float> k = xt::cast<float>(integer_scores({16, 41}, 54));
  sweep(k, random_labels(16, 41, 55), w, 1.0, kFloatTol);
}

TEST(HingeComposed, BothPathsMatchTheNaiveLoops) {
  const Tensor<double> s = integer_scores({10, 6}, 61, -3, 3) + random_tensor({10, 6}, 62, -0.01, 0.01);
  const IndexTensor y = random_labels(10, 6, 63);
  const Tensor<double> w = {1, 0.5, 2, 3, 1, 0.25};
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2})
      for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none}) {
        const HingeOptions o = opts(kind, p, red);
        const auto ref = testing::reference::hinge(s, y, o, &w);
        for (bool fused : {true, false}) {
          Parameter<double> param(s);
          Tape<double> t;
          const Var<double> v = fused ? multiclass_hinge(t.watch(param), y, o, &w)
                                      : multiclass_hinge_composed(t.watch(param), y, o, &w);
          const Var<double> total = red == Reduction::none ? sum(v) : v;
          t.backward(total);
          EXPECT_NEAR(t.value(total).data()[0], ref.total, 1e-12 * std::abs(ref.total)) << describe(o, true);
          if (red == Reduction::none) EXPECT_TRUE(all_close(t.value(v), ref.rows));
          EXPECT_TRUE(all_close(param.grad, ref.grad, 1e-14, 1e-12)) << describe(o, true) << " fused " << fused;
        }
      }
}

TEST(HingeComposed, Cs231nNaiveDWThroughMatmul) {
  // cs231n's svm_loss_naive: scores = X·W, Δ = 1, mean; dW by the naive loop
  const Tensor<double> X = random_tensor({20, 7}, 71);
  const Tensor<double> W = random_tensor({7, 5}, 72, -0.5, 0.5);
  const IndexTensor y = random_labels(20, 5, 73);
  const auto ref = testing::reference::svm_loss_naive(W, X, y);
  for (bool fused : {true, false}) {
    Parameter<double> pw(W);
    Tape<double> t;
    const Var<double> scores = matmul(t.constant(X), t.watch(pw));
    const Var<double> loss = fused ? multiclass_hinge(scores, y) : multiclass_hinge_composed(scores, y);
    t.backward(loss);
    EXPECT_NEAR(t.value(loss)(), ref.loss, 1e-12);
    EXPECT_TRUE(all_close(pw.grad, ref.dW, 1e-13, 1e-11)) << (fused ? "fused" : "composed");
  }
}

TEST(HingeComposed, GradientReachesWAndBThroughMatmulIdentically) {
  // scores = X·W + b: compare_gradients over (W, b) with X fixed
  const Tensor<double> X = random_tensor({24, 9}, 81);
  const Tensor<double> W = random_tensor({9, 10}, 82);
  const Tensor<double> b = random_tensor({1, 10}, 83, -0.1, 0.1);
  const IndexTensor y = random_labels(24, 10, 84);
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2}) {
      const HingeOptions o = opts(kind, p);
      auto model = [&](bool fused) {
        return TapeFn<double>([&, fused](Tape<double>& t, const std::vector<Var<double>>& v) {
          const Var<double> scores = matmul(t.constant(X), v[0]) + v[1];
          return fused ? multiclass_hinge(scores, y, o) : multiclass_hinge_composed(scores, y, o);
        });
      };
      const CompareReport rep = compare_gradients(model(true), model(false), {W, b}, kDoubleTol);
      EXPECT_TRUE(rep.passed) << describe(o, false) << ": " << rep.summary();
      EXPECT_EQ(rep.compared, 9u * 10 + 10);
    }
}

TEST(HingeComposed, GradcheckAwayFromKinks) {
  const Tensor<double> s = random_tensor({5, 4}, 91, -2, 2);
  const IndexTensor y = random_labels(5, 4, 92);
  const Tensor<double> w = {0.5, 1.0, 2.0, 1.5};
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2})
      EXPECT_TRUE(gradcheck_passes(
          [&](Tape<double>&, const std::vector<Var<double>>& v) {
            return multiclass_hinge_composed(v[0], y, opts(kind, p, Reduction::mean, 0.8), &w);
          },
          {s}));
}

// Scores near T's largest: wherever the fused value is finite, the composed one is
// the same, with the same gradient. (The old Crammer–Singer composition shifted the
// true class by 4·max|s| + |Δ| + 1: inf above 8.5e37 in float, and 0·inf NaN.)
template <class T>
void expect_large_scores_match(const Tensor<T>& s, const IndexTensor& y) {
  std::size_t compared = 0;
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2})
      for (Reduction red : {Reduction::mean, Reduction::sum}) {
        Parameter<T> pa(s), pb(s);
        Tape<T> ta, tb;
        const Var<T> a = multiclass_hinge(ta.watch(pa), y, opts(kind, p, red));
        const Var<T> b = multiclass_hinge_composed(tb.watch(pb), y, opts(kind, p, red));
        if (!std::isfinite(ta.value(a)())) continue;  // p = 2 overflows: nothing to match
        ++compared;
        EXPECT_EQ(ta.value(a)(), tb.value(b)()) << describe(opts(kind, p, red), false);
        ta.backward(a);
        tb.backward(b);
        EXPECT_EQ(pa.grad, pb.grad) << describe(opts(kind, p, red), false);
      }
  EXPECT_GE(compared, 4u);  // p = 1 at least, both kinds and reductions
}

TEST(HingeComposed, LargeScoresEqualTheFusedOp) {
  const float top = std::numeric_limits<float>::max();  // 3.4e38
  // a wrong-class max 5e37 above the true score; a tie at 2e38; the extremes (z < 0); C = 4
  expect_large_scores_match<float>({{1e38f, 2e38f, 1.5e38f, -1e38f},
                                    {2e38f, 1e38f, 2e38f, 0.0f},
                                    {-top, top / 2, -top, top},
                                    {3e30f, -3e30f, 1e30f, -2e30f}},
                                   IndexTensor{2, 1, 3, 0});
  const double dtop = std::numeric_limits<double>::max();  // the shift overflowed above 4.5e307
  expect_large_scores_match<double>({{1e307, 1e308, 5e307}, {1e308, -1e308, 1e308}, {-dtop, 0, dtop / 2}},
                                    IndexTensor{2, 0, 2});
}

std::string composed_error(const Tensor<double>& s, const IndexTensor& y, const HingeOptions& o = {},
                           const Tensor<double>* w = nullptr) {
  return testing::error_of([&] {
    Tape<double> t;
    multiclass_hinge_composed(t.constant(s), y, o, w);
  });
}

TEST(HingeComposedErrors, SameChecksAsTheFusedOpUnderItsOwnName) {
  const Tensor<double> s = xt::zeros<double>({8, 10});
  IndexTensor y = xt::zeros<std::int64_t>({8});
  y(5) = 12;
  EXPECT_EQ(composed_error(s, y), "multiclass_hinge_composed: label 12 at row 5 is outside [0, 10)");
  EXPECT_THAT(composed_error(s, IndexTensor{0}), HasSubstr("multiclass_hinge_composed: labels must be 1-D"));
  EXPECT_THAT(composed_error(Tensor<double>{1.0}, IndexTensor{0}), HasSubstr("scores must be 2-D"));
  HingeOptions o;
  o.p = 4;
  EXPECT_EQ(composed_error(xt::zeros<double>({2, 2}), IndexTensor{0, 1}, o),
            "multiclass_hinge_composed: p must be 1 or 2, got 4");
  const Tensor<double> w = {1.0};
  EXPECT_THAT(composed_error(xt::zeros<double>({2, 2}), IndexTensor{0, 1}, {}, &w),
              HasSubstr("weights must have one entry per class, shape (2), got shape (1)"));
  Tensor<double> bad = xt::zeros<double>({2, 2});
  bad(1, 1) = std::numeric_limits<double>::infinity();
  EXPECT_EQ(composed_error(bad, IndexTensor{0, 1}), "multiclass_hinge_composed: non-finite score inf at row 1, column 1");
}

TEST(HingeComposedErrors, MeanOverNoRowsAndUnknownKind) {
  const Tensor<double> none = xt::zeros<double>({0, 3});
  EXPECT_EQ(composed_error(none, IndexTensor(xt::zeros<std::int64_t>({0}))),
            "multiclass_hinge_composed: the mean over 0 rows is undefined (use Reduction::sum or Reduction::none)");
  const Tensor<double> s = {{1.0, 2.0}, {0.5, -1.0}};
  HingeOptions o;
  o.kind = static_cast<HingeKind>(5);
  EXPECT_EQ(composed_error(s, IndexTensor{0, 1}, o), "multiclass_hinge_composed: unknown hinge kind 5");
}

}  // namespace
}  // namespace tapegrad
