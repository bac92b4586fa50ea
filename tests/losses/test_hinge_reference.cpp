// The reference fused hinge (losses/hinge_reference.cpp), the ground truth of the
// kernels: hand-computed values (cs231n, PyTorch), the kink and tie conventions,
// agreement with the composed op (compare_gradients, at random points and on
// integer scores full of kinks and ties) and with cs231n's naive loops, gradcheck
// with branch tracking, and its errors under its own name.
#include <gmock/gmock.h>

#include <cmath>
#include <random>

#include <tapegrad/core/compare.hpp>
#include <tapegrad/losses/hinge.hpp>
#include "losses/hinge_cases.hpp"
#include "losses/hinge_exactness.hpp"
#include "losses/reference.hpp"
#include "support/alloc_counter.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::CS;
using testing::opts;
using testing::random_labels;
using testing::random_tensor;
using testing::WW;

using HingeFn = Var<double> (*)(const Var<double>&, const IndexTensor&, const HingeOptions&, const Tensor<double>*);
constexpr HingeFn kReference = &multiclass_hinge_reference<double>;
constexpr HingeFn kFused = &multiclass_hinge<double>;

struct Out {
  Tensor<double> value;
  Tensor<double> grad;
};

// Value and d(Σ value)/d(scores) of one op.
Out run(HingeFn op, const Tensor<double>& s, const IndexTensor& y, const HingeOptions& o,
        const Tensor<double>* w = nullptr) {
  Parameter<double> p(s);
  Tape<double> t;
  const Var<double> v = op(t.watch(p), y, o, w);
  t.backward(v, xt::ones<double>(t.value(v).shape()));
  return {t.value(v), p.grad};
}

// cs231n's lecture 3 example, one image per row: cat, car, frog.
const Tensor<double> kScores = {{3.2, 5.1, -1.7}, {1.3, 4.9, 2.0}, {2.2, 2.5, -3.1}};
const IndexTensor kLabels = {0, 1, 2};

TEST(HingeReference, Cs231nExampleByHand) {
  // cat: max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9; car: 0; frog: 6.3 + 6.6 = 12.9
  for (HingeFn op : {kReference, kFused}) {
    const Out rows = run(op, kScores, kLabels, opts(WW, 1, Reduction::none));
    EXPECT_TRUE(all_close(rows.value, Tensor<double>{2.9, 0.0, 12.9}));
    EXPECT_TRUE(all_close(rows.grad, Tensor<double>{{-1, 1, 0}, {0, 0, 0}, {1, 1, -2}}, 0, 0));
    EXPECT_NEAR(run(op, kScores, kLabels, opts(WW)).value(), 15.8 / 3, 1e-12);
    // Crammer–Singer: cat 2.9; frog max(2.2, 2.5) + 3.1 + 1 = 6.6; squared: gradient 2z
    const Out cs = run(op, kScores, kLabels, opts(CS, 2, Reduction::sum));
    EXPECT_NEAR(cs.value(), 2.9 * 2.9 + 6.6 * 6.6, 1e-12);
    EXPECT_TRUE(all_close(cs.grad, Tensor<double>{{-5.8, 5.8, 0}, {0, 0, 0}, {0, 13.2, -13.2}}, 1e-12));
  }
}

TEST(HingeReference, PyTorchMultiMarginLossIsWestonWatkinsMeanOverC) {
  // PyTorch's documented example: MultiMarginLoss()([[0.1, 0.2, 0.4, 0.8]], [3]) = 0.3250
  for (HingeFn op : {kReference, kFused}) {
    const double ww = run(op, Tensor<double>{{0.1, 0.2, 0.4, 0.8}}, IndexTensor{3}, opts(WW)).value();
    EXPECT_NEAR(ww, 1.3, 1e-12);
    EXPECT_NEAR(ww / 4, 0.325, 1e-12);
  }
}

