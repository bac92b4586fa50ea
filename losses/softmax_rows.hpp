#pragma once
// The fused softmax cross-entropy's kernel: xsimd loops over contiguous row-major
// scores (internal to losses/softmax_cross_entropy.cpp, which also uses row_max for
// the composed op's shift). The forward already has every exp(s_j − m), so when a
// gradient is needed it stores the local gradient c_i·(softmax(s_i) − onehot(y_i)),
// as Caffe's SoftmaxWithLoss keeps its probabilities; the backward is then one
// multiply(-add) pass. The formulas and their order of operations are the
// reference's (losses/softmax_reference.cpp); only the exponential differs: the
// vector body uses xsimd::exp, the scalar tail std::exp, and the body sums in lanes.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include <tapegrad/losses/simd.hpp>
#include <tapegrad/losses/softmax_kernels.hpp>

namespace tapegrad::softmax_rows {

using detail::Batch;
using detail::lane_sum;
using softmax_impl::Problem;

// max_j s_j (−∞ for an empty row)
template <class T>
T row_max(const T* s, std::size_t c) {
  using B = Batch<T>;
  T m = -std::numeric_limits<T>::infinity();
  std::size_t j = 0;
  if (c >= B::size) {
    B vm(m);
    for (; j + B::size <= c; j += B::size) vm = xsimd::max(vm, B::load_unaligned(s + j));
    alignas(64) std::array<T, B::size> lanes;
    vm.store_aligned(lanes.data());
    for (T v : lanes) m = v > m ? v : m;
  }
  for (; j < c; ++j) m = s[j] > m ? s[j] : m;
  return m;
}

// Σ_j exp(s_j − m), storing each exp(s_j − m) into e when e is not null.
template <class T>
T sum_exp(const T* s, std::size_t c, T m, T* e) {
  using B = Batch<T>;
  const B vm(m);
  B acc(T(0));
  std::size_t j = 0;
  for (; j + B::size <= c; j += B::size) {
    const B x = xsimd::exp(B::load_unaligned(s + j) - vm);
    if (e) x.store_unaligned(e + j);
    acc += x;
  }
  T total = c >= B::size ? lane_sum(acc) : T(0);  // short rows skip the lane reduction
  for (; j < c; ++j) {
    const T x = std::exp(s[j] - m);
    if (e) e[j] = x;
    total += x;
  }
  return total;
}

// Row losses into out (when given), Σ_i into total, and (when local is given) the
// local gradient c_i·(softmax(s_i) − onehot(y_i)) into local (N×C).
template <class T>
double rows_forward(const Problem<T>& pr, T* out, T* local) {
  double total = 0;
  for (std::size_t i = 0; i < pr.n; ++i) {
    const T* row = pr.s + i * pr.c;
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    const T m = row_max(row, pr.c);
    T* li_local = local ? local + i * pr.c : nullptr;
    const T z = sum_exp(row, pr.c, m, li_local);
    const T wi = pr.w ? pr.w[y] : T(1);
    // log Σ exp(s) − s_y = log Σ exp(s − m) − (s_y − m): no large m is added and subtracted
    const T li = wi * (std::log(z) - (row[y] - m));
    if (out) out[i] = li;
    total += li;
    if (li_local) {
      const T ci = static_cast<T>(wi / pr.divisor), scale = ci / z;
      for (std::size_t j = 0; j < pr.c; ++j) li_local[j] *= scale;
      li_local[y] -= ci;
    }
  }
  return total;
}

// ds = upstream_i · local, written (fresh) or added into g.
template <class T>
void rows_backward(const T* local, std::size_t n, std::size_t c, const T* up, bool per_row, bool fresh, T* g) {
  for (std::size_t i = 0; i < n; ++i) {
    const T gi = per_row ? up[i] : up[0];
    const std::size_t b = i * c, e = b + c;
    if (fresh)
      for (std::size_t k = b; k < e; ++k) g[k] = gi * local[k];
    else
      for (std::size_t k = b; k < e; ++k) g[k] += gi * local[k];
  }
}

}  // namespace tapegrad::softmax_rows
