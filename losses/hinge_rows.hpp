#pragma once
// The fused multiclass hinge's portable kernel, rows (any dtype, width and options),
// and the xsimd row-segment loops it shares with the other kernels: each loop runs
// over contiguous row-major scores, and the true class is skipped by running it on
// [0, y) and (y, C). The rows forward checks labels and finiteness in the same pass
// and returns false on bad input; its backward recomputes z from the scores. Every
// loop computes z = (s_j − s_y) + Δ and tests z > 0 as the reference
// (losses/hinge_reference.cpp) does. Internal to losses/.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include <tapegrad/losses/hinge_kernels.hpp>
#include <tapegrad/losses/simd.hpp>

namespace tapegrad::hinge_rows {

using detail::Batch;
using detail::lane_sum;
using hinge_impl::Problem;
using hinge_impl::Upstream;

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

// ---- rows --------------------------------------------------------------------

// Row losses L_i · w[y_i] into out (when given), Σ_i into total, and the input
// checks (s_j − s_j is 0 for finite scores, NaN otherwise) in one pass.
template <int P, class T>
bool forward_rows(const Problem<T>& pr, T* out, double& total) {
  Batch<T> fin(T(0));
  double sum = 0;
  for (std::size_t i = 0; i < pr.n; ++i) {
    const std::uint64_t y = static_cast<std::uint64_t>(pr.y[i]);
    if (y >= pr.c) return false;
    const T* row = pr.s + i * pr.c;
    const T sy = row[y];
    fin += Batch<T>(sy - sy);
    T li;
    if (pr.kind == HingeKind::weston_watkins) {
      li = ww_terms<P, true>(row, 0, y, sy, pr.delta, &fin) + ww_terms<P, true>(row, y + 1, pr.c, sy, pr.delta, &fin);
    } else {
      const T m = max_of<true>(row, y + 1, pr.c,
                               max_of<true>(row, 0, y, -std::numeric_limits<T>::infinity(), &fin), &fin);
      li = term<P>((m - sy) + pr.delta);
    }
    if (pr.w) li *= pr.w[y];
    if (out) out[i] = li;
    sum += li;
  }
  total = sum;
  return lane_sum(fin) == T(0);
}

// The mirror of forward_rows: the same z, the same z > 0; written (Fresh) or added into g.
template <int P, bool Fresh, class T>
void backward_rows(const Problem<T>& pr, const Upstream<T>& u, T* g) {
  for (std::size_t i = 0; i < pr.n; ++i) {
    const T* row = pr.s + i * pr.c;
    T* grow = g + i * pr.c;
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    const T sy = row[y];
    T gi = u.row(i);
    if (pr.w) gi *= pr.w[y];
    if (pr.kind == HingeKind::weston_watkins) {
      const T dy = -(ww_grads<P, Fresh>(row, grow, 0, y, sy, pr.delta, gi) +
                     ww_grads<P, Fresh>(row, grow, y + 1, pr.c, sy, pr.delta, gi));
      grow[y] = Fresh ? dy : grow[y] + dy;
      continue;
    }
    const T m = wrong_max(row, pr.c, y);
    const T dz = slope<P>((m - sy) + pr.delta) * gi;
    if (dz != T(0)) {  // split evenly among the tied maxima
      std::size_t first = pr.c;
      const std::size_t ties = tie_scan(row, 0, y, m, pr.c, first) + tie_scan(row, y + 1, pr.c, m, pr.c, first);
      const T share = dz / static_cast<T>(ties);
      cs_spread<Fresh>(row, grow, 0, y, m, share);
      cs_spread<Fresh>(row, grow, y + 1, pr.c, m, share);
    } else if (Fresh) {
      std::fill(grow, grow + pr.c, T(0));
    }
    grow[y] = Fresh ? -dz : grow[y] + -dz;
  }
}

// ---- entry points (p and fresh as template arguments) ----------------------------

template <class T>
bool rows_forward(const Problem<T>& pr, T* out, double& total) {
  return pr.p == 1 ? forward_rows<1>(pr, out, total) : forward_rows<2>(pr, out, total);
}
template <class T>
void rows_backward(const Problem<T>& pr, const Upstream<T>& u, bool fresh, T* g) {
  if (pr.p == 1)
    fresh ? backward_rows<1, true>(pr, u, g) : backward_rows<1, false>(pr, u, g);
  else
    fresh ? backward_rows<2, true>(pr, u, g) : backward_rows<2, false>(pr, u, g);
}
}  // namespace tapegrad::hinge_rows
