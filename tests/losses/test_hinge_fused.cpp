// The fused multiclass hinge through its public API: hand-computed values and
// gradients (cs231n's examples), the kink and tie conventions, gradcheck away from
// kinks, saved state and buffer reuse. (Each kernel against the reference:
// test_hinge_rows.cpp, test_hinge_avx512.cpp; errors: test_check_inputs.cpp.)
#include <gmock/gmock.h>

#include <cmath>
#include <limits>
#include <random>

#include <tapegrad/losses/hinge.hpp>
#include "losses/hinge_cases.hpp"
#include "losses/reference.hpp"
#include <tapegrad/losses/hinge_kernels.hpp>
#include "support/alloc_counter.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::all_close;
using testing::allocations_after_warmup;
using testing::gradcheck_passes;
using testing::random_tensor;

struct Out {
  Tensor<double> value;
  Tensor<double> grad;
};

// Value and d(value)/d(scores) of the fused loss; a non-scalar value is seeded with `seed` (or ones).
Out run(const Tensor<double>& s, const IndexTensor& y, const HingeOptions& o, const Tensor<double>* w = nullptr,
        const Tensor<double>* seed = nullptr) {
  Parameter<double> p(s);
  Tape<double> t;
  const Var<double> v = multiclass_hinge(t.watch(p), y, o, w);
  Out out{t.value(v), {}};
  if (seed)
    t.backward(v, *seed);
  else if (out.value.size() == 1)
    t.backward(v);
  else
    t.backward(v, xt::ones<double>(out.value.shape()));
  out.grad = p.grad;
  return out;
}

using testing::CS;
using testing::opts;
using testing::random_labels;
using testing::WW;

// cs231n's lecture 3 example, one image per row: cat, car, frog.
const Tensor<double> kScores = {{3.2, 5.1, -1.7}, {1.3, 4.9, 2.0}, {2.2, 2.5, -3.1}};
const IndexTensor kLabels = {0, 1, 2};

TEST(HingeFused, Cs231nExamplePerRowMeanSum) {
  EXPECT_TRUE(all_close(run(kScores, kLabels, opts(WW, 1, Reduction::none)).value, Tensor<double>{2.9, 0.0, 12.9}));
  EXPECT_NEAR(run(kScores, kLabels, opts(WW)).value(), (2.9 + 0.0 + 12.9) / 3, 1e-12);
  EXPECT_NEAR(run(kScores, kLabels, opts(WW, 1, Reduction::sum)).value(), 15.8, 1e-12);
}

TEST(HingeFused, Cs231nCatRowGradient) {
  const Tensor<double> cat = {{3.2, 5.1, -1.7}};
  const IndexTensor y = {0};
  const Out p1 = run(cat, y, opts(WW, 1, Reduction::sum));
  EXPECT_NEAR(p1.value(), 2.9, 1e-12);
  EXPECT_TRUE(all_close(p1.grad, Tensor<double>{{-1.0, 1.0, 0.0}}));
  const Out p2 = run(cat, y, opts(WW, 2, Reduction::sum));  // squared hinge: 2.9², gradient 2·2.9
  EXPECT_NEAR(p2.value(), 8.41, 1e-12);
  EXPECT_TRUE(all_close(p2.grad, Tensor<double>{{-5.8, 5.8, 0.0}}, 1e-12));
}

TEST(HingeFused, Cs231nMeanGradientIsDividedByN) {
  // frog row: both wrong classes violate; car row: none
  const Out o = run(kScores, kLabels, opts(WW));
  const Tensor<double> expected = Tensor<double>{{-1, 1, 0}, {0, 0, 0}, {1, 1, -2}} / 3.0;
  EXPECT_TRUE(all_close(o.grad, expected));
}

