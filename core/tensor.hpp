#pragma once
// The value type of tapegrad: a row-major xtensor array, plus the index type used
// by gather and the losses, and a shape printer for error messages.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

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

}  // namespace tapegrad
