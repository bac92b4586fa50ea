#pragma once
// What the fused multiclass hinge's kernels share (internal to losses/): the problem
// every kernel's forward reads, the upstream gradient its backward reads, and the
// record's saved state. The reference loops (losses/hinge_reference.cpp) and each
// fast kernel (losses/hinge_rows.hpp, losses/hinge_avx512.hpp) take these structs,
// and losses/hinge_fused.cpp calls the kernel hinge_kernel_for names.
#include <array>
#include <cstddef>
#include <cstdint>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/losses/hinge.hpp>

namespace tapegrad::hinge_impl {

// Row-major N×C scores, their N labels, and the options the loss depends on.
template <class T>
struct Problem {
  const T* s;
  std::size_t n, c;
  const std::int64_t* y;
  HingeKind kind;
  int p;
  T delta;     // the margin Δ
  const T* w;  // per-class weights, or nullptr
};

// What a backward reads beyond the problem: row i's upstream gradient is
// up[per_row ? i : 0] · scale (scale = 1/N for a mean, else 1), times w[y_i].
template <class T>
struct Upstream {
  const T* up;
  bool per_row;
  T scale;
  T row(std::size_t i) const { return (per_row ? up[i] : up[0]) * scale; }
};

// multiclass_hinge's (and multiclass_hinge_reference's) saved state: the kernel the
// forward ran, so the backward runs its mirror without re-deriving it, and copies of
// the labels and weights (the caller's may change after the call). `bits` holds what
// the kernel's forward saved for its backward (ww_bits_avx512: violation bits;
// cs_argmax: each row's first maximum and tie count), unclaimed for other kernels.
template <class T>
struct Saved {
  HingeKernel kernel;
  HingeKind kind;
  int p;
  Reduction reduction;
  T delta, scale;
  bool weighted;
  Slot<IndexTensor> labels;
  Slot<Tensor<T>> weights;
  Slot<Words> bits;
};

// The problem and upstream gradient a backward sees: the scores' value on the tape,
// and what forward saved.
template <class T>
Problem<T> saved_problem(const Tensor<T>& s, const Record<T>& r, const Saved<T>& sv) {
  const IndexTensor& y = r.buffer(sv.labels);
  return {s.data(), s.shape()[0], s.shape()[1], y.data(), sv.kind, sv.p, sv.delta,
          sv.weighted ? r.buffer(sv.weights).data() : nullptr};
}
template <class T>
Upstream<T> saved_upstream(const Record<T>& r, const Saved<T>& sv) {
  return {r.grad.data(), sv.reduction == Reduction::none, sv.scale};
}

// The options a record was made with (kind, p, margin, reduction), for its replay;
// the forced kernel is not among them, since any kernel computes the same loss.
template <class T>
HingeOptions saved_options(const Saved<T>& sv) {
  HingeOptions o;
  o.kind = sv.kind;
  o.p = sv.p;
  o.margin = static_cast<double>(sv.delta);
  o.reduction = sv.reduction;
  return o;
}

// The op's value: (N) for Reduction::none (returns where the row losses go), else a
// scalar (returns nullptr); reduce() then stores Σ or Σ/N into the scalar.
template <class T>
T* shape_value(Record<T>& r, Reduction reduction, std::size_t n) {
  if (reduction == Reduction::none) {
    r.value.resize(std::array<std::size_t, 1>{n});  // keeps the buffer when the size is unchanged
    return r.value.data();
  }
  r.value.resize(std::array<std::size_t, 0>{});
  return nullptr;
}
template <class T>
void reduce(Record<T>& r, Reduction reduction, double total, std::size_t n) {
  if (reduction == Reduction::sum) *r.value.data() = static_cast<T>(total);
  if (reduction == Reduction::mean) *r.value.data() = static_cast<T>(total / static_cast<double>(n));
}
// What multiplies each row's upstream gradient: 1/N for a mean (also with weights), else 1.
template <class T>
T upstream_scale(Reduction reduction, std::size_t n) {
  return static_cast<T>(reduction == Reduction::mean ? 1.0 / static_cast<double>(n) : 1.0);
}

// ---- the reference loops (losses/hinge_reference.cpp) ----------------------------
// Row losses L_i · w[y_i] into out (when not null); returns Σ_i of them.
template <class T>
double reference_forward(const Problem<T>& pr, T* out);
// ds for every score, written (fresh) or added into g.
template <class T>
void reference_backward(const Problem<T>& pr, const Upstream<T>& u, bool fresh, T* g);
// Which side of each kink every score takes (for gradcheck's branch tracking).
template <class T>
void note_branches(Tape<T>& t, const Problem<T>& pr);

// ww_bits_avx512's words of violation bits per row: row i's bits start at word i·W,
// bit j of the row is bit j % 64 of word j / 64 (each 16-column chunk is one field).
inline std::size_t mask_words(std::size_t c) { return (c + 63) / 64; }

// ---- dispatch (losses/hinge_dispatch.cpp) -----------------------------------------
// Whether the kernel's forward saves words (Saved::bits) for its backward.
inline bool saves_bits(HingeKernel kernel) {
  return kernel == HingeKernel::ww_bits_avx512 || kernel == HingeKernel::cs_argmax;
}
// Words of `bits` the kernel's forward writes for N rows of C classes (0: none).
std::size_t saved_words(HingeKernel kernel, std::size_t n, std::size_t c);
// Whether the kernel's forward checks labels and finiteness in its own pass (and
// returns false on bad input); the reference kernel does not, so the op checks first.
inline bool checks_in_forward(HingeKernel kernel) { return kernel != HingeKernel::reference; }

}  // namespace tapegrad::hinge_impl
