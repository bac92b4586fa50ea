// The reference fused softmax cross-entropy (losses/softmax_reference.cpp), the
// ground truth of the kernel: hand values, stability at s = 1e4, PyTorch's weighted
// mean, cs231n's naive loop, the composed op (compare_gradients), and its errors
// under its own name.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>

#include <tapegrad/core/compare.hpp>
#include <tapegrad/losses/softmax_cross_entropy.hpp>
#include "losses/reference.hpp"
#include "support/alloc_counter.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::random_labels;
using testing::random_tensor;

template <class T>
struct Out {
  Tensor<T> value, grad;
};

template <class T>
Out<T> run(const Tensor<T>& s, const IndexTensor& y, Reduction red = Reduction::mean, const Tensor<T>* w = nullptr) {
  Parameter<T> p(s);
  Tape<T> t;
  const Var<T> v = softmax_cross_entropy_reference(t.watch(p), y, red, w);
  t.backward(v, xt::ones<T>(t.value(v).shape()));
  return {t.value(v), p.grad};
}

TEST(SoftmaxReference, HandValues) {
  const Out<double> uniform = run(Tensor<double>{{0.0, 0.0, 0.0}}, IndexTensor{1});
  EXPECT_NEAR(uniform.value(), std::log(3.0), 1e-15);
  EXPECT_TRUE(all_close(uniform.grad, Tensor<double>{{1.0 / 3, -2.0 / 3, 1.0 / 3}}, 1e-15));
  const Out<double> ramp = run(Tensor<double>{{1.0, 2.0, 3.0}}, IndexTensor{2}, Reduction::sum);
  const double z = 1 + std::exp(-1.0) + std::exp(-2.0);
  EXPECT_NEAR(ramp.value(), std::log(z), 1e-15);  // log(1 + e⁻¹ + e⁻²)
  EXPECT_TRUE(all_close(ramp.grad, Tensor<double>{{std::exp(-2.0) / z, std::exp(-1.0) / z, 1 / z - 1}}, 1e-15));
  // PyTorch's weighted mean: Σ_i w[y_i]·l_i / Σ_i w[y_i]
  const Tensor<double> w = {5.0, 2.0, 0.5};
  const Tensor<double> s2 = {{0.0, 0.0, 0.0}, {1.0, 2.0, 3.0}};
  EXPECT_NEAR(run(s2, IndexTensor{1, 2}, Reduction::mean, &w).value(), (2.0 * std::log(3.0) + 0.5 * std::log(z)) / 2.5,
              1e-14);
}