TEST(HingeReference, MarginWeightsAndConventions) {
  for (HingeFn op : {kReference, kFused}) {
    // cs231n notes: s = [13, −7, 11], y = 0, Δ = 10 → 0 + (11 − 13 + 10) = 8
    const Out m = run(op, Tensor<double>{{13, -7, 11}}, IndexTensor{0}, opts(WW, 1, Reduction::sum, 10.0));
    EXPECT_EQ(m.value(), 8.0);
    EXPECT_TRUE(all_close(m.grad, Tensor<double>{{-1, 0, 1}}, 0, 0));
    // weights scale row i by w[y_i]; the mean still divides by N
    const Tensor<double> w = {1.0, 2.0, 0.5};
    EXPECT_NEAR(run(op, kScores, kLabels, opts(WW), &w).value(), (2.9 + 6.45) / 3, 1e-12);
    // z = 0 exactly: no loss, no gradient (both kinds, both powers)
    for (HingeKind kind : {WW, CS})
      for (int p : {1, 2}) {
        const Out k = run(op, Tensor<double>{{2.0, 1.0, 0.0}}, IndexTensor{0}, opts(kind, p, Reduction::sum));
        EXPECT_EQ(k.value(), 0.0);
        EXPECT_TRUE(all_close(k.grad, Tensor<double>{{0, 0, 0}}, 0, 0));
      }
    // a three-way tie for the Crammer–Singer maximum: a third of dz to each
    const Out t3 = run(op, Tensor<double>{{1, 3, 3, 0, 3}}, IndexTensor{0}, opts(CS, 1, Reduction::sum));
    EXPECT_EQ(t3.value(), 3.0);
    EXPECT_TRUE(all_close(t3.grad, Tensor<double>{{-1.0, 1.0 / 3, 1.0 / 3, 0.0, 1.0 / 3}}));
    // one class: no wrong class, no loss, no gradient
    const Out one = run(op, testing::nested<double, 2>({{5.0}, {-1.0}}), IndexTensor{0, 0}, opts(CS, 2));
    EXPECT_EQ(one.value(), 0.0);
    EXPECT_TRUE(all_close(one.grad, xt::zeros<double>({2, 1}), 0, 0));
  }
}

// Every kind × p × reduction × weights: the reference against the composed op.
template <class T>
void sweep_vs_composed(const Tensor<T>& s, const IndexTensor& y, const Tensor<T>& w, double margin,
                       const CompareOptions& tol) {
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2})
      for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
        for (bool weighted : {false, true}) {
          const HingeOptions o = opts(kind, p, red, margin);
          const Tensor<T>* wp = weighted ? &w : nullptr;
          const auto path = [&](bool reference) {
            return TapeFn<T>([&, reference](Tape<T>& t, const std::vector<Var<T>>& v) {
              const Var<T> l = reference ? multiclass_hinge_reference(v[0], y, o, wp)
                                         : multiclass_hinge_composed(v[0], y, o, wp);
              if (red != Reduction::none) return l;
              Tensor<T> c = Tensor<T>::from_shape({y.size()});
              for (std::size_t i = 0; i < c.size(); ++i) c(i) = static_cast<T>(0.5 + 0.25 * double(i % 5));
              return sum(l * t.constant(c));
            });
          };
          const CompareReport rep = compare_gradients(path(true), path(false), {s}, tol);
          EXPECT_TRUE(rep.passed) << "kind " << int(kind) << " p " << p << " reduction " << int(red)
                                  << (weighted ? " weighted" : "") << ": " << rep.summary();
        }
}

TEST(HingeReference, MatchesComposedAtRandomPoints) {
  for (const Shape& shape : {Shape{1, 2}, Shape{5, 3}, Shape{12, 37}}) {
    const Tensor<double> s = random_tensor(shape, shape[0] * 100 + shape[1], -2, 2);
    const Tensor<double> w = random_tensor({shape[1]}, 22, 0.2, 3.0);
    sweep_vs_composed(s, random_labels(shape[0], shape[1], 23), w, 1.0, CompareOptions{1e-12, 1e-15});
    sweep_vs_composed(s, random_labels(shape[0], shape[1], 24), w, 0.3, CompareOptions{1e-12, 1e-15});
  }
  const Tensor<float> f = xt::cast<float>(random_tensor({16, 41}, 51, -3, 3));
  const Tensor<float> fw = xt::cast<float>(random_tensor({41}, 52, 0.5, 2.0));
  sweep_vs_composed(f, random_labels(16, 41, 53), fw, 1.0, CompareOptions{2e-5, 1e-7});
}