TEST(HingeFused, CrammerSingerHandValues) {
  // cat: max wrong 5.1 → 2.9; car: 2.0 − 4.9 + 1 < 0 → 0; frog: max(2.2, 2.5) + 3.1 + 1 = 6.6
  const Out o = run(kScores, kLabels, opts(CS, 1, Reduction::none));
  EXPECT_TRUE(all_close(o.value, Tensor<double>{2.9, 0.0, 6.6}));
  EXPECT_TRUE(all_close(o.grad, Tensor<double>{{-1, 1, 0}, {0, 0, 0}, {0, 1, -1}}));
  const Out sq = run(kScores, kLabels, opts(CS, 2, Reduction::sum));
  EXPECT_NEAR(sq.value(), 2.9 * 2.9 + 6.6 * 6.6, 1e-12);
  EXPECT_TRUE(all_close(sq.grad, Tensor<double>{{-5.8, 5.8, 0}, {0, 0, 0}, {0, 13.2, -13.2}}, 1e-12));
}

TEST(HingeFused, MarginExactlyZeroAddsNoLossAndNoGradient) {
  // s_1 − s_0 + Δ = 0 exactly: on the kink, relu'(0) = 0 on both kinds and both powers
  const Tensor<double> s = {{2.0, 1.0, 0.0}};
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2}) {
      const Out o = run(s, IndexTensor{0}, opts(kind, p, Reduction::sum));
      EXPECT_EQ(o.value(), 0.0);
      EXPECT_TRUE(all_close(o.grad, Tensor<double>{{0.0, 0.0, 0.0}}, 0, 0));
    }
}

TEST(HingeFused, CrammerSingerTiesSplitTheGradientEvenly) {
  const Tensor<double> s = {{2.0, 2.0, 1.0}};  // both wrong classes are the max: z = 2
  const Out p1 = run(s, IndexTensor{2}, opts(CS, 1, Reduction::sum));
  EXPECT_EQ(p1.value(), 2.0);
  EXPECT_TRUE(all_close(p1.grad, Tensor<double>{{0.5, 0.5, -1.0}}, 0, 0));
  const Out p2 = run(s, IndexTensor{2}, opts(CS, 2, Reduction::sum));
  EXPECT_EQ(p2.value(), 4.0);
  EXPECT_TRUE(all_close(p2.grad, Tensor<double>{{2.0, 2.0, -4.0}}, 0, 0));
  // three-way tie among 4 wrong classes of 5
  const Out t3 = run(Tensor<double>{{1, 3, 3, 0, 3}}, IndexTensor{0}, opts(CS, 1, Reduction::sum));
  EXPECT_EQ(t3.value(), 3.0);
  EXPECT_TRUE(all_close(t3.grad, Tensor<double>{{-1.0, 1.0 / 3, 1.0 / 3, 0.0, 1.0 / 3}}));
}

TEST(HingeFused, WeightsScaleEachRowByItsTrueClassWeightAndMeanDividesByN) {
  const Tensor<double> w = {1.0, 2.0, 0.5};
  const Out none = run(kScores, kLabels, opts(WW, 1, Reduction::none), &w);
  EXPECT_TRUE(all_close(none.value, Tensor<double>{2.9, 0.0, 6.45}));
  EXPECT_TRUE(all_close(none.grad, Tensor<double>{{-1, 1, 0}, {0, 0, 0}, {0.5, 0.5, -1}}));
  // as PyTorch's MultiMarginLoss(weight=w): the mean divides by N, not by Σ w[y_i]
  EXPECT_NEAR(run(kScores, kLabels, opts(WW), &w).value(), (2.9 + 6.45) / 3, 1e-12);
}

TEST(HingeFused, ReductionNoneTakesAPerRowSeed) {
  const Tensor<double> seed = {1.0, 10.0, -2.0};
  const Out o = run(kScores, kLabels, opts(WW, 1, Reduction::none), nullptr, &seed);
  EXPECT_EQ(o.value.shape(), (std::vector<std::size_t>{3}));
  EXPECT_TRUE(all_close(o.grad, Tensor<double>{{-1, 1, 0}, {0, 0, 0}, {-2, -2, 4}}));
}

TEST(HingeFused, WideRowsExerciseTheVectorLoopsAndTails) {
  // C = 37 (several SIMD batches plus a tail), labels everywhere incl. first and last class
  const std::size_t n = 9, c = 37;
  const Tensor<double> s = random_tensor({n, c}, 11, -2, 2);
  IndexTensor y = random_labels(n, c, 12);
  y(0) = 0;
  y(1) = c - 1;
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2}) {
      const HingeOptions o = opts(kind, p, Reduction::sum);
      const auto ref = testing::reference::hinge(s, y, o);
      const Out got = run(s, y, o);
      EXPECT_NEAR(got.value(), ref.total, 1e-12 * std::abs(ref.total));
      EXPECT_TRUE(all_close(got.grad, ref.grad, 1e-13, 1e-12));
    }
}

