#pragma once
// The value type of tapegrad: a row-major xtensor array, plus the index type used
// by gather and the losses, and a shape printer for error messages.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <tapegrad/core/error.hpp>

namespace tapegrad {

template <class T>
using Tensor = xt::xarray<T>;

using IndexTensor = xt::xarray<std::int64_t>;
using Shape = std::vector<std::size_t>;

// "(64, 784)"; a scalar (rank 0) prints as "()".
template <class S>
std::string shape_str(const S& shape) {
  std::string s = "(";
  bool first = true;
  for (auto d : shape) {
    if (!first) s += ", ";
    s += std::to_string(d);
    first = false;
  }
  return s + ")";
}

template <class S>
Shape to_shape(const S& shape) {
  return Shape(shape.begin(), shape.end());
}

// The most elements a tensor may have: 2^60 − 1, so that its bytes (at most 8 per
// element) fit in a ptrdiff_t. The allocator multiplies without checking, so a
// larger count would wrap to a short buffer instead of failing to allocate.
constexpr std::size_t kMaxElements = (std::size_t(1) << 60) - 1;

// The number of elements of `shape`, or an Error naming `op` when the product of
// its non-zero extents does not fit in size_t (as NumPy's "array is too big") or,
// for a non-empty shape, exceeds kMaxElements: a wrapped size would let a later
// loop run past the buffer.
template <class S>
std::size_t checked_size(const char* op, const S& shape) {
  std::size_t n = 1;
  bool zero = false;
  for (auto d : shape) {
    const std::size_t e = static_cast<std::size_t>(d);
    if (e == 0) {
      zero = true;
      continue;
    }
    if (n > static_cast<std::size_t>(-1) / e)
      fail(op, ": shape ", shape_str(shape), " has more elements than fit in size_t");
    n *= e;
  }
  if (!zero && n > kMaxElements)
    fail(op, ": shape ", shape_str(shape), " has ", n, " elements, more than memory can hold (2^60 or more)");
  return zero ? 0 : n;
}

}  // namespace tapegrad
