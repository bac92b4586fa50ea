#pragma once
// Elementwise ops with NumPy broadcasting. Each backward sums its gradient over
// broadcast axes through the tape's one unbroadcast helper.
#include <tapegrad/core/tape.hpp>

namespace tapegrad {

template <class T> Var<T> add(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> sub(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> mul(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> div(const Var<T>& a, const Var<T>& b);

// Scalar forms: a + s, a · s, a / s (a true division, as NumPy's, not a
// multiplication by 1/s), s − a (rsub), s / a (rdiv).
template <class T> Var<T> add_scalar(const Var<T>& a, T s);
template <class T> Var<T> mul_scalar(const Var<T>& a, T s);
template <class T> Var<T> div_scalar(const Var<T>& a, T s);
template <class T> Var<T> rsub_scalar(T s, const Var<T>& a);
template <class T> Var<T> rdiv_scalar(T s, const Var<T>& a);

template <class T> Var<T> neg(const Var<T>& a);
template <class T> Var<T> exp(const Var<T>& a);
template <class T> Var<T> log(const Var<T>& a);
template <class T> Var<T> square(const Var<T>& a);

// ops/elementwise_unary.cpp. Subgradients (docs/design.md, conventions):
// abs'(0) = 0; clamp passes the gradient where lo ≤ x ≤ hi, bounds included (as
// PyTorch); sqrt'(0) = +∞ and sqrt of a negative is NaN (as NumPy); pow(x, 0) has
// gradient 0 everywhere.
template <class T> Var<T> abs(const Var<T>& a);
template <class T> Var<T> sqrt(const Var<T>& a);
// a^p for a scalar exponent p; d = g·p·a^(p−1).
template <class T> Var<T> pow(const Var<T>& a, T p);
// min(max(a, lo), hi); lo or hi may be ±∞ (one-sided), a NaN bound is an Error.
// With lo > hi every element is hi and no gradient passes (as PyTorch).
template <class T> Var<T> clamp(const Var<T>& a, T lo, T hi);

// ops/elementwise_select.cpp, with broadcasting. maximum/minimum: a tie sends
// half the gradient to each side (as PyTorch), and a NaN propagates.
template <class T> Var<T> maximum(const Var<T>& a, const Var<T>& b);
template <class T> Var<T> minimum(const Var<T>& a, const Var<T>& b);
// condition ? a : b elementwise, with condition, a and b broadcast together. The
// condition is a constant Var (e.g. mask(tape, bools)); nonzero means true, and it
// must not depend on a watched parameter (an Error). da = where(c, g, 0),
// db = where(c, 0, g), each summed to its input's shape. (A Var rather than an
// xt::xarray<bool>, so that argument-dependent lookup cannot pick xt::where.)
template <class T> Var<T> where(const Var<T>& condition, const Var<T>& a, const Var<T>& b);

// Operators. The scalar's type is not deduced, so `x * 2.0` works on Var<float>.
template <class T> using Scalar = typename Var<T>::value_type;

template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator-(const Var<T>& a) { return neg(a); }

template <class T> Var<T> operator+(const Var<T>& a, Scalar<T> s) { return add_scalar(a, s); }
template <class T> Var<T> operator+(Scalar<T> s, const Var<T>& a) { return add_scalar(a, s); }
template <class T> Var<T> operator-(const Var<T>& a, Scalar<T> s) { return add_scalar(a, -s); }
template <class T> Var<T> operator-(Scalar<T> s, const Var<T>& a) { return rsub_scalar(s, a); }
template <class T> Var<T> operator*(const Var<T>& a, Scalar<T> s) { return mul_scalar(a, s); }
template <class T> Var<T> operator*(Scalar<T> s, const Var<T>& a) { return mul_scalar(a, s); }
template <class T> Var<T> operator/(const Var<T>& a, Scalar<T> s) { return div_scalar(a, s); }
template <class T> Var<T> operator/(Scalar<T> s, const Var<T>& a) { return rdiv_scalar(s, a); }

}  // namespace tapegrad