TEST(HingeFused, AddsIntoAnExistingGradient) {
  // the scores feed two losses: the second backward adds into a non-fresh buffer
  for (HingeKind kind : {WW, CS}) {
    Parameter<double> p(kScores);
    Tape<double> t;
    const Var<double> s = t.watch(p);
    const Var<double> l = s * 1.0;  // a non-leaf, so its gradient buffer is a record's
    t.backward(multiclass_hinge(l, kLabels, opts(kind)) + multiclass_hinge(l, kLabels, opts(kind, 2)));
    const auto r1 = testing::reference::hinge(kScores, kLabels, opts(kind));
    const auto r2 = testing::reference::hinge(kScores, kLabels, opts(kind, 2));
    EXPECT_TRUE(all_close(p.grad, r1.grad + r2.grad));
  }
}

TEST(HingeFused, GradcheckAwayFromKinks) {
  const Tensor<double> w = {0.5, 1.5, 2.0, 1.0, 0.25};
  int case_no = 0;
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2})
      for (Reduction red : {Reduction::mean, Reduction::sum})
        for (bool weighted : {false, true})
          for (const Shape& shape : {Shape{4, 5}, Shape{7, 5}}) {
            const IndexTensor y = random_labels(shape[0], shape[1], 100 + case_no);
            const Tensor<double> s = random_tensor(shape, 200 + case_no++, -2, 2);
            const HingeOptions o = opts(kind, p, red, 0.7);
            const Tensor<double>* wp = weighted ? &w : nullptr;
            EXPECT_TRUE(gradcheck_passes(
                [&](Tape<double>&, const std::vector<Var<double>>& v) { return multiclass_hinge(v[0], y, o, wp); },
                {s}))
                << "kind " << int(kind) << " p " << p << " reduction " << int(red) << " weighted " << weighted;
          }
}

TEST(HingeFused, GradcheckReductionNone) {
  const Tensor<double> s = random_tensor({6, 4}, 7, -2, 2);
  const IndexTensor y = random_labels(6, 4, 8);
  GradcheckOptions g;
  g.contract_output = true;
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2})
      EXPECT_TRUE(gradcheck_passes(
          [&](Tape<double>&, const std::vector<Var<double>>& v) {
            return multiclass_hinge(v[0], y, opts(kind, p, Reduction::none));
          },
          {s}, g));
}

TEST(HingeFused, BranchTrackingMakesGradcheckSkipKinks) {
  // integer scores sit on kinks (z = 0) and on Crammer–Singer ties: every such
  // element's ±h step changes a branch, so gradcheck skips it instead of failing
  const Tensor<double> s = {{1, 0, 2, 0}, {3, 3, 1, 0}, {0, 0, 0, 0}};
  const IndexTensor y = {2, 2, 1};
  for (HingeKind kind : {WW, CS}) {
    const GradcheckReport rep = gradcheck(
        [&](Tape<double>&, const std::vector<Var<double>>& v) { return multiclass_hinge(v[0], y, opts(kind)); },
        {s});
    EXPECT_TRUE(rep.passed) << rep.summary();
    EXPECT_GT(rep.skipped_kinks, 0u) << rep.summary();
  }
}

TEST(HingeFused, FloatAgreesWithDouble) {
  const Tensor<double> s = random_tensor({16, 23}, 5, -3, 3);
  const IndexTensor y = random_labels(16, 23, 6);
  for (HingeKind kind : {WW, CS})
    for (int p : {1, 2}) {
      const Out d = run(s, y, opts(kind, p));
      Parameter<float> pf(xt::cast<float>(s));
      Tape<float> t;
      const Var<float> v = multiclass_hinge(t.watch(pf), y, opts(kind, p));
      t.backward(v);
      EXPECT_NEAR(t.value(v)(), d.value(), 1e-5 * std::abs(d.value()));
      EXPECT_TRUE(all_close(xt::cast<double>(pf.grad), d.grad, 1e-6, 1e-4));
    }
}

