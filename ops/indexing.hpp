#pragma once
// gather with take_along_axis / torch.gather semantics, and constants built from
// labels: one_hot and 0-1 masks.
#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// out[i][j][k] = x[index[i][j][k]][j][k] for axis 0 (likewise for other axes).
// index has x's rank; along every axis but `axis` its extent must equal x's (no
// torch-style smaller extents, no NumPy broadcasting). A negative axis counts
// from the end; a negative index is an Error (no wrap-around), as is one at or
// past x's extent along `axis`. Backward scatter-adds, so repeated indices
// accumulate.
template <class T> Var<T> gather(const Var<T>& x, std::ptrdiff_t axis, const IndexTensor& index);

// A constant (N × num_classes) with 1 at [i, labels[i]] and 0 elsewhere.
template <class T> Var<T> one_hot(Tape<T>& tape, const IndexTensor& labels, std::size_t num_classes);

// A constant of 1 where mask is true and 0 elsewhere.
template <class T> Var<T> mask(Tape<T>& tape, const xt::xarray<bool>& m);

}  // namespace tapegrad
