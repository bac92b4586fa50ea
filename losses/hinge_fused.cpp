// The fused multiclass hinge: one forward loop over rows and one backward loop
// that mirrors it (the shape of PyTorch's LossMultiMargin.cpp). Both recompute
// z_j = (s_j − s_y) + Δ in exactly the composed path's order of operations, so
// fused and composed take the same side of every kink: z > 0 is a violation,
// z = 0 adds no loss and no gradient.
//
// The row kernels (losses/hinge_rows.hpp) are xsimd loops over contiguous
// row-major data; float rows of at most 16 classes use AVX-512 kernels here.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "losses/check_inputs.hpp"
#include "losses/hinge.hpp"
#include "losses/hinge_avx512.hpp"
#include "losses/hinge_rows.hpp"
#include "losses/simd.hpp"

namespace tapegrad {

namespace {

constexpr const char* kOp = "multiclass_hinge";

using detail::Batch;
using detail::lane_sum;

using namespace hinge_rows;  // Layout, term, slope, ww_terms, ww_grads, wrong_max, *_cs_saved
#if defined(__AVX512F__)
using namespace hinge_avx512;  // kSmallC, forward_small, backward_small, forward_ww1_masked, backward_ww1_masked
#endif


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

// forward_rows for a reduced Weston–Watkins loss without weights that saves nothing,
// fused with the input checks (labels in [0, C), finite scores): one pass over the
// scores instead of two. False on bad input; the caller then runs the full check
// for the message. (Crammer–Singer's single pass is forward_cs_saved.)
template <int P, class T>
bool ww_rows_checked(const T* s, const Layout& l, T delta, double& total) {
  Batch<T> fin(T(0));
  double sum = 0;
  for (std::size_t i = 0; i < l.n; ++i) {
    const T* row = s + i * l.c;
    const std::uint64_t y = static_cast<std::uint64_t>(l.y[i]);
    if (y >= l.c) return false;
    const T sy = row[y];
    fin += Batch<T>(sy - sy);
    sum += ww_terms<P, true>(row, 0, y, sy, delta, &fin) + ww_terms<P, true>(row, y + 1, l.c, sy, delta, &fin);
  }
  total = sum;
  return lane_sum(fin) == T(0);
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

// The mirror of forward_rows for Weston–Watkins rows that saved nothing: same z,
// same z > 0. (Crammer–Singer rows always save their maximum or fit one vector.)
template <int P, bool Fresh, class T>
void backward_ww_rows(const T* s, const Layout& l, T delta, const T* w, const T* up, bool per_row, T scale, T* g) {
  for (std::size_t i = 0; i < l.n; ++i) {
    const T* row = s + i * l.c;
    T* grow = g + i * l.c;
    const std::size_t y = static_cast<std::size_t>(l.y[i]);
    const T sy = row[y];
    T gi = (per_row ? up[i] : up[0]) * scale;
    if (w) gi *= w[y];
    const T dy = -(ww_grads<P, Fresh>(row, grow, 0, y, sy, delta, gi) +
                   ww_grads<P, Fresh>(row, grow, y + 1, l.c, sy, delta, gi));
    grow[y] = Fresh ? dy : grow[y] + dy;
  }
}

template <int P, class T>
void backward_dispatch(bool fresh, const T* s, const Layout& l, T delta, const T* w, const T* up, bool per_row,
                       T scale, T* g) {
  if (fresh)
    backward_ww_rows<P, true>(s, l, delta, w, up, per_row, scale, g);
  else
    backward_ww_rows<P, false>(s, l, delta, w, up, per_row, scale, g);
}

// What a forward saves for its backward in Record::bits, beyond the labels:
//  - ww_bits: Weston–Watkins, p = 1, float rows wider than one AVX-512 vector: one
//    violation bit per score (hinge_avx512.hpp);
//  - cs_argmax: Crammer–Singer (except float rows that fit one AVX-512 vector): where
//    each row's maximum is and how many tie (hinge_rows.hpp);
//  - none: the backward recomputes everything from the scores.
enum class Saved { none, ww_bits, cs_argmax };

template <class T>
Saved saved_for(HingeKind kind, std::int64_t p, std::size_t c) {
#if defined(__AVX512F__)
  if (std::is_same_v<T, float> && c <= kSmallC) return Saved::none;  // one vector per row: recomputing is cheaper
  if (std::is_same_v<T, float> && kind == HingeKind::weston_watkins && p == 1) return Saved::ww_bits;
#endif
  (void)p;
  return kind == HingeKind::crammer_singer ? Saved::cs_argmax : Saved::none;
}

// The forward that saves: row losses into out, Σ into total; false on bad input.
template <class T>
bool forward_saved(Saved saved, const HingeOptions& o, const T* s, const Layout& l, const T* w, T* out,
                   std::uint64_t* bits, double& total) {
  const T delta = static_cast<T>(o.margin);
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>)
    if (saved == Saved::ww_bits) return forward_ww1_masked(s, l, delta, w, out, bits, total);
#endif
  (void)saved;
  return o.p == 1 ? forward_cs_saved<1>(s, l, delta, w, out, bits, total)
                  : forward_cs_saved<2>(s, l, delta, w, out, bits, total);
}

template <class T>
void backward_saved(Saved saved, bool fresh, int p, const T* s, const Layout& l, T delta, const T* w, const T* up,
                    bool per_row, T scale, const std::uint64_t* bits, T* g) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>)
    if (saved == Saved::ww_bits) {
      fresh ? backward_ww1_masked<true>(l, bits, w, up, per_row, scale, g)
            : backward_ww1_masked<false>(l, bits, w, up, per_row, scale, g);
      return;
    }
#endif
  (void)saved;
  if (p == 1)
    fresh ? backward_cs_saved<1, true>(s, l, delta, w, up, per_row, scale, bits, g)
          : backward_cs_saved<1, false>(s, l, delta, w, up, per_row, scale, bits, g);
  else
    fresh ? backward_cs_saved<2, true>(s, l, delta, w, up, per_row, scale, bits, g)
          : backward_cs_saved<2, false>(s, l, delta, w, up, per_row, scale, bits, g);
}

}  // namespace

