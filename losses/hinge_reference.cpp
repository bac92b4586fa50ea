// The multiclass hinge as plain loops: the fused op's reference. Read this file for
// the math; every fast kernel of multiclass_hinge (losses/hinge_rows.hpp,
// losses/hinge_avx512.hpp) is tested to give exactly these values and gradients.
// The shape is PyTorch's LossMultiMargin.cpp: check, a forward loop over rows, and a
// backward loop that mirrors it (the same z, the same test z > 0).
//
// For row i with true class y and margin Δ, every wrong class j ≠ y has
//   z_j = (s_j − s_y) + Δ                          (in this order of operations: the
//                                                    kernels and the composed op too,
//                                                    so all take the same side of a kink)
//   Weston–Watkins  L_i = Σ_{j≠y} max(0, z_j)^p
//   Crammer–Singer  L_i = max(0, z)^p,  z = (max_{j≠y} s_j − s_y) + Δ
// then L_i · w[y] with weights, and the mean (÷N), the sum, or the rows themselves.
// The gradient, with g_i = dloss/dL_i · w[y] (· 1/N for the mean):
//   Weston–Watkins  ds_j = g_i · slope(z_j) for j ≠ y,   ds_y = −Σ_{j≠y} ds_j
//   Crammer–Singer  dz = g_i · slope(z), split evenly among the wrong classes whose
//                   score equals the maximum (0 to the others),   ds_y = −dz
// where slope(z) = d max(0, z)^p / dz = (p = 1: 1, p = 2: 2z) for z > 0, and 0 for
// z ≤ 0: a term exactly on its kink adds no loss and no gradient.
#include <cstdint>
#include <limits>

#include <tapegrad/losses/check_inputs.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_kernels.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace hinge_impl {

namespace {

// max(0, z)^p
template <class T>
T hinge_term(T z, int p) {
  return z > T(0) ? (p == 1 ? z : z * z) : T(0);
}

// d max(0, z)^p / dz, taken as 0 at the kink z = 0
template <class T>
T hinge_slope(T z, int p) {
  return z > T(0) ? (p == 1 ? T(1) : T(2) * z) : T(0);
}

// max_{j≠y} s_j: −∞ when there is no wrong class (C = 1), so z = −∞ and no loss
template <class T>
T wrong_max(const T* s, std::size_t c, std::size_t y) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t j = 0; j < c; ++j)
    if (j != y && s[j] > m) m = s[j];
  return m;
}

// how many wrong classes j ≠ y have s_j = m
template <class T>
std::size_t wrong_ties(const T* s, std::size_t c, std::size_t y, T m) {
  std::size_t ties = 0;
  for (std::size_t j = 0; j < c; ++j)
    if (j != y && s[j] == m) ++ties;
  return ties;
}

}  // namespace

template <class T>
double reference_forward(const Problem<T>& pr, T* out) {
  double total = 0;
  for (std::size_t i = 0; i < pr.n; ++i) {
    const T* s = pr.s + i * pr.c;  // row i
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    T loss = 0;
    if (pr.kind == HingeKind::weston_watkins) {
      for (std::size_t j = 0; j < pr.c; ++j) {  // L_i = Σ_{j≠y} max(0, z_j)^p
        if (j == y) continue;
        const T z = (s[j] - s[y]) + pr.delta;
        loss += hinge_term(z, pr.p);
      }
    } else {  // L_i = max(0, z)^p, z = (max_{j≠y} s_j − s_y) + Δ
      const T z = (wrong_max(s, pr.c, y) - s[y]) + pr.delta;
      loss = hinge_term(z, pr.p);
    }
    if (pr.w) loss *= pr.w[y];  // · w[y_i]
    if (out) out[i] = loss;
    total += loss;
  }
  return total;
}

