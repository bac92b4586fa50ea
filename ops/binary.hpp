#pragma once
// Internal to ops/: what every binary op with NumPy broadcasting shares — the
// check before push, and the one path of a gradient into a possibly broadcast
// input (summed over the stretched axes by the tape's unbroadcast).
#include <xtensor/xnoalias.hpp>

#include <tapegrad/core/broadcast.hpp>
#include <tapegrad/core/tape.hpp>

namespace tapegrad::detail {

// The tape of a binary op after checking, before anything is pushed, that both
// Vars are live on it and that NumPy would broadcast their shapes (equal shapes,
// the hot path, cost nothing). Every error names `op`.
template <class T>
Tape<T>& binary_tape(const char* op, const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape(op);
  t.check(a, op);
  t.check(b, op);
  const Tensor<T>& x = t.value_of(a.id());
  const Tensor<T>& y = t.value_of(b.id());
  check_broadcastable(op, x.shape(), y.shape());
  return t;
}

// Adds e, an expression of the output's shape, into input k's gradient; when
// that input was broadcast, e is evaluated into the record's scratch buffer and
// summed down to the input's shape.
template <class T, class E>
void add_grad(Tape<T>& t, Record<T>& r, int k, const E& e) {
  const std::uint32_t id = r.inputs[k];
  if (!t.needs_grad(id)) return;
  if (t.value_of(id).shape() == r.value.shape()) {
    t.accumulate(id, e);
  } else {
    xt::noalias(r.scratch) = e;  // reuses the buffer; a plain `=` allocates a temporary
    t.accumulate_unbroadcast(id, r.scratch);
  }
}

template <class T>
inline const Tensor<T>& in(Tape<T>& t, const Record<T>& r, int k) {
  return t.value_of(r.inputs[k]);
}

}  // namespace tapegrad::detail
