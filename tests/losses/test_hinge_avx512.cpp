// The fused hinge's AVX-512 float kernels (losses/hinge_avx512.hpp): small_avx512
// (rows of at most 16 classes in one vector) and ww_bits_avx512 (the Weston–Watkins
// p = 1 forward that saves one violation bit per score for the backward), exactly
// against the reference; then the float paths multiclass_hinge picks by itself
// (these kernels and cs_argmax) on random data, bad input after push, a second
// backward, and no allocation once warm. Elsewhere than AVX-512 the same shapes take
// the portable kernels and the tests still hold; the widths cover one vector,
// several 16-column chunks with tails, and 64-bit mask words.
#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <tapegrad/losses/hinge.hpp>
#include "losses/hinge_cases.hpp"
#include "losses/hinge_exactness.hpp"
#include "losses/reference.hpp"
#include "support/alloc_counter.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::all_close;
using testing::allocations_after_warmup;
using testing::random_tensor;

using testing::CS;
using testing::opts;
using testing::random_labels;
using testing::WW;

constexpr std::size_t kWidths[] = {1, 2, 3, 10, 15, 16, 17, 31, 32, 33, 40, 63, 64, 65, 100, 129};

#if defined(__AVX512F__)
constexpr bool kAvx512 = true;
#else
constexpr bool kAvx512 = false;  // the kernels cannot be forced: the exactness tests run nothing
#endif

// Forced through multiclass_hinge, each kernel gives the reference op's values and
// gradients exactly at every width it runs for and every option
// (tests/losses/hinge_exactness.hpp): small_avx512 for C = 1..16 (2 kinds × 2 p × 2
// margins × 3 reductions × weights × accumulating = 96 settings per width),
// ww_bits_avx512 for C = 1..129 (Weston–Watkins, p = 1: 24 per width).
TEST(HingeAvx512, SmallRowsEqualTheReferenceExactly) {
  EXPECT_EQ(testing::expect_kernel_matches_reference<float>(HingeKernel::small_avx512), kAvx512 ? 16u * 96 : 0u);
}
TEST(HingeAvx512, ViolationBitsEqualTheReferenceExactly) {
  EXPECT_EQ(testing::expect_kernel_matches_reference<float>(HingeKernel::ww_bits_avx512), kAvx512 ? 129u * 24 : 0u);
}

TEST(HingeAvx512, KernelsTakeTheReferencesSideOfEveryKink) {
  EXPECT_EQ(testing::expect_same_sides_of_kinks<float>(HingeKernel::small_avx512), kAvx512 ? 16u * 6 : 0u);
  EXPECT_EQ(testing::expect_same_sides_of_kinks<float>(HingeKernel::ww_bits_avx512), kAvx512 ? 129u * 3 : 0u);
}

TEST(HingeAvx512, FloatRowsRandomAndAccumulating) {
  // random scores; the second loss's backward adds into the non-fresh gradient buffer
  // (small rows are loaded ahead of the stores: up to 15 rows for C = 1, more than some batches hold)
  for (std::size_t n : {1, 3, 50})
  for (std::size_t c : kWidths)
    for (HingeKind kind : {WW, CS})
      for (int p : {1, 2}) {
        const Tensor<float> s = xt::cast<float>(random_tensor({n, c}, 300 + c + n, -2, 2));
        const IndexTensor y = random_labels(n, c, 400 + c + n);
        const HingeOptions o = opts(kind, p, Reduction::mean, 0.5);
        const auto ref = testing::reference::hinge(xt::cast<double>(s), y, o);
        Parameter<float> param(s);
        Tape<float> t;
        const Var<float> sv = t.watch(param);
        const Var<float> v = multiclass_hinge(sv, y, o) + multiclass_hinge(sv * 1.0f, y, o);  // fresh buffer too
        EXPECT_NEAR(t.value(v)(), 2 * ref.total, 1e-6 * (1 + 2 * ref.total));  // float sums of up to 129·50 terms
        t.backward(v);
        EXPECT_TRUE(all_close(Tensor<double>(xt::cast<double>(param.grad)), Tensor<double>(2.0 * ref.grad), 1e-5,
                              1e-6))
            << "N " << n << " C " << c << " kind " << int(kind) << " p " << p;
      }
}

