// The fused softmax cross-entropy's kernel (losses/softmax_rows.hpp), forced and
// automatic, against the reference op (losses/softmax_reference.cpp) at every width
// 1..129, every reduction, with and without weights, fresh and accumulating, and a
// second backward. The kernel computes the reference's formulas in the reference's
// order but exponentiates with xsimd::exp in its vector body and sums in lanes, so:
//  - rows narrower than one SIMD batch (all scalar std::exp) agree exactly;
//  - wider rows agree to kUlps units of roundoff of the row's scale: values within
//    kUlps·ε·(|L| + w[y]), gradients within kUlps·ε·(|ds_j| + |g_i|·c_i), where
//    ε is the dtype's machine epsilon and |g_i|·c_i bounds the row's gradient.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>
#include <string>

#include <xtensor/xview.hpp>

#include <tapegrad/losses/softmax_cross_entropy.hpp>
#include <tapegrad/losses/softmax_kernels.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::random_labels;
using testing::random_tensor;

constexpr double kUlps = 4;

template <class T>
struct Run {
  Tensor<T> value, grad1, grad2;
};

// x = s·1 (fresh buffer) → the loss, seeded with integers for Reduction::none; with
// accumulate, + Σ x·k first fills x's gradient; backward twice.
template <class T>
Run<T> run(bool reference, SoftmaxKernel kernel, const Tensor<T>& s, const IndexTensor& y, Reduction red,
           const Tensor<T>* w, bool accumulate) {
  Parameter<T> p(s);
  Tape<T> t;
  const Var<T> x = t.watch(p) * T(1);
  const Var<T> l = reference ? softmax_cross_entropy_reference(x, y, red, w) : softmax_cross_entropy(x, y, red, w, kernel);
  Var<T> total = l;
  if (red == Reduction::none) {
    Tensor<T> seed = Tensor<T>::from_shape({y.size()});
    for (std::size_t i = 0; i < seed.size(); ++i) seed(i) = static_cast<T>(int(i % 5) - 2);
    total = sum(l * t.constant(seed));
  }
  if (accumulate) {
    Tensor<T> k = Tensor<T>::from_shape(s.shape());
    for (std::size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<T>(int(i % 3) - 1);
    total = total + sum(x * t.constant(k));
  }
  t.backward(total);
  Run<T> out{t.value(l), p.grad, {}};
  t.backward(total);
  out.grad2 = p.grad;
  return out;
}

// The largest |a − b| / (ε·scale_k) over the elements (0 when they are equal).
template <class T, class Scale>
double worst_ulps(const Tensor<T>& a, const Tensor<T>& b, Scale scale) {
  double worst = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const double d = std::abs(double(a.data()[k]) - double(b.data()[k]));
    if (d > 0) worst = std::max(worst, d / (std::numeric_limits<T>::epsilon() * scale(k)));
  }
  return worst;
}