template <class T>
Var<T> multiclass_hinge(const Var<T>& scores, const IndexTensor& labels, const HingeOptions& options,
                        const Tensor<T>* weights) {
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  const bool well_formed = s.dimension() == 2 && labels.dimension() == 1 && labels.shape()[0] == s.shape()[0] &&
                           (options.p == 1 || options.p == 2);
  const Saved saved = well_formed ? saved_for<T>(options.kind, options.p, s.shape()[1]) : Saved::none;
  // The forward is also the pass that checks labels and finiteness: a saving forward
  // runs after push, since what it saves goes into the record, and takes the record
  // back on bad input; otherwise, without weights and with a reduction, the forward
  // runs here, before push (small float rows: one AVX-512 vector per row).
  bool fused_done = false, checked = saved != Saved::none;  // fused_done: forward done and inputs valid
  double fused_total = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (!checked && !weights && options.reduction != Reduction::none && well_formed && s.shape()[1] >= 1 &&
        s.shape()[1] <= kSmallC) {
      const Layout l{s.shape()[0], s.shape()[1], labels.data()};
      const float delta = static_cast<float>(options.margin);
      fused_done = options.p == 1 ? forward_small<1>(options.kind, s.data(), l, delta, fused_total)
                                  : forward_small<2>(options.kind, s.data(), l, delta, fused_total);
      checked = true;
    }
  }
#endif
  if (!checked && !weights && options.reduction != Reduction::none && well_formed &&
      options.kind == HingeKind::weston_watkins) {
    const Layout l{s.shape()[0], s.shape()[1], labels.data()};
    const T delta = static_cast<T>(options.margin);
    fused_done = options.p == 1 ? ww_rows_checked<1>(s.data(), l, delta, fused_total)
                                : ww_rows_checked<2>(s.data(), l, delta, fused_total);
  }
  // the full check throws the precise message when the single pass found bad input
  // (weights are checked here: the saving forward checks the scores and labels only)
  const detail::ClassDims dims = fused_done || (saved != Saved::none && !weights)
                                     ? detail::ClassDims{s.shape()[0], s.shape()[1]}
                                     : detail::check_class_inputs(kOp, s, labels, weights);
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
    const Saved saved = saved_for<T>(kind, r.ints[1], l.c);
    if (saved != Saved::none) {
      backward_saved(saved, fresh, static_cast<int>(r.ints[1]), s.data(), l, delta, w, r.grad.data(), per_row, scale,
                     r.bits.data(), g->data());
      return;
    }
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
      const T* up = r.grad.data();
      T* gd = g->data();
      if (l.c >= 1 && l.c <= kSmallC) {
        if (r.ints[1] == 1)
          fresh ? backward_small<1, true>(kind, s.data(), l, delta, w, up, per_row, scale, gd)
                : backward_small<1, false>(kind, s.data(), l, delta, w, up, per_row, scale, gd);
        else
          fresh ? backward_small<2, true>(kind, s.data(), l, delta, w, up, per_row, scale, gd)
                : backward_small<2, false>(kind, s.data(), l, delta, w, up, per_row, scale, gd);
        return;
      }
    }
#endif
    if (r.ints[1] == 1)
      backward_dispatch<1>(fresh, s.data(), l, delta, w, r.grad.data(), per_row, scale, g->data());
    else
      backward_dispatch<2>(fresh, s.data(), l, delta, w, r.grad.data(), per_row, scale, g->data());
  });

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
  double total = fused_total;
  if (saved != Saved::none) {
#if defined(__AVX512F__)
    const std::size_t words = saved == Saved::ww_bits ? dims.rows * mask_words(dims.classes) : 2 * dims.rows;
#else
    const std::size_t words = 2 * dims.rows;
#endif
    r.bits.resize(words);  // keeps the buffer when the size is unchanged
    if (!forward_saved(saved, options, s.data(), l, w, out, r.bits.data(), total)) {
      t.unpush(r);
      detail::check_class_inputs(kOp, s, labels, weights);  // throws the precise message
      fail(kOp, ": the single-pass check and the full check disagree");
    }
    fused_done = true;
  }
  if (!fused_done)
    total = options.p == 1 ? forward_rows<1>(options.kind, s.data(), l, delta, w, out)
                           : forward_rows<2>(options.kind, s.data(), l, delta, w, out);
  r.ints = {static_cast<std::int64_t>(options.kind), options.p, static_cast<std::int64_t>(options.reduction),
            weights ? 1 : 0};
  r.scalars[0] = options.margin;
  r.scalars[1] = options.reduction == Reduction::mean ? 1.0 / static_cast<double>(dims.rows) : 1.0;
  if (r.requires_grad) {  // assignments: the record's buffers are reused after tape.clear()
    r.index = labels;
    if (weights) r.aux = *weights;
  }
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
