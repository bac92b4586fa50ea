#pragma once
// The fused multiclass hinge's row-segment kernels: xsimd loops over contiguous
// row-major scores. The true class is skipped by running each kernel on [0, y)
// and (y, C). Internal to losses/hinge_fused.cpp.
#include <algorithm>
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
    // two accumulators halve the chain of dependent maxima; wide rows stream from
    // memory, so the loads are prefetched 4 KB ahead (harmless past the end)
    B vm(m), vm2(m), f(T(0));
    for (; j + 2 * B::size <= e; j += 2 * B::size) {
      __builtin_prefetch(s + j + 4096 / sizeof(T));
      const B x = B::load_unaligned(s + j), x2 = B::load_unaligned(s + j + B::size);
      vm = xsimd::max(vm, x);
      vm2 = xsimd::max(vm2, x2);
      if (Check) f += (x - x) + (x2 - x2);
    }
    for (; j + B::size <= e; j += B::size) {
      const B x = B::load_unaligned(s + j);
      vm = xsimd::max(vm, x);
      if (Check) f += x - x;
    }
    vm = xsimd::max(vm, vm2);
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

// How many j ∈ [b, e) have s_j = m; the first such j goes into `first` unless it
// is set already (≠ none).
template <class T>
std::size_t tie_scan(const T* s, std::size_t b, std::size_t e, T m, std::size_t none, std::size_t& first) {
  using B = Batch<T>;
  const B vm(m);
  std::size_t n = 0, j = b;
  const auto visit = [&](std::size_t k) {
    if (s[k] != m) return;
    if (first == none) first = k;
    ++n;
  };
  for (; j + B::size <= e; j += B::size)
    if (xsimd::any(B::load_unaligned(s + j) == vm))  // rarely: the row's maximum, or ties
      for (std::size_t k = j; k < j + B::size; ++k) visit(k);
  for (; j < e; ++j) visit(j);
  return n;
}

// Crammer–Singer that remembers each row's maximum: saved[2i] = first, where the
// largest wrong-class score m first occurs, and saved[2i + 1] = how many wrong
// classes equal it, so the backward touches only those entries and y (and reads the row
// again only when several tie). Row losses into out[i] (when given, times w[y_i]
// when weights are given), Σ_i into total, and the input checks ride along (the
// row is still in L1 for the tie scan). False on a label outside [0, C) or a
// non-finite score.
template <int P, class T>
bool forward_cs_saved(const T* s, const Layout& l, T delta, const T* w, T* out, std::uint64_t* saved,
                      double& total) {
  Batch<T> fin(T(0));
  double sum = 0;
  for (std::size_t i = 0; i < l.n; ++i) {
    const std::uint64_t y = static_cast<std::uint64_t>(l.y[i]);
    if (y >= l.c) return false;
    const T* row = s + i * l.c;
    const T sy = row[y];
    fin += Batch<T>(sy - sy);
    const T m = max_of<true>(row, y + 1, l.c, max_of<true>(row, 0, y, -std::numeric_limits<T>::infinity(), &fin),
                             &fin);
    std::size_t first = l.c;
    const std::size_t ties = tie_scan(row, 0, y, m, l.c, first) + tie_scan(row, y + 1, l.c, m, l.c, first);
    saved[2 * i] = first;
    saved[2 * i + 1] = ties;
    T li = term<P>((m - sy) + delta);
    if (w) li *= w[y];
    if (out) out[i] = li;
    sum += li;
  }
  total = sum;
  return lane_sum(fin) == T(0);
}

// The mirror of forward_cs_saved: dz = gi · slope((m − s_y) + Δ) with m = s[first],
// split evenly among the ties, −dz to the true class; written (Fresh) or added into g.
template <int P, bool Fresh, class T>
void backward_cs_saved(const T* s, const Layout& l, T delta, const T* w, const T* up, bool per_row, T scale,
                       const std::uint64_t* saved, T* g) {
  for (std::size_t i = 0; i < l.n; ++i) {
    const T* row = s + i * l.c;
    T* grow = g + i * l.c;
    if (Fresh) std::fill(grow, grow + l.c, T(0));
    const std::size_t first = static_cast<std::size_t>(saved[2 * i]), ties = static_cast<std::size_t>(saved[2 * i + 1]);
    if (ties == 0) continue;  // C = 1: no wrong class, no loss
    const std::size_t y = static_cast<std::size_t>(l.y[i]);
    T gi = (per_row ? up[i] : up[0]) * scale;
    if (w) gi *= w[y];
    const T m = row[first];
    const T dz = slope<P>((m - row[y]) + delta) * gi;
    if (dz != T(0)) {
      if (ties == 1) {
        grow[first] += dz;
      } else {
        const T share = dz / static_cast<T>(ties);
        cs_spread<false>(row, grow, 0, y, m, share);
        cs_spread<false>(row, grow, y + 1, l.c, m, share);
      }
    }
    grow[y] = Fresh ? -dz : grow[y] + -dz;
  }
}

}  // namespace tapegrad::hinge_rows
