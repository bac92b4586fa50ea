#pragma once
// Reductions over all elements (a scalar of shape ()) or over one axis, with or
// without keepdims. A negative axis counts from the end.
#include <tapegrad/core/tape.hpp>

namespace tapegrad {

template <class T> Var<T> sum(const Var<T>& x);
template <class T> Var<T> sum(const Var<T>& x, std::ptrdiff_t axis, bool keepdims = false);
template <class T> Var<T> mean(const Var<T>& x);
template <class T> Var<T> mean(const Var<T>& x, std::ptrdiff_t axis, bool keepdims = false);
// The mean over zero elements is NaN (0/0, as NumPy), not an Error.
//
// Ties split the gradient evenly among the tied maxima (as tf.reduce_max and
// torch.amax). The max of zero elements is an Error. max propagates NaN (as
// NumPy's max): a slice holding a NaN has maximum NaN, and a NaN maximum takes
// the gradient (split evenly among the slice's NaNs, as among tied maxima).
template <class T> Var<T> max(const Var<T>& x);
template <class T> Var<T> max(const Var<T>& x, std::ptrdiff_t axis, bool keepdims = false);
// The same rules for the minimum: ties split evenly, NaN propagates, empty is an Error.
template <class T> Var<T> min(const Var<T>& x);
template <class T> Var<T> min(const Var<T>& x, std::ptrdiff_t axis, bool keepdims = false);

// log Σ exp(x) over one axis, computed as m + log Σ exp(x − m) with m the slice's
// maximum, so it is finite for scores of ±1e4 (in float); d/dx = softmax(x). A
// slice of all −∞ gives −∞ (and no NaN), an empty slice −∞ (as PyTorch).
template <class T> Var<T> logsumexp(const Var<T>& x, std::ptrdiff_t axis, bool keepdims = false);

}  // namespace tapegrad
