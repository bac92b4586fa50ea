#pragma once
// The exactness harness for the hinge kernels: a kernel forced through the public
// multiclass_hinge must give the reference op's values and gradients exactly
// (compared with ==, so +0 and −0 count as equal).
//
// Exact arithmetic makes that a fair demand of kernels that sum in other orders:
// the scores are small integers (on and around every kink, with many ties), the
// margins and weights dyadic, the upstream gradients integers, and a mean runs over
// 16 rows, so every loss, product and partial sum is representable in float. Only
// the Crammer–Singer split dz / ties can round, and every kernel computes it as that
// one division.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include <tapegrad/losses/hinge.hpp>
#include "losses/hinge_cases.hpp"
#include "support/support.hpp"

namespace tapegrad::testing {

inline constexpr std::size_t kExactRows = 16;  // a power of two: the mean's 1/N is exact

// Integer scores in [−2, 2], labels on the first and last class and on the edges of
// 16-column vectors and 64-bit mask words, the others seeded.
template <class T>
Tensor<T> integer_scores(std::size_t n, std::size_t c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor<T> s = Tensor<T>::from_shape({n, c});
  for (auto& v : s) v = static_cast<T>(static_cast<int>(rng() % 5) - 2);
  return s;
}
inline IndexTensor edge_labels(std::size_t n, std::size_t c, std::uint64_t seed) {
  IndexTensor y = random_labels(n, c, seed);
  const std::size_t edges[] = {0, c - 1, 15, 16, 17, 63, 64, 65, 127, 128};
  for (std::size_t k = 0; k < std::size(edges) && k < n; ++k)
    y(k) = static_cast<std::int64_t>(std::min(edges[k], c - 1));
  return y;
}

// Values and gradients of one forced kernel in one setting: the loss, d/ds after a
// first backward and after a second one (which adds again).
template <class T>
struct KernelRun {
  Tensor<T> value, grad1, grad2;
  std::string error;
};

// scores → x = s·1 (a record, so the loss's backward sees a fresh buffer) → the loss
// (reference op, or multiclass_hinge with o.kernel), contracted with integer seeds for
// Reduction::none; with `accumulate`, + Σ x·k first fills x's gradient, so the loss's
// backward adds into it.
template <class T>
KernelRun<T> run_kernel(bool reference, const Tensor<T>& s, const IndexTensor& y, const HingeOptions& o,
                        const Tensor<T>* w, bool accumulate) {
  KernelRun<T> out;
  Parameter<T> p(s);
  Tape<T> t;
  try {
    const Var<T> x = t.watch(p) * T(1);
    const Var<T> l = reference ? multiclass_hinge_reference(x, y, o, w) : multiclass_hinge(x, y, o, w);
    out.value = t.value(l);
    Var<T> total = l;
    if (o.reduction == Reduction::none) {
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
    out.grad1 = p.grad;
    t.backward(total);
    out.grad2 = p.grad;
  } catch (const Error& e) {
    out.error = e.what();
  }
  return out;
}

template <class T>
::testing::AssertionResult same_values(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.shape() != b.shape()) return ::testing::AssertionFailure() << "shapes differ";
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!(a.data()[k] == b.data()[k]))
      return ::testing::AssertionFailure() << "element " << k << ": " << a.data()[k] << " vs " << b.data()[k];
  return ::testing::AssertionSuccess();
}