template <class T>
void sweep(SoftmaxKernel kernel) {
  constexpr std::size_t n = 12, lanes = xsimd::batch<T>::size;
  double worst_value = 0, worst_grad = 0;
  for (std::size_t c = 1; c <= 129; ++c) {
    const Tensor<T> s = xt::cast<T>(random_tensor({n, c}, 500 + c, -6, 6));
    const IndexTensor y = random_labels(n, c, 600 + c);
    const Tensor<T> w = xt::cast<T>(random_tensor({c}, 700 + c, 0.25, 2.0));
    for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
      for (bool weighted : {false, true})
        for (bool accumulate : {false, true}) {
          const Tensor<T>* wp = weighted ? &w : nullptr;
          const Run<T> ref = run<T>(true, kernel, s, y, red, wp, accumulate);
          const Run<T> got = run<T>(false, kernel, s, y, red, wp, accumulate);
          const std::string where = "C " + std::to_string(c) + " reduction " + std::to_string(int(red)) +
                                    (weighted ? " weighted" : "") + (accumulate ? " accumulating" : "");
          double divisor = red == Reduction::mean ? 0 : 1;
          if (red == Reduction::mean)
            for (std::size_t i = 0; i < n; ++i) divisor += weighted ? double(w(y(i))) : 1.0;
          double wsum = 0;
          for (std::size_t i = 0; i < n; ++i) wsum += weighted ? double(w(y(i))) : 1.0;
          const auto value_scale = [&](std::size_t k) {
            return std::abs(double(ref.value.data()[k])) +
                   (red == Reduction::none ? (weighted ? double(w(y(k))) : 1.0) : wsum / divisor);
          };
          const auto grad_scale = [&](const Tensor<T>& g, double times) {
            return [&g, &y, &w, weighted, divisor, red, times, c](std::size_t k) {
              const std::size_t i = k / c;
              const double gi = red == Reduction::none ? std::abs(double(int(i % 5) - 2)) : 1.0;
              return std::abs(double(g.data()[k])) + times * gi * (weighted ? double(w(y(i))) : 1.0) / divisor;
            };
          };
          const double v = worst_ulps(got.value, ref.value, value_scale);
          const double g = std::max(worst_ulps(got.grad1, ref.grad1, grad_scale(ref.grad1, 1)),
                                    worst_ulps(got.grad2, ref.grad2, grad_scale(ref.grad2, 2)));
          if (kernel == SoftmaxKernel::reference || c < lanes) {
            EXPECT_EQ(v, 0.0) << where;  // the same loops, or all scalar std::exp: exact
            EXPECT_EQ(g, 0.0) << where;
          }
          EXPECT_LE(v, kUlps) << where;
          EXPECT_LE(g, kUlps) << where;
          worst_value = std::max(worst_value, v);
          worst_grad = std::max(worst_grad, g);
        }
  }
  std::printf("softmax %s kernel %s vs reference: worst value %.2f, worst gradient %.2f (units of eps·scale)\n",
              sizeof(T) == 4 ? "float" : "double", softmax_kernel_name(kernel), worst_value, worst_grad);
}

TEST(SoftmaxRows, RowsKernelAgreesWithTheReferenceFloat) { sweep<float>(SoftmaxKernel::rows); }
TEST(SoftmaxRows, RowsKernelAgreesWithTheReferenceDouble) { sweep<double>(SoftmaxKernel::rows); }
TEST(SoftmaxRows, ForcedReferenceKernelIsTheReferenceExactly) {
  sweep<float>(SoftmaxKernel::reference);
  sweep<double>(SoftmaxKernel::reference);
}

TEST(SoftmaxRows, DispatchAndTheSavedLocalGradient) {
  EXPECT_EQ(softmax_kernel_for<float>(10), SoftmaxKernel::rows);
  EXPECT_EQ(softmax_kernel_for<double>(1000), SoftmaxKernel::rows);
  EXPECT_EQ(softmax_kernel_for<float>(10, SoftmaxKernel::reference), SoftmaxKernel::reference);
  EXPECT_EQ(testing::error_of([] { softmax_kernel_for<float>(10, static_cast<SoftmaxKernel>(5)); }),
            "softmax_cross_entropy: unknown softmax kernel 5");
  EXPECT_STREQ(softmax_kernel_name(SoftmaxKernel::rows), "rows");
  EXPECT_STREQ(softmax_kernel_name(static_cast<SoftmaxKernel>(5)), "unknown");
  // rows keeps c_i·(softmax − onehot) in a named buffer: each row sums to 0, c_i(p_y − 1) at y
  const Tensor<double> s = {{0.0, 0.0, 0.0, 0.0}, {1.0, 2.0, 3.0, 4.0}};
  Parameter<double> p(s);
  Tape<double> t;
  const Var<double> v = softmax_cross_entropy(t.watch(p), IndexTensor{1, 3}, Reduction::sum);
  const Record<double>& r = t.record(v.id());
  const auto& sv = r.saved<softmax_impl::Saved<double>>();
  EXPECT_EQ(sv.kernel, SoftmaxKernel::rows);
  const Tensor<double>& local = r.buffer(sv.local);
  EXPECT_TRUE(testing::all_close(Tensor<double>(xt::row(local, 0)), Tensor<double>{0.25, -0.75, 0.25, 0.25}));
  EXPECT_NEAR(local(1, 0) + local(1, 1) + local(1, 2) + local(1, 3), 0.0, 1e-15);
  EXPECT_THAT(testing::error_of([&] {
                softmax_cross_entropy<double>(t.watch(p), IndexTensor{1, 3}, Reduction::sum, nullptr,
                                      static_cast<SoftmaxKernel>(-1));
              }),
              ::testing::HasSubstr("softmax_cross_entropy: unknown softmax kernel -1"));
}

}  // namespace
}  // namespace tapegrad
