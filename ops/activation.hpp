#pragma once
// Elementwise activations. Subgradients at kinks (docs/design.md, conventions):
// relu'(0) = 0; leaky_relu'(0) = slope (the negative side's, as PyTorch).
#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// max(0, x), with relu'(0) = 0: a zero input passes no gradient.
template <class T> Var<T> relu(const Var<T>& x);
// x for x > 0, slope·x otherwise; an Error for a non-finite slope.
template <class T> Var<T> leaky_relu(const Var<T>& x, T slope = T(0.01));
// tanh(x); d tanh = 1 − tanh².
template <class T> Var<T> tanh(const Var<T>& x);
// 1 / (1 + exp(−x)), computed without overflow for any finite x; dσ = σ·(1 − σ).
template <class T> Var<T> sigmoid(const Var<T>& x);
// exp(x − m) / Σ exp(x − m) along an axis (m the slice's maximum: stable at ±1e4);
// backward dx = y·(g − Σ g·y).
template <class T> Var<T> softmax(const Var<T>& x, std::ptrdiff_t axis);
// x − logsumexp(x) along an axis; backward dx = g − softmax(x)·Σ g.
template <class T> Var<T> log_softmax(const Var<T>& x, std::ptrdiff_t axis);

}  // namespace tapegrad
