// Softmax cross-entropy, fused and composed. Both subtract each row's maximum m
// before exponentiating: log Σ_j exp(s_j) = m + log Σ_j exp(s_j − m), where every
// exponent is ≤ 0 and the sum is ≥ 1, so nothing overflows or underflows to
// log(0) — the loss stays finite at s = 1e4 in float.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "losses/check_inputs.hpp"
#include "losses/simd.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "ops/elementwise.hpp"
#include "ops/indexing.hpp"
#include "ops/reduce.hpp"

namespace tapegrad {

namespace {

using detail::Batch;
using detail::lane_sum;

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

// The input checks both paths make, under their own name, and what they need from
// them: the shapes and the mean's divisor (Σ_i w[y_i] with weights, as PyTorch).
struct Checked {
  detail::ClassDims dims;
  double divisor;
};

template <class T>
Checked check_softmax(const char* op, const Tensor<T>& s, const IndexTensor& labels, Reduction reduction,
                      const Tensor<T>* weights) {
  const detail::ClassDims dims = detail::check_class_inputs(op, s, labels, weights);
  if (reduction != Reduction::mean && reduction != Reduction::sum && reduction != Reduction::none)
    fail(op, ": unknown reduction ", static_cast<int>(reduction));
  return {dims, reduction == Reduction::mean ? detail::weighted_row_count(op, labels, weights) : 1.0};
}

}  // namespace

// The fused op. Forward already has every exp(s_j − m), so when a gradient is
// needed it stores the local gradient c_i·(softmax(s_i) − onehot(y_i)) in aux
// (c_i = w[y_i], divided by the mean's divisor); backward is then one multiply-add
// pass, as Caffe's SoftmaxWithLoss keeps its probabilities.
template <class T>
Var<T> softmax_cross_entropy(const Var<T>& scores, const IndexTensor& labels, Reduction reduction,
                             const Tensor<T>* weights) {
  static constexpr const char* kOp = "softmax_cross_entropy";
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  const auto [dims, divisor] = check_softmax(kOp, s, labels, reduction, weights);

  // ds_i = upstream_i · c_i · (softmax(s_i) − onehot(y_i)), with c_i·(…) saved in aux
  Record<T>& r = t.push(kOp, {scores}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* gbuf = t.grad_buffer(r.inputs[0], fresh);
    if (!gbuf) return;
    const std::size_t n = r.aux.shape()[0], c = r.aux.shape()[1];
    const bool per_row = static_cast<Reduction>(r.ints[0]) == Reduction::none;
    const T* local = r.aux.data();
    const T* up = r.grad.data();
    T* g = gbuf->data();
    for (std::size_t i = 0; i < n; ++i) {
      const T gi = per_row ? up[i] : up[0];
      const std::size_t b = i * c, e = b + c;
      if (fresh)
        for (std::size_t k = b; k < e; ++k) g[k] = gi * local[k];
      else
        for (std::size_t k = b; k < e; ++k) g[k] += gi * local[k];
    }
  });
  r.ints[0] = static_cast<std::int64_t>(reduction);
  const bool keep = r.requires_grad;
  if (keep) r.aux.resize(s.shape());

  const std::size_t n = dims.rows, c = dims.classes;
  const std::int64_t* y = labels.data();
  const T* w = weights ? weights->data() : nullptr;
  T* out = nullptr;
  if (reduction == Reduction::none) {
    r.value.resize(std::array<std::size_t, 1>{n});
    out = r.value.data();
  } else {
    r.value.resize(std::array<std::size_t, 0>{});
  }
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const T* row = s.data() + i * c;
    const std::size_t yi = static_cast<std::size_t>(y[i]);
    const T m = row_max(row, c);
    T* local = keep ? r.aux.data() + i * c : nullptr;
    const T z = sum_exp(row, c, m, local);
    const T wi = w ? w[yi] : T(1);
    // log Σ exp(s) − s_y = log Σ exp(s − m) − (s_y − m): no large m is added and subtracted
    const T li = wi * (std::log(z) - (row[yi] - m));
    if (out) out[i] = li;
    total += li;
    if (keep) {
      const T ci = static_cast<T>(wi / divisor), scale = ci / z;
      for (std::size_t j = 0; j < c; ++j) local[j] *= scale;
      local[yi] -= ci;
    }
  }
  if (reduction != Reduction::none) *r.value.data() = static_cast<T>(total / divisor);
  return t.commit(r);
}

// The reference, composed from public ops. The row maximum is a constant shift:
// the loss does not depend on it (lse(s − m) + m − (s_y − m) − m), so treating it
// as a constant is exact, and no gradient flows through a term that would cancel.
template <class T>
Var<T> softmax_cross_entropy_composed(const Var<T>& scores, const IndexTensor& labels, Reduction reduction,
                                      const Tensor<T>* weights) {
  static constexpr const char* kOp = "softmax_cross_entropy_composed";
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  const auto [dims, divisor] = check_softmax(kOp, s, labels, reduction, weights);

  Tensor<T> m = Tensor<T>::from_shape({dims.rows, std::size_t(1)});
  for (std::size_t i = 0; i < dims.rows; ++i) m(i, 0) = row_max(s.data() + i * dims.classes, dims.classes);
  IndexTensor column = labels;
  column.reshape({dims.rows, std::size_t(1)});

  const Var<T> shifted = scores - t.constant(m);
  const Var<T> lse = log(sum(exp(shifted), 1, true));                // (N, 1)
  Var<T> rows = sum(lse - gather(shifted, 1, column), 1);            // (N)
  if (weights) {
    Tensor<T> w_row = *weights;
    w_row.reshape({std::size_t(1), dims.classes});
    rows = rows * sum(one_hot(t, labels, dims.classes) * t.constant(w_row), 1);  // · w[y_i]
  }
  switch (reduction) {
    case Reduction::mean: return weights ? sum(rows) / static_cast<T>(divisor) : mean(rows);
    case Reduction::sum: return sum(rows);
    default: return rows;
  }
}

#define TAPEGRAD_INSTANTIATE(T)                                                                      \
  template Var<T> softmax_cross_entropy(const Var<T>&, const IndexTensor&, Reduction, const Tensor<T>*); \
  template Var<T> softmax_cross_entropy_composed(const Var<T>&, const IndexTensor&, Reduction,       \
                                                 const Tensor<T>*);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