// Every width 1..max_c × kind × p × margin × weights × reduction × fresh/accumulating,
// for which `kernel` can run: the kernel equals the reference exactly. Returns how
// many settings ran (so a test can assert that the kernel was exercised at all).
template <class T>
std::size_t expect_kernel_matches_reference(HingeKernel kernel, std::size_t max_c = 129) {
  std::size_t ran = 0;
  for (std::size_t c = 1; c <= max_c; ++c) {
    const Tensor<T> s = integer_scores<T>(kExactRows, c, 1000 + c);
    const IndexTensor y = edge_labels(kExactRows, c, 2000 + c);
    Tensor<T> w = Tensor<T>::from_shape({c});
    for (std::size_t j = 0; j < c; ++j) w(j) = static_cast<T>(0.5 * double(1 + j % 4));
    for (HingeKind kind : {WW, CS})
      for (int p : {1, 2})
        for (double margin : {1.0, 0.5})
          for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none}) {
            HingeOptions o = opts(kind, p, red, margin);
            o.kernel = kernel;
            if (hinge_kernel_unavailable<T>(kernel, c, o)) continue;
            for (bool weighted : {false, true})
              for (bool accumulate : {false, true}) {
                const Tensor<T>* wp = weighted ? &w : nullptr;
                const KernelRun<T> ref = run_kernel<T>(true, s, y, o, wp, accumulate);
                const KernelRun<T> got = run_kernel<T>(false, s, y, o, wp, accumulate);
                const std::string where = std::string(hinge_kernel_name(kernel)) + " C " + std::to_string(c) +
                                          (kind == WW ? " WW" : " CS") + " p " + std::to_string(p) + " margin " +
                                          std::to_string(margin) + " reduction " + std::to_string(int(red)) +
                                          (weighted ? " weighted" : "") + (accumulate ? " accumulating" : "");
                if (!ref.error.empty() || !got.error.empty()) {
                  ADD_FAILURE() << where << ": " << ref.error << got.error;
                  continue;
                }
                EXPECT_TRUE(same_values(got.value, ref.value)) << where << ": value";
                EXPECT_TRUE(same_values(got.grad1, ref.grad1)) << where << ": gradient";
                EXPECT_TRUE(same_values(got.grad2, ref.grad2)) << where << ": second backward";
                ++ran;
              }
          }
  }
  return ran;
}

// Decimal scores (multiples of 0.1, inexact in binary) and decimal margins put many z
// within an ulp of 0, where the order of operations decides the side of the kink:
// (s_j − s_y) + Δ and (s_j + Δ) − s_y differ in sign there.
template <class T>
Tensor<T> decimal_scores(std::size_t n, std::size_t c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor<T> s = Tensor<T>::from_shape({n, c});
  for (auto& v : s) v = static_cast<T>(static_cast<int>(rng() % 21) - 10) / T(10);
  return s;
}
// How many Weston–Watkins terms of these scores another order of operations would put
// on the other side of the kink (so a test on them can catch a kernel that reorders).
template <class T>
std::size_t order_sensitive_terms(const Tensor<T>& s, const IndexTensor& y, double margin) {
  const T d = static_cast<T>(margin);
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.shape()[0]; ++i)
    for (std::size_t j = 0; j < s.shape()[1]; ++j) {
      const T sj = s(i, j), sy = s(i, static_cast<std::size_t>(y(i)));
      n += ((sj - sy) + d > T(0)) != ((sj + d) - sy > T(0));
    }
  return n;
}

// On decimal scores with p = 1, a sum and no weights, every gradient entry is 0, 1,
// a count or dz/ties whatever order a kernel sums in: it must equal the reference's
// exactly, so the kernel takes the reference's side of every kink. Returns the
// settings run.
template <class T>
std::size_t expect_same_sides_of_kinks(HingeKernel kernel, std::size_t max_c = 129) {
  std::size_t ran = 0;
  for (std::size_t c = 1; c <= max_c; ++c) {
    const Tensor<T> s = decimal_scores<T>(kExactRows, c, 3000 + c);
    const IndexTensor y = edge_labels(kExactRows, c, 4000 + c);
    for (HingeKind kind : {WW, CS})
      for (double margin : {0.1, 0.3, 0.7}) {
        HingeOptions o = opts(kind, 1, Reduction::sum, margin);
        o.kernel = kernel;
        if (hinge_kernel_unavailable<T>(kernel, c, o)) continue;
        const KernelRun<T> ref = run_kernel<T>(true, s, y, o, nullptr, false);
        const KernelRun<T> got = run_kernel<T>(false, s, y, o, nullptr, false);
        EXPECT_TRUE(same_values(got.grad1, ref.grad1))
            << hinge_kernel_name(kernel) << " C " << c << (kind == WW ? " WW" : " CS") << " margin " << margin;
        ++ran;
      }
  }
  return ran;
}

}  // namespace tapegrad::testing
