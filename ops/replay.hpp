#pragma once
// Internal to ops/ and losses/: what the replays (Record::ReplayFn, the op again in
// double for the audit of a training step, core/audit.hpp) share. An op that saw its
// input as outer × len × inner along some axis (ops/layout.hpp) replays on that view
// along axis 1 and reshapes to its record's output: the same elements in the same
// order, whichever axis (and keepdims) the caller named, so the record need not save
// them.
#include <algorithm>
#include <cstddef>
#include <vector>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad::detail {

// x viewed as (outer, len, inner).
inline Var<double> replay_view(const Var<double>& x, std::size_t outer, std::size_t len, std::size_t inner) {
  return reshape(x, {static_cast<std::ptrdiff_t>(outer), static_cast<std::ptrdiff_t>(len),
                     static_cast<std::ptrdiff_t>(inner)});
}

// y reshaped to `shape` (the record's value's).
template <class S>
Var<double> replay_reshape(const Var<double>& y, const S& shape) {
  std::vector<std::ptrdiff_t> to(shape.size());
  std::transform(shape.begin(), shape.end(), to.begin(), [](std::size_t d) { return static_cast<std::ptrdiff_t>(d); });
  return reshape(y, to);
}

// A record's tensor (a dropout mask, class weights) in double.
template <class T>
Tensor<double> replay_tensor(const Tensor<T>& v) {
  Tensor<double> d = Tensor<double>::from_shape(v.shape());
  std::copy(v.begin(), v.end(), d.begin());
  return d;
}

}  // namespace tapegrad::detail
