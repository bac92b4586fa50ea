#pragma once
#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// Same elements in row-major order, new shape; one extent may be -1 (inferred).
template <class T> Var<T> reshape(const Var<T>& x, const std::vector<std::ptrdiff_t>& shape);
// Reverses the axes (a matrix transpose for 2-D).
template <class T> Var<T> transpose(const Var<T>& x);
// Permutes the axes: out axis k is x's axis perm[k].
template <class T> Var<T> transpose(const Var<T>& x, const std::vector<std::size_t>& perm);

}  // namespace tapegrad
