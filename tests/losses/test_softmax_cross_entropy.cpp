// Softmax cross-entropy, fused and composed: hand values, stability at s = 1e4,
// PyTorch's weighted mean, agreement of the two paths and with the naive loop,
// gradcheck, buffer reuse and errors.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>
#include <random>

#include <tapegrad/core/compare.hpp>
#include "losses/reference.hpp"
#include <tapegrad/losses/softmax_cross_entropy.hpp>
#include <tapegrad/losses/softmax_kernels.hpp>
#include "support/alloc_counter.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::gradcheck_passes;
using testing::allocations_after_warmup;
using testing::kNoError;
using testing::random_labels;
using testing::random_tensor;

template <class T>
struct Out {
  Tensor<T> value;
  Tensor<T> grad;
};

// Value and d(Σ value)/d(scores), by the fused or the composed path.
template <class T>
Out<T> run(bool fused, const Tensor<T>& s, const IndexTensor& y, Reduction red = Reduction::mean,
           const Tensor<T>* w = nullptr) {
  Parameter<T> p(s);
  Tape<T> t;
  const Var<T> v = fused ? softmax_cross_entropy(t.watch(p), y, red, w)
                         : softmax_cross_entropy_composed(t.watch(p), y, red, w);
  t.backward(v, xt::ones<T>(t.value(v).shape()));
  return {t.value(v), p.grad};
}

TEST(SoftmaxCrossEntropy, HandValues) {
  for (bool fused : {true, false}) {
    const Out<double> uniform = run(fused, Tensor<double>{{0.0, 0.0, 0.0}}, IndexTensor{1});
    EXPECT_NEAR(uniform.value(), 1.0986122886681098, 1e-15);  // log 3
    EXPECT_TRUE(all_close(uniform.grad, Tensor<double>{{1.0 / 3, -2.0 / 3, 1.0 / 3}}, 1e-15));
    const Out<double> ramp = run(fused, Tensor<double>{{1.0, 2.0, 3.0}}, IndexTensor{2}, Reduction::sum);
    EXPECT_NEAR(ramp.value(), 0.4076059644443804, 1e-15);  // log(1 + e⁻¹ + e⁻²)
    const double z = 1 + std::exp(-1.0) + std::exp(-2.0);
    EXPECT_TRUE(all_close(ramp.grad, Tensor<double>{{std::exp(-2.0) / z, std::exp(-1.0) / z, 1 / z - 1}}, 1e-15));
  }
}

TEST(SoftmaxCrossEntropy, StableAtScoresOf1e4InFloat) {
  const Tensor<float> s = {{1e4f, 0.0f, -1e4f}, {1e4f, 1e4f, 0.0f}, {-1e4f, -1e4f, -1e4f}};
  const IndexTensor y = {1, 0, 2};
  for (bool fused : {true, false}) {
    const Out<float> o = run(fused, s, y, Reduction::none);
    // row 0: 1e4 − 0; row 1: log 2 (two equal maxima); row 2: log 3
    EXPECT_TRUE(all_close(o.value, Tensor<float>{1e4f, std::log(2.0f), std::log(3.0f)}, 1e-6, 1e-6));
    EXPECT_TRUE(all_close(o.grad, Tensor<float>{{1, -1, 0}, {-0.5f, 0.5f, 0}, {1 / 3.f, 1 / 3.f, -2 / 3.f}}, 1e-6, 1e-6));
    for (float g : o.grad) EXPECT_TRUE(std::isfinite(g));
  }
  // a confident right answer: the loss is exactly 0 and so is the gradient
  const Out<float> right = run(true, Tensor<float>{{1e4f, 0.0f, -1e4f}}, IndexTensor{0});
  EXPECT_EQ(right.value(), 0.0f);
  EXPECT_EQ(right.grad, xt::zeros<float>({1, 3}));
}