TEST(SoftmaxReference, StableAtScoresOf1e4InFloat) {
  const Tensor<float> s = {{1e4f, 0.0f, -1e4f}, {1e4f, 1e4f, 0.0f}, {-1e4f, -1e4f, -1e4f}};
  const Out<float> o = run(s, IndexTensor{1, 0, 2}, Reduction::none);
  EXPECT_TRUE(all_close(o.value, Tensor<float>{1e4f, std::log(2.0f), std::log(3.0f)}, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(o.grad, Tensor<float>{{1, -1, 0}, {-0.5f, 0.5f, 0}, {1 / 3.f, 1 / 3.f, -2 / 3.f}}, 1e-6, 1e-6));
  const Out<float> right = run(Tensor<float>{{1e4f, 0.0f, -1e4f}}, IndexTensor{0});
  EXPECT_EQ(right.value(), 0.0f);  // a confident right answer: exactly 0, and so is the gradient
  EXPECT_EQ(right.grad, xt::zeros<float>({1, 3}));
}

TEST(SoftmaxReference, MatchesTheNaiveLoopAndTheComposedOp) {
  const Tensor<double> s = random_tensor({11, 37}, 1, -4, 4);
  const IndexTensor y = random_labels(11, 37, 2);
  const Tensor<double> w = random_tensor({37}, 3, 0.2, 2.0);
  for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
    for (bool weighted : {false, true}) {
      const Tensor<double>* wp = weighted ? &w : nullptr;
      const auto ref = testing::reference::softmax_ce(s, y, red, wp);
      const Out<double> o = run(s, y, red, wp);
      if (red == Reduction::none)
        EXPECT_TRUE(all_close(o.value, ref.rows, 1e-14, 1e-13));
      else
        EXPECT_NEAR(o.value(), ref.total, 1e-13 * std::abs(ref.total));
      EXPECT_TRUE(all_close(o.grad, ref.grad, 1e-15, 1e-12)) << "reduction " << int(red);
      const auto path = [&](bool reference) {
        return TapeFn<double>([&, reference](Tape<double>& t, const std::vector<Var<double>>& v) {
          const Var<double> l = reference ? softmax_cross_entropy_reference(v[0], y, red, wp)
                                          : softmax_cross_entropy_composed(v[0], y, red, wp);
          return red == Reduction::none ? sum(l * t.constant(random_tensor({11}, 4))) : l;
        });
      };
      const CompareReport rep = compare_gradients(path(true), path(false), {s}, CompareOptions{1e-12, 1e-15});
      EXPECT_TRUE(rep.passed) << "reduction " << int(red) << " weighted " << weighted << ": " << rep.summary();
    }
}

TEST(SoftmaxReference, AddsIntoAnExistingGradientAndSavesNothingUnderNoGrad) {
  const Tensor<double> s = random_tensor({3, 4}, 31);
  const IndexTensor y = {3, 0, 1};
  const auto ref = testing::reference::softmax_ce(s, y, Reduction::mean);
  Parameter<double> p(s);
  Tape<double> t;
  const Var<double> x = t.watch(p) * 1.0;  // non-leaf: a record's gradient buffer, fresh then added into
  t.backward(softmax_cross_entropy_reference(x, y) + softmax_cross_entropy_reference(x, y));
  EXPECT_TRUE(all_close(p.grad, 2.0 * ref.grad));
  NoGrad<double> off(t);
  EXPECT_FALSE(t.record(softmax_cross_entropy_reference(x, y).id()).has_saved());
}

TEST(SoftmaxReference, SteadyStateStepAllocatesNothing) {
  const Tensor<double> s = random_tensor({64, 40}, 41);
  const IndexTensor y = random_labels(64, 40, 42);
  const Tensor<double> w = random_tensor({40}, 43, 0.5, 2.0);
  Parameter<double> p(s);
  Tape<double> t;
  const auto step = [&] {
    t.backward(softmax_cross_entropy_reference(t.watch(p), y, Reduction::mean, &w));
    t.clear();
  };
  EXPECT_EQ(testing::allocations_after_warmup(g_allocations, g_counting, step, 2, 3), 0);
}

std::string reference_error(const Tensor<double>& s, const IndexTensor& y, Reduction red = Reduction::mean,
                            const Tensor<double>* w = nullptr) {
  Tape<double> t;
  const Var<double> v = t.constant(s);
  const std::string e = testing::error_of([&] { softmax_cross_entropy_reference(v, y, red, w); });
  EXPECT_EQ(t.size(), 1u) << "a refused call records nothing: " << e;
  return e;
}

TEST(SoftmaxReferenceErrors, TheFusedOpsChecksUnderItsOwnName) {
  IndexTensor y = xt::zeros<std::int64_t>({8});
  y(5) = 12;
  EXPECT_EQ(reference_error(xt::zeros<double>({8, 10}), y),
            "softmax_cross_entropy_reference: label 12 at row 5 is outside [0, 10)");
  EXPECT_THAT(reference_error(Tensor<double>{0.0, 1.0}, IndexTensor{0}),
              HasSubstr("softmax_cross_entropy_reference: scores must be 2-D"));
  Tensor<double> bad = xt::zeros<double>({2, 3});
  bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(reference_error(bad, IndexTensor{0, 1}), "softmax_cross_entropy_reference: non-finite score nan at row 1, column 2");
  const Tensor<double> w = {0.0, 1.0, 1.0};
  EXPECT_THAT(reference_error(xt::zeros<double>({2, 3}), IndexTensor{0, 0}, Reduction::mean, &w),
              HasSubstr("softmax_cross_entropy_reference: the weighted mean is undefined"));
  EXPECT_EQ(reference_error(xt::zeros<double>({2, 3}), IndexTensor{0, 1}, static_cast<Reduction>(7)),
            "softmax_cross_entropy_reference: unknown reduction 7");
}

}  // namespace
}  // namespace tapegrad
