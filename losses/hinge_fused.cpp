// The fused multiclass hinge: one forward loop over rows and one backward loop
// that mirrors it (the shape of PyTorch's LossMultiMargin.cpp). Both recompute
// z_j = (s_j − s_y) + Δ in exactly the composed path's order of operations, so
// fused and composed take the same side of every kink: z > 0 is a violation,
// z = 0 adds no loss and no gradient.
//
// The row kernels are xsimd loops over contiguous row-major data. The true
// class is skipped by running each kernel on [0, y) and (y, C).
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "losses/check_inputs.hpp"
#include "losses/hinge.hpp"

namespace tapegrad {

namespace {

constexpr const char* kOp = "multiclass_hinge";

template <class T>
using Batch = xsimd::batch<T>;

// The sum of a batch's lanes, in lane order (xsimd::hadd trips a GCC 12
// -Wuninitialized false positive inside the AVX-512 intrinsics).
template <class T>
T lane_sum(const Batch<T>& b) {
  alignas(64) std::array<T, Batch<T>::size> lanes;
  b.store_aligned(lanes.data());
  T total = 0;
  for (T v : lanes) total += v;
  return total;
}

template <int P, class T>
T term(T z) {  // max(0, z)^P
  return z > T(0) ? (P == 1 ? z : z * z) : T(0);
}
template <int P, class T>
T slope(T z) {  // d max(0, z)^P / dz with the derivative at z = 0 taken as 0
  return z > T(0) ? (P == 1 ? T(1) : T(2) * z) : T(0);
}

// Σ_{j ∈ [b, e)} max(0, (s_j − s_y) + Δ)^P
template <int P, class T>
T ww_terms(const T* s, std::size_t b, std::size_t e, T sy, T delta) {
  using B = Batch<T>;
  const B vsy(sy), vd(delta), zero(T(0));
  B acc(T(0));
  std::size_t j = b;
  for (; j + B::size <= e; j += B::size) {
    const B z = xsimd::max((B::load_unaligned(s + j) - vsy) + vd, zero);
    acc += P == 1 ? z : z * z;
  }
  T total = e - b >= B::size ? lane_sum(acc) : T(0);  // rows shorter than a batch skip the lane reduction
  for (; j < e; ++j) total += term<P>((s[j] - sy) + delta);
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

// max_{j ∈ [b, e)} s_j, folded into m
template <class T>
T max_of(const T* s, std::size_t b, std::size_t e, T m) {
  using B = Batch<T>;
  std::size_t j = b;
  if (e - b >= B::size) {
    B vm(m);
    for (; j + B::size <= e; j += B::size) vm = xsimd::max(vm, B::load_unaligned(s + j));
    alignas(64) std::array<T, B::size> lanes;
    vm.store_aligned(lanes.data());
    for (T v : lanes) m = v > m ? v : m;
  }
  for (; j < e; ++j) m = s[j] > m ? s[j] : m;
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

struct Layout {
  std::size_t n, c;
  const std::int64_t* y;
};

// Row losses (before weights and reduction) into out[i] = L_i · w[y_i]; returns Σ_i out[i].
template <int P, class T>
double forward_rows(HingeKind kind, const T* s, const Layout& l, T delta, const T* w, T* out) {
  double total = 0;
  for (std::size_t i = 0; i < l.n; ++i) {
    const T* row = s + i * l.c;
    const std::size_t y = static_cast<std::size_t>(l.y[i]);
    const T sy = row[y];
    T li;
    if (kind == HingeKind::weston_watkins)
      li = ww_terms<P>(row, 0, y, sy, delta) + ww_terms<P>(row, y + 1, l.c, sy, delta);
    else
      li = term<P>((wrong_max(row, l.c, y) - sy) + delta);
    if (w) li *= w[y];
    if (out) out[i] = li;
    total += li;
  }
  return total;
}

// Which side of each kink every element takes, for gradcheck.
template <class T>
void note_branches(Tape<T>& t, HingeKind kind, const T* s, const Layout& l, T delta) {
  for (std::size_t i = 0; i < l.n; ++i) {
    const T* row = s + i * l.c;
    const std::size_t y = static_cast<std::size_t>(l.y[i]);
    if (kind == HingeKind::weston_watkins) {
      for (std::size_t j = 0; j < l.c; ++j)
        if (j != y) t.note_branch(((row[j] - row[y]) + delta) > T(0));
    } else {
      const T m = wrong_max(row, l.c, y);
      for (std::size_t j = 0; j < l.c; ++j)  // the argmax set, ties included
        if (j != y && row[j] == m) t.note_branch(j);
      t.note_branch(((m - row[y]) + delta) > T(0) ? 1 : 0);
    }
  }
}

// The mirror of forward_rows: same z, same z > 0.
template <int P, bool Fresh, class T>
void backward_rows(HingeKind kind, const T* s, const Layout& l, T delta, const T* w, const T* up,
                   bool per_row, T scale, T* g) {
  for (std::size_t i = 0; i < l.n; ++i) {
    const T* row = s + i * l.c;
    T* grow = g + i * l.c;
    const std::size_t y = static_cast<std::size_t>(l.y[i]);
    const T sy = row[y];
    T gi = (per_row ? up[i] : up[0]) * scale;
    if (w) gi *= w[y];
    T dy;
    if (kind == HingeKind::weston_watkins) {
      dy = -(ww_grads<P, Fresh>(row, grow, 0, y, sy, delta, gi) +
             ww_grads<P, Fresh>(row, grow, y + 1, l.c, sy, delta, gi));
    } else {
      const T m = wrong_max(row, l.c, y);
      const T dz = slope<P>((m - sy) + delta) * gi;
      if (dz != T(0)) {
        const std::size_t ties = count_equal(row, 0, y, m) + count_equal(row, y + 1, l.c, m);
        const T share = dz / static_cast<T>(ties);
        cs_spread<Fresh>(row, grow, 0, y, m, share);
        cs_spread<Fresh>(row, grow, y + 1, l.c, m, share);
      } else if (Fresh) {  // no violation: the row's gradient is 0
        std::fill(grow, grow + l.c, T(0));
      }
      dy = -dz;
    }
    grow[y] = Fresh ? dy : grow[y] + dy;
  }
}

template <int P, class T>
void backward_dispatch(bool fresh, HingeKind kind, const T* s, const Layout& l, T delta, const T* w,
                       const T* up, bool per_row, T scale, T* g) {
  if (fresh)
    backward_rows<P, true>(kind, s, l, delta, w, up, per_row, scale, g);
  else
    backward_rows<P, false>(kind, s, l, delta, w, up, per_row, scale, g);
}

}  // namespace

template <class T>
Var<T> multiclass_hinge(const Var<T>& scores, const IndexTensor& labels, const HingeOptions& options,
                        const Tensor<T>* weights) {
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  const detail::ClassDims dims = detail::check_class_inputs(kOp, s, labels, weights);
  detail::check_hinge_options(kOp, options, dims.rows);

  // ds_j = gi·(1 | 2z_j) for each violating wrong class j (CS: split evenly among tied
  // maxima), ds_y = −Σ_j ds_j; gi = upstream_i · w[y_i] (· 1/N for mean)
  Record<T>& r = t.push(kOp, {scores}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* g = t.grad_buffer(r.inputs[0], fresh);
    if (!g) return;
    const Tensor<T>& s = t.value_of(r.inputs[0]);
    const Layout l{s.shape()[0], s.shape()[1], r.index.data()};
    const auto kind = static_cast<HingeKind>(r.ints[0]);
    const T* w = r.ints[3] ? r.aux.data() : nullptr;
    const bool per_row = static_cast<Reduction>(r.ints[2]) == Reduction::none;
    const T delta = static_cast<T>(r.scalars[0]), scale = static_cast<T>(r.scalars[1]);
    if (r.ints[1] == 1)
      backward_dispatch<1>(fresh, kind, s.data(), l, delta, w, r.grad.data(), per_row, scale, g->data());
    else
      backward_dispatch<2>(fresh, kind, s.data(), l, delta, w, r.grad.data(), per_row, scale, g->data());
  });
  r.ints = {static_cast<std::int64_t>(options.kind), options.p, static_cast<std::int64_t>(options.reduction),
            weights ? 1 : 0};
  r.scalars[0] = options.margin;
  r.scalars[1] = options.reduction == Reduction::mean ? 1.0 / static_cast<double>(dims.rows) : 1.0;
  if (r.requires_grad) {  // assignments: the record's buffers are reused after tape.clear()
    r.index = labels;
    if (weights) r.aux = *weights;
  }

  const Layout l{dims.rows, dims.classes, labels.data()};
  const T delta = static_cast<T>(options.margin);
  const T* w = weights ? weights->data() : nullptr;
  T* out = nullptr;
  if (options.reduction == Reduction::none) {
    r.value.resize(std::array<std::size_t, 1>{dims.rows});
    out = r.value.data();
  } else {
    r.value.resize(std::array<std::size_t, 0>{});
  }
  const double total = options.p == 1 ? forward_rows<1>(options.kind, s.data(), l, delta, w, out)
                                      : forward_rows<2>(options.kind, s.data(), l, delta, w, out);
  if (options.reduction == Reduction::sum) *r.value.data() = static_cast<T>(total);
  if (options.reduction == Reduction::mean) *r.value.data() = static_cast<T>(total / static_cast<double>(dims.rows));
  if (t.tracking_branches()) note_branches(t, options.kind, s.data(), l, delta);
  return t.commit(r);
}

template Var<float> multiclass_hinge(const Var<float>&, const IndexTensor&, const HingeOptions&,
                                     const Tensor<float>*);
template Var<double> multiclass_hinge(const Var<double>&, const IndexTensor&, const HingeOptions&,
                                      const Tensor<double>*);

}  // namespace tapegrad