TEST(HingeFused, SavesItsKernelAndReusesRecordBuffersAfterClear) {
  // labels and weights are kept in the record's named buffers: a second step of the
  // same shape writes into the first step's allocations
  const Tensor<double> w = {1.0, 2.0, 0.5};
  Parameter<double> p(kScores);
  Tape<double> t;
  const std::int64_t* labels_data = nullptr;
  const double* weights_data = nullptr;
  for (int step = 0; step < 3; ++step) {
    t.clear();
    const Var<double> v = multiclass_hinge(t.watch(p), kLabels, opts(CS), &w);
    t.backward(v);
    const Record<double>& r = t.record(v.id());
    const auto& sv = r.saved<hinge_impl::Saved<double>>();
    EXPECT_EQ(sv.kernel, HingeKernel::cs_argmax);
    EXPECT_EQ(r.buffer(sv.labels), kLabels);
    EXPECT_EQ(r.buffer(sv.weights), w);
    EXPECT_EQ(r.buffer(sv.bits).size(), 2 * 3u);  // first maximum and tie count per row
    if (step > 0) {
      EXPECT_EQ(r.buffer(sv.labels).data(), labels_data);
      EXPECT_EQ(r.buffer(sv.weights).data(), weights_data);
    }
    labels_data = r.buffer(sv.labels).data();
    weights_data = r.buffer(sv.weights).data();
  }
}

TEST(HingeFused, NoGradSavesNothingAndStillComputes) {
  Parameter<double> p(kScores);
  Tape<double> t;
  NoGrad<double> no_grad(t);
  const Var<double> v = multiclass_hinge(t.watch(p), kLabels, opts(WW));
  EXPECT_NEAR(t.value(v)(), 15.8 / 3, 1e-12);
  EXPECT_FALSE(t.record(v.id()).requires_grad);
  EXPECT_FALSE(t.record(v.id()).has_saved());
}

TEST(HingeFused, EmptyBatchAndSingleClass) {
  const Tensor<double> empty = Tensor<double>::from_shape({0, 4});
  EXPECT_EQ(run(empty, IndexTensor::from_shape({0}), opts(WW, 1, Reduction::sum)).value(), 0.0);
  EXPECT_EQ(run(empty, IndexTensor::from_shape({0}), opts(CS, 1, Reduction::none)).value.size(), 0u);
  // one class: no wrong class, so no loss and no gradient (Crammer–Singer's max over nothing)
  Tensor<double> one_class = xt::zeros<double>({2, 1});
  one_class(0, 0) = 5.0;
  one_class(1, 0) = -1.0;
  for (HingeKind kind : {WW, CS}) {
    const Out o = run(one_class, IndexTensor{0, 0}, opts(kind, 2));
    EXPECT_EQ(o.value(), 0.0);
    EXPECT_TRUE(all_close(o.grad, xt::zeros<double>({2, 1}), 0, 0));
  }
}

TEST(HingeFused, SteadyStateStepAllocatesNothing) {
  // watch, loss, backward, clear: once the record buffers are warm, a step of the
  // same shape allocates nothing (labels and weights are assigned into them)
  const Tensor<double> s = random_tensor({64, 40}, 3);
  const IndexTensor y = random_labels(64, 40, 4);
  const Tensor<double> w = random_tensor({40}, 5, 0.5, 2.0);
  const Tensor<double> seed = random_tensor({64}, 6);
  for (HingeKind kind : {WW, CS})
    for (Reduction red : {Reduction::mean, Reduction::none}) {
      Parameter<double> p(s);
      Tape<double> t;
      const auto step = [&] {
        const Var<double> v = multiclass_hinge(t.watch(p), y, opts(kind, 2, red), &w);
        if (red == Reduction::none)
          t.backward(v, seed);
        else
          t.backward(v);
        t.clear();
      };
      EXPECT_EQ(allocations_after_warmup(g_allocations, g_counting, step, 2, 3), 0)
          << "kind " << int(kind) << " reduction " << int(red);
    }
}

}  // namespace
}  // namespace tapegrad
