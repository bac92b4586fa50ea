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