TEST(HingeReference, MatchesComposedExactlyAtKinksAndTies) {
  // integer scores with Δ = 1: margins exactly 0 and tied maxima everywhere, all sums
  // exact, so the two paths must agree to the last bit (same side of every kink)
  for (std::size_t c : {std::size_t(3), std::size_t(19)}) {
    const Tensor<double> s = testing::integer_scores<double>(testing::kExactRows, c, 41 + c);
    Tensor<double> w = Tensor<double>::from_shape({c});
    for (std::size_t j = 0; j < c; ++j) w(j) = 0.5 * double(1 + j % 4);
    for (double margin : {1.0, 2.0})
      sweep_vs_composed(s, random_labels(testing::kExactRows, c, 42 + c), w, margin, CompareOptions{0, 0});
  }
}

TEST(HingeReference, TakesTheComposedOpsSideOfEveryKink) {
  // decimal scores put z within an ulp of 0 (tests/losses/hinge_exactness.hpp); with
  // p = 1 and a sum the gradients are exact in any summation order, so they must be
  // equal: both paths compute (s_j − s_y) + Δ in that order
  std::size_t sensitive = 0;
  for (std::size_t c : {std::size_t(2), std::size_t(7), std::size_t(40)})
    for (double margin : {0.1, 0.3, 0.7}) {
      const Tensor<double> s = testing::decimal_scores<double>(testing::kExactRows, c, 3000 + c);
      const IndexTensor y = testing::edge_labels(testing::kExactRows, c, 4000 + c);
      sensitive += testing::order_sensitive_terms(s, y, margin);
      for (HingeKind kind : {WW, CS}) {
        const HingeOptions o = opts(kind, 1, Reduction::sum, margin);
        EXPECT_TRUE(testing::same_values(run(kReference, s, y, o).grad, run(&multiclass_hinge_composed<double>, s, y, o).grad))
            << "C " << c << " margin " << margin << " kind " << int(kind);
      }
    }
  EXPECT_GT(sensitive, 10u);
}

TEST(HingeReference, MatchesCs231nNaiveLoops) {
  const Tensor<double> s = random_tensor({10, 6}, 61, -3, 3);
  const IndexTensor y = random_labels(10, 6, 63);
  const Tensor<double> w = {1, 0.5, 2, 3, 1, 0.25};
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2})
      for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none}) {
        const HingeOptions o = opts(kind, p, red, 0.7);
        const auto ref = testing::reference::hinge(s, y, o, &w);
        const Out got = run(kReference, s, y, o, &w);
        if (red == Reduction::none)
          EXPECT_TRUE(all_close(got.value, ref.rows, 1e-14, 1e-13));
        else
          EXPECT_NEAR(got.value(), ref.total, 1e-13 * std::abs(ref.total));
        EXPECT_TRUE(all_close(got.grad, ref.grad, 1e-14, 1e-12)) << "kind " << int(kind) << " p " << p;
      }
  // cs231n's svm_loss_naive: scores = X·W, Δ = 1, mean; dW by its loop
  const Tensor<double> X = random_tensor({20, 7}, 71);
  const Tensor<double> W = random_tensor({7, 5}, 72, -0.5, 0.5);
  const IndexTensor yx = random_labels(20, 5, 73);
  const auto naive = testing::reference::svm_loss_naive(W, X, yx);
  Parameter<double> pw(W);
  Tape<double> t;
  const Var<double> loss = multiclass_hinge_reference(matmul(t.constant(X), t.watch(pw)), yx);
  t.backward(loss);
  EXPECT_NEAR(t.value(loss)(), naive.loss, 1e-12);
  EXPECT_TRUE(all_close(pw.grad, naive.dW, 1e-13, 1e-11));
}