TEST(SoftmaxCrossEntropy, WeightedMeanDividesBySumOfTrueClassWeights) {
  // PyTorch's cross_entropy(weight=w, reduction='mean') = Σ_i w[y_i]·l_i / Σ_i w[y_i]
  const Tensor<double> s = {{0.0, 0.0, 0.0}, {1.0, 2.0, 3.0}};
  const IndexTensor y = {1, 2};
  const Tensor<double> w = {5.0, 2.0, 0.5};
  const double l0 = std::log(3.0), l1 = 0.4076059644443804;
  for (bool fused : {true, false}) {
    EXPECT_NEAR(run(fused, s, y, Reduction::mean, &w).value(), (2.0 * l0 + 0.5 * l1) / 2.5, 1e-14);
    EXPECT_NEAR(run(fused, s, y, Reduction::sum, &w).value(), 2.0 * l0 + 0.5 * l1, 1e-14);
    EXPECT_TRUE(all_close(run(fused, s, y, Reduction::none, &w).value, Tensor<double>{2.0 * l0, 0.5 * l1}, 1e-14));
  }
}

TEST(SoftmaxCrossEntropy, MatchesNaiveLoop) {
  const Tensor<double> s = random_tensor({11, 7}, 1, -4, 4);
  const IndexTensor y = random_labels(11, 7, 2);
  const Tensor<double> w = random_tensor({7}, 3, 0.2, 2.0);
  for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
    for (bool weighted : {false, true}) {
      const auto ref = testing::reference::softmax_ce(s, y, red, weighted ? &w : nullptr);
      for (bool fused : {true, false}) {
        const Out<double> o = run(fused, s, y, red, weighted ? &w : nullptr);
        if (red == Reduction::none)
          EXPECT_TRUE(all_close(o.value, ref.rows, 1e-14, 1e-13));
        else
          EXPECT_NEAR(o.value(), ref.total, 1e-13 * std::abs(ref.total));
        EXPECT_TRUE(all_close(o.grad, ref.grad, 1e-15, 1e-12)) << "fused " << fused << " red " << int(red);
      }
    }
}

template <class T>
void sweep(const Tensor<T>& s, const IndexTensor& y, const Tensor<T>& w, const CompareOptions& tol) {
  for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
    for (bool weighted : {false, true}) {
      const Tensor<T>* wp = weighted ? &w : nullptr;
      auto path = [&](bool fused) {
        return TapeFn<T>([&, fused](Tape<T>& t, const std::vector<Var<T>>& v) {
          const Var<T> l = fused ? softmax_cross_entropy(v[0], y, red, wp) : softmax_cross_entropy_composed(v[0], y, red, wp);
          if (red != Reduction::none) return l;
          Tensor<T> c = Tensor<T>::from_shape({y.size()});
          for (std::size_t i = 0; i < c.size(); ++i) c(i) = static_cast<T>(1.0 + 0.5 * double(i % 3));
          return sum(l * t.constant(c));
        });
      };
      const CompareReport rep = compare_gradients(path(true), path(false), {s}, tol);
      EXPECT_TRUE(rep.passed) << "reduction " << int(red) << " weighted " << weighted << ": " << rep.summary();
    }
}

TEST(SoftmaxCrossEntropy, FusedMatchesComposedDouble) {
  for (const Shape& shape : {Shape{1, 1}, Shape{4, 3}, Shape{13, 37}, Shape{3, 100}}) {
    const Tensor<double> s = random_tensor(shape, shape[0] + shape[1], -5, 5);
    const Tensor<double> w = random_tensor({shape[1]}, 7, 0.1, 3.0);
    sweep(s, random_labels(shape[0], shape[1], 8), w, CompareOptions{1e-12, 1e-15});
  }
  // integer scores: tied maxima (the shift is one of several equal values)
  std::mt19937_64 rng(9);
  Tensor<double> k = Tensor<double>::from_shape({10, 5});
  for (auto& v : k) v = static_cast<double>(rng() % 3);
  sweep(k, random_labels(10, 5, 10), Tensor<double>{1, 2, 3, 4, 5}, CompareOptions{1e-12, 1e-15});
}

