#pragma once
// Internal to ops/: a tensor seen along one axis as outer × len × inner over
// contiguous row-major data. Element (o, a, i) sits at (o·len + a)·inner + i; a
// reduction over the axis writes output element o·inner + i. Over all elements
// the layout is 1 × size × 1.
#include <cstddef>
#include <string>

#include <tapegrad/core/error.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tapegrad::detail {

struct AxisLayout {
  std::size_t outer = 1, len = 1, inner = 1;
};

// The axis a possibly negative `axis` names in a tensor of rank `rank` (an Error
// naming `op` and the shape when it is out of range).
template <class S>
std::size_t normalise_axis(const char* op, std::ptrdiff_t axis, const S& shape) {
  const auto rank = static_cast<std::ptrdiff_t>(shape.size());
  if (axis < -rank || axis >= rank) fail(op, ": axis ", axis, " is out of range for shape ", shape_str(shape));
  return static_cast<std::size_t>(axis < 0 ? axis + rank : axis);
}

template <class S>
AxisLayout axis_layout(const S& shape, std::size_t ax) {
  AxisLayout l;
  for (std::size_t k = 0; k < ax; ++k) l.outer *= shape[k];
  l.len = shape[ax];
  for (std::size_t k = ax + 1; k < shape.size(); ++k) l.inner *= shape[k];
  return l;
}

// The shape of a reduction of `shape` over axis ax: the axis dropped, or kept as 1.
template <class Out, class S>
void reduced_shape(Out& out, const S& shape, std::size_t ax, bool keepdims) {
  out.resize(0);
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (k != ax)
      out.push_back(shape[k]);
    else if (keepdims)
      out.push_back(1);
  }
}

}  // namespace tapegrad::detail