TEST(HingeAvx512, WideRowsBadInputThrowsAndLeavesNoRecord) {
  // the saving forwards (WW violation bits, CS row maxima) find bad input after
  // their record is pushed: they take the record back, and the full check names the value
  const std::size_t n = 8, c = 100;
  for (HingeKind kind : {WW, CS}) {
    Tensor<float> s = xt::cast<float>(random_tensor({n, c}, 7, -2, 2));
    const IndexTensor y = random_labels(n, c, 8);
    Parameter<float> p(s);
    Tape<float> t;
    const Var<float> v = t.watch(p);
    s(5, 70) = std::numeric_limits<float>::quiet_NaN();
    const Var<float> bad = t.constant(s);
    const std::size_t before = t.size();
    EXPECT_THAT([&] { multiclass_hinge(bad, y, opts(kind)); },
                ::testing::ThrowsMessage<Error>(
                    ::testing::HasSubstr("multiclass_hinge: non-finite score nan at row 5, column 70")));
    EXPECT_EQ(t.size(), before);
    IndexTensor y_bad = y;
    y_bad(6) = static_cast<std::int64_t>(c);
    EXPECT_THAT([&] { multiclass_hinge(v, y_bad, opts(kind, 1, Reduction::none)); },
                ::testing::ThrowsMessage<Error>(
                    ::testing::HasSubstr("multiclass_hinge: label 100 at row 6 is outside [0, 100)")));
    EXPECT_EQ(t.size(), before);
    // the tape goes on: the next loss is record `before`, and its gradient is right
    const Var<float> ok = multiclass_hinge(v, y, opts(kind));
    EXPECT_EQ(t.size(), before + 1);
    t.backward(ok);
    const auto ref = testing::reference::hinge(xt::cast<double>(p.value), y, opts(kind));
    EXPECT_TRUE(all_close(Tensor<double>(xt::cast<double>(p.grad)), ref.grad, 1e-6, 1e-7)) << int(kind);
  }
}

TEST(HingeAvx512, WideRowsBackwardTwiceAndUnderNoGrad) {
  const std::size_t n = 20, c = 70;
  const Tensor<float> s = xt::cast<float>(random_tensor({n, c}, 9, -2, 2));
  const IndexTensor y = random_labels(n, c, 10);
  const auto ref = testing::reference::hinge(xt::cast<double>(s), y, opts(WW, 1, Reduction::sum));
  Parameter<float> p(s);
  Tape<float> t;
  const Var<float> v = multiclass_hinge(t.watch(p), y, opts(WW, 1, Reduction::sum));
  t.backward(v);
  t.backward(v);  // documented: a second sweep adds into the parameter again
  EXPECT_TRUE(all_close(Tensor<double>(xt::cast<double>(p.grad)), Tensor<double>(2.0 * ref.grad), 1e-6, 1e-6));
  {
    NoGrad<float> off(t);
    EXPECT_NEAR(t.value(multiclass_hinge(t.watch(p), y, opts(WW, 1, Reduction::sum)))(), ref.total,
                1e-5 * ref.total);
  }
}

TEST(HingeAvx512, WideRowsSteadyStateStepAllocatesNothing) {
  // the violation bits live in the record and are reused after clear()
  const Tensor<float> s = xt::cast<float>(random_tensor({64, 300}, 11, -2, 2));
  const IndexTensor y = random_labels(64, 300, 12);
  Parameter<float> p(s);
  Tape<float> t;
  const auto step = [&] {
    t.backward(multiclass_hinge(t.watch(p), y, opts(WW)));
    t.clear();
  };
  EXPECT_EQ(allocations_after_warmup(g_allocations, g_counting, step, 2, 3), 0);
}

}  // namespace
}  // namespace tapegrad