TEST(HingeReference, GradcheckSkipsTheKinksItNotes) {
  const Tensor<double> w = {0.5, 1.5, 2.0, 1.0, 0.25};
  const Tensor<double> s = random_tensor({6, 5}, 81, -2, 2);
  const Tensor<double> k = {{1, 0, 2, 0, 1}, {3, 3, 1, 0, 0}, {0, 0, 0, 0, 0}};  // on kinks and ties
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2}) {
      const auto f = [&](const IndexTensor& y, const Tensor<double>* wp) {
        return [&, y, wp](Tape<double>&, const std::vector<Var<double>>& v) {
          return multiclass_hinge_reference(v[0], y, opts(kind, p, Reduction::mean, 0.7), wp);
        };
      };
      EXPECT_TRUE(testing::gradcheck_passes(f(random_labels(6, 5, 82), &w), {s}));
      const GradcheckReport rep = gradcheck(
          [&](Tape<double>&, const std::vector<Var<double>>& v) {
            return multiclass_hinge_reference(v[0], IndexTensor{2, 2, 1}, opts(kind, p));
          },
          {k});
      EXPECT_TRUE(rep.passed) << rep.summary();
      EXPECT_GT(rep.skipped_kinks, 0u) << rep.summary();
    }
}

TEST(HingeReference, IgnoresTheKernelOptionAndSavesNothingUnderNoGrad) {
  HingeOptions o = opts(WW);
  o.kernel = HingeKernel::small_avx512;  // multiclass_hinge's business only, even for double
  EXPECT_NEAR(run(kReference, kScores, kLabels, o).value(), 15.8 / 3, 1e-12);
  Parameter<double> p(kScores);
  Tape<double> t;
  NoGrad<double> off(t);
  const Var<double> v = multiclass_hinge_reference(t.watch(p), kLabels, opts(CS));
  EXPECT_NEAR(t.value(v)(), (2.9 + 6.6) / 3, 1e-12);
  EXPECT_FALSE(t.record(v.id()).has_saved());
}

TEST(HingeReference, SteadyStateStepAllocatesNothing) {
  const Tensor<double> s = random_tensor({64, 40}, 3);
  const IndexTensor y = random_labels(64, 40, 4);
  const Tensor<double> w = random_tensor({40}, 5, 0.5, 2.0);
  for (HingeKind kind : {WW, CS}) {
    Parameter<double> p(s);
    Tape<double> t;
    const auto step = [&] {
      t.backward(multiclass_hinge_reference(t.watch(p), y, opts(kind, 2), &w));
      t.clear();
    };
    EXPECT_EQ(testing::allocations_after_warmup(g_allocations, g_counting, step, 2, 3), 0) << int(kind);
  }
}

std::string reference_error(const Tensor<double>& s, const IndexTensor& y, const HingeOptions& o = {},
                            const Tensor<double>* w = nullptr) {
  Tape<double> t;
  const Var<double> v = t.constant(s);
  const std::string e = testing::error_of([&] { multiclass_hinge_reference(v, y, o, w); });
  EXPECT_EQ(t.size(), 1u) << "a refused call records nothing: " << e;
  return e;
}

TEST(HingeReferenceErrors, TheFusedOpsChecksUnderItsOwnName) {
  IndexTensor y = xt::zeros<std::int64_t>({8});
  y(5) = 12;
  EXPECT_EQ(reference_error(xt::zeros<double>({8, 10}), y),
            "multiclass_hinge_reference: label 12 at row 5 is outside [0, 10)");
  EXPECT_THAT(reference_error(kScores, IndexTensor{0}), HasSubstr("multiclass_hinge_reference: labels must be 1-D"));
  EXPECT_THAT(reference_error(Tensor<double>{1.0}, IndexTensor{0}),
              HasSubstr("multiclass_hinge_reference: scores must be 2-D"));
  HingeOptions o;
  o.p = 4;
  EXPECT_EQ(reference_error(kScores, kLabels, o), "multiclass_hinge_reference: p must be 1 or 2, got 4");
  const Tensor<double> w = {1.0};
  EXPECT_THAT(reference_error(kScores, kLabels, {}, &w),
              HasSubstr("multiclass_hinge_reference: weights must have one entry per class"));
  Tensor<double> bad = kScores;
  bad(1, 2) = std::numeric_limits<double>::infinity();
  EXPECT_EQ(reference_error(bad, kLabels), "multiclass_hinge_reference: non-finite score inf at row 1, column 2");
  EXPECT_THAT(reference_error(Tensor<double>::from_shape({0, 3}), IndexTensor::from_shape({0})),
              HasSubstr("multiclass_hinge_reference: the mean over 0 rows is undefined"));
}

}  // namespace
}  // namespace tapegrad
