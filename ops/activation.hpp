#pragma once
#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// max(0, x), with relu'(0) = 0: a zero input passes no gradient.
template <class T> Var<T> relu(const Var<T>& x);

}  // namespace tapegrad