template <class T>
void reference_backward(const Problem<T>& pr, const Upstream<T>& u, bool fresh, T* g) {
  for (std::size_t i = 0; i < pr.n; ++i) {
    const T* s = pr.s + i * pr.c;
    T* ds = g + i * pr.c;
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    T gi = u.row(i);            // dloss/dL_i (· 1/N for the mean)
    if (pr.w) gi *= pr.w[y];    // · w[y_i]
    const auto put = [&](std::size_t j, T d) { ds[j] = fresh ? d : ds[j] + d; };
    if (pr.kind == HingeKind::weston_watkins) {
      T sum = 0;  // Σ_{j≠y} ds_j
      for (std::size_t j = 0; j < pr.c; ++j) {  // ds_j = g_i · slope(z_j)
        if (j == y) continue;
        const T z = (s[j] - s[y]) + pr.delta;
        const T d = hinge_slope(z, pr.p) * gi;
        put(j, d);
        sum += d;
      }
      put(y, -sum);  // ds_y = −Σ_{j≠y} ds_j
    } else {
      const T m = wrong_max(s, pr.c, y);
      const T z = (m - s[y]) + pr.delta;
      const T dz = hinge_slope(z, pr.p) * gi;  // dz = g_i · slope(z)
      const std::size_t ties = wrong_ties(s, pr.c, y, m);  // 0 only when C = 1 (then dz = 0)
      const T share = ties > 0 ? dz / static_cast<T>(ties) : T(0);
      for (std::size_t j = 0; j < pr.c; ++j)  // split evenly among the tied maxima
        if (j != y) put(j, s[j] == m ? share : T(0));
      put(y, -dz);  // ds_y = −dz
    }
  }
}

template <class T>
void note_branches(Tape<T>& t, const Problem<T>& pr) {
  for (std::size_t i = 0; i < pr.n; ++i) {
    const T* s = pr.s + i * pr.c;
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    if (pr.kind == HingeKind::weston_watkins) {
      for (std::size_t j = 0; j < pr.c; ++j)
        if (j != y) t.note_branch(((s[j] - s[y]) + pr.delta) > T(0));
    } else {
      const T m = wrong_max(s, pr.c, y);
      for (std::size_t j = 0; j < pr.c; ++j)  // the argmax set, ties included
        if (j != y && s[j] == m) t.note_branch(j);
      t.note_branch(((m - s[y]) + pr.delta) > T(0) ? 1 : 0);
    }
  }
}

#define TAPEGRAD_INSTANTIATE(T)                                                                 \
  template double reference_forward(const Problem<T>&, T*);                                     \
  template void reference_backward(const Problem<T>&, const Upstream<T>&, bool, T*);            \
  template void note_branches(Tape<T>&, const Problem<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace hinge_impl

// The whole op: check, push the backward, forward, save, commit.
template <class T>
Var<T> multiclass_hinge_reference(const Var<T>& scores, const IndexTensor& labels, const HingeOptions& options,
                                  const Tensor<T>* weights) {
  static constexpr const char* kOp = "multiclass_hinge_reference";
  using hinge_impl::Saved;
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  const detail::ClassDims dims = detail::check_hinge_inputs(kOp, s, labels, options, weights);
  const hinge_impl::Problem<T> pr{s.data(),    dims.rows, dims.classes, labels.data(), options.kind,
                                  options.p, static_cast<T>(options.margin), weights ? weights->data() : nullptr};

  Record<T>& r = t.push(kOp, {scores}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* g = t.grad_buffer(r.inputs[0], fresh);
    if (!g) return;
    const Saved<T>& sv = r.template saved<Saved<T>>();
    hinge_impl::reference_backward(hinge_impl::saved_problem(t.value_of(r.inputs[0]), r, sv),
                                   hinge_impl::saved_upstream(r, sv), fresh, g->data());
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    // the same loss in double from the saved options, labels and weights
    const Saved<T>& sv = r.template saved<Saved<T>>();
    const Tensor<double> w = sv.weighted ? detail::replay_tensor(r.buffer(sv.weights)) : Tensor<double>();
    return multiclass_hinge_reference(x[0], r.buffer(sv.labels), hinge_impl::saved_options(sv), sv.weighted ? &w : nullptr);
  });
  T* out = hinge_impl::shape_value(r, options.reduction, dims.rows);
  hinge_impl::reduce(r, options.reduction, hinge_impl::reference_forward(pr, out), dims.rows);
  if (r.requires_grad)
    r.save(Saved<T>{HingeKernel::reference, options.kind, options.p, options.reduction, pr.delta,
                    hinge_impl::upstream_scale<T>(options.reduction, dims.rows), weights != nullptr,
                    r.keep(labels), weights ? r.keep(*weights) : Slot<Tensor<T>>{}, Slot<Words>{}});
  if (t.tracking_branches()) hinge_impl::note_branches(t, pr);
  return t.commit(r);
}

template Var<float> multiclass_hinge_reference(const Var<float>&, const IndexTensor&, const HingeOptions&,
                                               const Tensor<float>*);
template Var<double> multiclass_hinge_reference(const Var<double>&, const IndexTensor&, const HingeOptions&,
                                                const Tensor<double>*);

}  // namespace tapegrad
