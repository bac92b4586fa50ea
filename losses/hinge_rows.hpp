#pragma once
// The fused multiclass hinge's row-segment kernels: xsimd loops over contiguous
// row-major scores. The true class is skipped by running each kernel on [0, y)
// and (y, C). Internal to losses/hinge_fused.cpp.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "losses/simd.hpp"

namespace tapegrad::hinge_rows {

using detail::Batch;
using detail::lane_sum;

// Row-major N×C scores and their N labels.
struct Layout {
  std::size_t n, c;
  const std::int64_t* y;
};

template <int P, class T>
T term(T z) {  // max(0, z)^P
  return z > T(0) ? (P == 1 ? z : z * z) : T(0);
}
template <int P, class T>
T slope(T z) {  // d max(0, z)^P / dz with the derivative at z = 0 taken as 0
  return z > T(0) ? (P == 1 ? T(1) : T(2) * z) : T(0);
}

// Σ_{j ∈ [b, e)} max(0, (s_j − s_y) + Δ)^P. With Check, every s_j − s_j is also
// added into fin (0 for finite scores, NaN otherwise): the input check rides along.
template <int P, bool Check = false, class T>
T ww_terms(const T* s, std::size_t b, std::size_t e, T sy, T delta, Batch<T>* fin = nullptr) {
  using B = Batch<T>;
  const B vsy(sy), vd(delta), zero(T(0));
  B acc(T(0)), f(T(0));
  std::size_t j = b;
  for (; j + B::size <= e; j += B::size) {
    const B x = B::load_unaligned(s + j);
    const B z = xsimd::max((x - vsy) + vd, zero);
    acc += P == 1 ? z : z * z;
    if (Check) f += x - x;
  }
  T total = e - b >= B::size ? lane_sum(acc) : T(0);  // rows shorter than a batch skip the lane reduction
  T ft = 0;
  for (; j < e; ++j) {
    total += term<P>((s[j] - sy) + delta);
    if (Check) ft += s[j] - s[j];
  }
  if (Check) *fin += f + B(ft);
  return total;
}

// d_j = gi · slope(z_j) for j ∈ [b, e), written (Fresh) or added into g; returns Σ d_j.
template <int P, bool Fresh, class T>
T ww_grads(const T* s, T* g, std::size_t b, std::size_t e, T sy, T delta, T gi) {
  using B = Batch<T>;
  const B vsy(sy), vd(delta), vgi(gi), zero(T(0)), two(T(2));
  B acc(T(0));
  std::size_t j = b;
  for (; j + B::size <= e; j += B::size) {
    const B z = (B::load_unaligned(s + j) - vsy) + vd;
    const B d = P == 1 ? xsimd::select(z > zero, vgi, zero) : (two * xsimd::max(z, zero)) * vgi;
    if (Fresh)
      d.store_unaligned(g + j);
    else
      (B::load_unaligned(g + j) + d).store_unaligned(g + j);
    acc += d;
  }
  T total = e - b >= B::size ? lane_sum(acc) : T(0);  // rows shorter than a batch skip the lane reduction
  for (; j < e; ++j) {
    const T d = slope<P>((s[j] - sy) + delta) * gi;
    g[j] = Fresh ? d : g[j] + d;
    total += d;
  }
  return total;
}

// max_{j ∈ [b, e)} s_j, folded into m; with Check, s_j − s_j is added into fin as in ww_terms.
template <bool Check = false, class T>
T max_of(const T* s, std::size_t b, std::size_t e, T m, Batch<T>* fin = nullptr) {
  using B = Batch<T>;
  std::size_t j = b;
  T ft = 0;
  if (e - b >= B::size) {
    B vm(m), f(T(0));
    for (; j + B::size <= e; j += B::size) {
      const B x = B::load_unaligned(s + j);
      vm = xsimd::max(vm, x);
      if (Check) f += x - x;
    }
    alignas(64) std::array<T, B::size> lanes;
    vm.store_aligned(lanes.data());
    for (T v : lanes) m = v > m ? v : m;
    if (Check) *fin += f;
  }
  for (; j < e; ++j) {
    m = s[j] > m ? s[j] : m;
    if (Check) ft += s[j] - s[j];
  }
  if (Check) *fin += B(ft);
  return m;
}

// The largest wrong-class score of a row (−∞ when C = 1: no wrong class, no loss).
template <class T>
T wrong_max(const T* s, std::size_t c, std::size_t y) {
  return max_of(s, y + 1, c, max_of(s, 0, y, -std::numeric_limits<T>::infinity()));
}

// Crammer–Singer: share to each wrong class j ∈ [b, e) with s_j = m (the tied maxima),
// 0 to the others; written (Fresh) or added into g.
template <bool Fresh, class T>
void cs_spread(const T* s, T* g, std::size_t b, std::size_t e, T m, T share) {
  using B = Batch<T>;
  const B vm(m), vshare(share), zero(T(0));
  std::size_t j = b;
  for (; j + B::size <= e; j += B::size) {
    const B d = xsimd::select(B::load_unaligned(s + j) == vm, vshare, zero);
    if (Fresh)
      d.store_unaligned(g + j);
    else
      (B::load_unaligned(g + j) + d).store_unaligned(g + j);
  }
  for (; j < e; ++j) {
    const T d = s[j] == m ? share : T(0);
    g[j] = Fresh ? d : g[j] + d;
  }
}

// How many j ∈ [b, e) have s_j = m.
template <class T>
std::size_t count_equal(const T* s, std::size_t b, std::size_t e, T m) {
  using B = Batch<T>;
  const B vm(m), one(T(1)), zero(T(0));
  B acc(T(0));  // exact: counts stay far below 2^24
  std::size_t j = b;
  for (; j + B::size <= e; j += B::size) acc += xsimd::select(B::load_unaligned(s + j) == vm, one, zero);
  std::size_t n = e - b >= B::size ? static_cast<std::size_t>(lane_sum(acc)) : 0;
  for (; j < e; ++j) n += s[j] == m;
  return n;
}

}  // namespace tapegrad::hinge_rows