TEST(SoftmaxCrossEntropy, FusedMatchesComposedFloat) {
  const Tensor<float> s = xt::cast<float>(random_tensor({16, 45}, 11, -10, 10));
  const Tensor<float> w = xt::cast<float>(random_tensor({45}, 12, 0.5, 2.0));
  sweep(s, random_labels(16, 45, 13), w, CompareOptions{1e-5, 1e-7});
}

TEST(SoftmaxCrossEntropy, Gradcheck) {
  const Tensor<double> w = {0.5, 1.0, 2.0, 1.5, 3.0};
  for (const Shape& shape : {Shape{4, 5}, Shape{1, 5}, Shape{6, 5}})
    for (Reduction red : {Reduction::mean, Reduction::sum})
      for (bool weighted : {false, true}) {
        const Tensor<double> s = random_tensor(shape, shape[0] * 7, -3, 3);
        const IndexTensor y = random_labels(shape[0], shape[1], shape[0]);
        const Tensor<double>* wp = weighted ? &w : nullptr;
        EXPECT_TRUE(gradcheck_passes(
            [&](Tape<double>&, const std::vector<Var<double>>& v) { return softmax_cross_entropy(v[0], y, red, wp); },
            {s}));
      }
  GradcheckOptions g;
  g.contract_output = true;
  const Tensor<double> s = random_tensor({5, 5}, 99, -3, 3);
  EXPECT_TRUE(gradcheck_passes(
      [&](Tape<double>&, const std::vector<Var<double>>& v) {
        return softmax_cross_entropy(v[0], IndexTensor{0, 1, 4, 1, 3}, Reduction::none, &w);
      },
      {s}, g));
}

TEST(SoftmaxCrossEntropy, ThroughMatmulWithBiasBothPathsAgree) {
  const Tensor<double> X = random_tensor({32, 6}, 21);
  const IndexTensor y = random_labels(32, 4, 22);
  auto model = [&](bool fused) {
    return TapeFn<double>([&, fused](Tape<double>& t, const std::vector<Var<double>>& v) {
      const Var<double> scores = matmul(t.constant(X), v[0]) + v[1];
      return fused ? softmax_cross_entropy(scores, y) : softmax_cross_entropy_composed(scores, y);
    });
  };
  const CompareReport rep =
      compare_gradients(model(true), model(false), {random_tensor({6, 4}, 23), random_tensor({1, 4}, 24)},
                        CompareOptions{1e-12, 1e-15});
  EXPECT_TRUE(rep.passed) << rep.summary();
}

TEST(SoftmaxCrossEntropy, AddsIntoAnExistingGradientAndReusesBuffers) {
  const Tensor<double> s = random_tensor({3, 4}, 31);
  const IndexTensor y = {3, 0, 1};
  const auto ref = testing::reference::softmax_ce(s, y, Reduction::mean);
  Parameter<double> p(s);
  Tape<double> t;
  const double* local = nullptr;
  for (int step = 0; step < 3; ++step) {
    p.zero_grad();
    t.clear();
    const Var<double> x = t.watch(p) * 1.0;  // non-leaf: a record's gradient buffer
    const Var<double> l = softmax_cross_entropy(x, y);
    t.backward(l + softmax_cross_entropy(x, y));
    EXPECT_TRUE(all_close(p.grad, 2.0 * ref.grad));
    const Record<double>& r = t.record(l.id());
    const double* now = r.buffer(r.saved<softmax_impl::Saved<double>>().local).data();  // the saved local gradient
    if (step > 0) EXPECT_EQ(now, local);
    local = now;
  }
}

TEST(SoftmaxCrossEntropy, EmptyBatch) {
  const Tensor<double> s = Tensor<double>::from_shape({0, 3});
  EXPECT_EQ(run(true, s, IndexTensor::from_shape({0}), Reduction::sum).value(), 0.0);
  EXPECT_EQ(run(false, s, IndexTensor::from_shape({0}), Reduction::none).value.size(), 0u);
}

