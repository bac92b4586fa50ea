#pragma once
#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// Same elements in row-major order, new shape; one extent may be -1 (inferred).
template <class T> Var<T> reshape(const Var<T>& x, const std::vector<std::ptrdiff_t>& shape);
// Reverses the axes (a matrix transpose for 2-D).
template <class T> Var<T> transpose(const Var<T>& x);
// Permutes the axes: out axis k is x's axis perm[k].
template <class T> Var<T> transpose(const Var<T>& x, const std::vector<std::size_t>& perm);
// Axes start_axis.. merged into one (torch.flatten(x, start_dim)); a scalar gives (1).
template <class T> Var<T> flatten(const Var<T>& x, std::ptrdiff_t start_axis = 0);
// A new axis of extent 1 at `axis`, in [-rank - 1, rank].
template <class T> Var<T> unsqueeze(const Var<T>& x, std::ptrdiff_t axis);
// Every axis of extent 1 removed; or only `axis`, which must have extent 1 (an
// Error otherwise, as NumPy; torch.squeeze would silently do nothing).
template <class T> Var<T> squeeze(const Var<T>& x);
template <class T> Var<T> squeeze(const Var<T>& x, std::ptrdiff_t axis);
// x repeated along axes of extent 1 and new leading axes (NumPy's rule, as
// np.broadcast_to); backward sums the gradient back over them.
template <class T> Var<T> broadcast_to(const Var<T>& x, const Shape& shape);

// ops/shape_join.cpp.
// The Vars joined along `axis` (same rank, same extents elsewhere; at least one).
template <class T> Var<T> concat(const std::vector<Var<T>>& xs, std::ptrdiff_t axis);
// Elements [start, stop) along `axis`, with NumPy's slice rules: negative indices
// count from the end, and both are clamped to [0, extent] (an empty result is fine).
template <class T> Var<T> slice(const Var<T>& x, std::ptrdiff_t axis, std::ptrdiff_t start, std::ptrdiff_t stop);

}  // namespace tapegrad
