#pragma once
// Matrix product of 2-D operands through BLAS gemm with transpose flags: neither
// forward nor backward materialises a transpose.
#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// C = A·B for A (m×k) and B (k×n).
template <class T> Var<T> matmul(const Var<T>& a, const Var<T>& b);

}  // namespace tapegrad