TEST(SoftmaxCrossEntropy, SteadyStateStepAllocatesNothing) {
  const Tensor<double> s = random_tensor({64, 40}, 41);
  const IndexTensor y = random_labels(64, 40, 42);
  const Tensor<double> w = random_tensor({40}, 43, 0.5, 2.0);
  Parameter<double> p(s);
  Tape<double> t;
  const auto step = [&] {
    t.backward(softmax_cross_entropy(t.watch(p), y, Reduction::mean, &w));
    t.clear();
  };
  EXPECT_EQ(allocations_after_warmup(g_allocations, g_counting, step, 2, 3), 0);
}

std::string error_of(bool fused, const Tensor<double>& s, const IndexTensor& y, Reduction red = Reduction::mean,
                     const Tensor<double>* w = nullptr) {
  return testing::error_of([&] {
    Tape<double> t;
    if (fused)
      softmax_cross_entropy(t.constant(s), y, red, w);
    else
      softmax_cross_entropy_composed(t.constant(s), y, red, w);
  });
}

TEST(SoftmaxCrossEntropyErrors, LabelsShapesWeightsAndValues) {
  const Tensor<double> s = xt::zeros<double>({8, 10});
  IndexTensor y = xt::zeros<std::int64_t>({8});
  y(5) = 12;
  EXPECT_EQ(error_of(true, s, y), "softmax_cross_entropy: label 12 at row 5 is outside [0, 10)");
  EXPECT_EQ(error_of(false, s, y), "softmax_cross_entropy_composed: label 12 at row 5 is outside [0, 10)");
  EXPECT_THAT(error_of(true, s, IndexTensor{0, 1}), HasSubstr("softmax_cross_entropy: labels must be 1-D"));
  EXPECT_THAT(error_of(true, Tensor<double>{0.0, 1.0}, IndexTensor{0}), HasSubstr("scores must be 2-D"));
  const Tensor<double> w3 = {1.0, 1.0, 1.0};
  EXPECT_THAT(error_of(true, s, xt::zeros<std::int64_t>({8}), Reduction::mean, &w3),
              HasSubstr("weights must have one entry per class, shape (10), got shape (3)"));
  Tensor<double> bad = s;
  bad(3, 4) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(error_of(true, bad, xt::zeros<std::int64_t>({8})),
            "softmax_cross_entropy: non-finite score nan at row 3, column 4");
}

TEST(SoftmaxCrossEntropyErrors, UndefinedMeans) {
  const Tensor<double> s = xt::zeros<double>({2, 3});
  const Tensor<double> w = {0.0, 1.0, 1.0};
  for (bool fused : {true, false}) {
    EXPECT_THAT(error_of(fused, s, IndexTensor{0, 0}, Reduction::mean, &w),
                HasSubstr("weighted mean is undefined: the weights of the 2 labels sum to 0"));
    EXPECT_EQ(error_of(fused, s, IndexTensor{0, 0}, Reduction::sum, &w), kNoError);
    EXPECT_THAT(error_of(fused, Tensor<double>::from_shape({0, 3}), IndexTensor::from_shape({0})),
                HasSubstr("the mean over 0 rows is undefined"));
  }
}

TEST(SoftmaxCrossEntropyErrors, UnknownReduction) {
  const Tensor<double> s = {{1.0, 2.0}, {0.5, -1.0}};
  EXPECT_EQ(error_of(true, s, IndexTensor{0, 1}, static_cast<Reduction>(7)),
            "softmax_cross_entropy: unknown reduction 7");
  EXPECT_EQ(error_of(false, s, IndexTensor{0, 1}, static_cast<Reduction>(7)),
            "softmax_cross_entropy_composed: unknown reduction 7");
}

}  // namespace
}  // namespace tapegrad
