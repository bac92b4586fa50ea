// logsumexp, softmax and log_softmax along one axis: the three share the shifted
// exponentials exp(x − m), m the slice's maximum, so every exponent is ≤ 0 and
// the sum is ≥ 1 — nothing overflows, and log never sees 0 (finite at ±1e4).
#include <algorithm>
#include <cmath>
#include <limits>

#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace {

using detail::AxisLayout;

struct AxisSaved {
  AxisLayout layout;
};

// Calls f(base) for each slice along the axis; its elements sit at base + a·inner.
template <class F>
void for_each_slice(const AxisLayout& l, F&& f) {
  for (std::size_t o = 0; o < l.outer; ++o)
    for (std::size_t i = 0; i < l.inner; ++i) f(o * l.len * l.inner + i);
}

// The shift of a slice: its maximum, or 0 when that is ±∞ (all −∞, or a +∞:
// x − m would be NaN), as PyTorch's logsumexp does.
template <class T>
T shift_of(const T* x, const AxisLayout& l) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t a = 0; a < l.len; ++a) m = std::max(m, x[a * l.inner]);
  return std::isinf(m) ? T(0) : m;
}

// For each slice: lse = m + log Σ_a exp(x − m), into lse[o·inner + i] (the slice's
// base without its axis part: base / (len·inner)·inner + base % inner).
template <class T>
void slice_lse(const T* x, const AxisLayout& l, T* lse) {
  std::size_t s = 0;
  for_each_slice(l, [&](std::size_t b) {
    const T m = shift_of(x + b, l);
    T z = 0;
    for (std::size_t a = 0; a < l.len; ++a) z += std::exp(x[b + a * l.inner] - m);
    lse[s++] = m + std::log(z);  // an empty slice: log 0 = −∞
  });
}

// softmax (Log = false) or log_softmax of every slice, into y.
template <bool Log, class T>
void softmax_forward(const T* x, const AxisLayout& l, T* y) {
  for_each_slice(l, [&](std::size_t b) {
    const T m = shift_of(x + b, l);
    T z = 0;
    for (std::size_t a = 0; a < l.len; ++a) {
      const T e = std::exp(x[b + a * l.inner] - m);
      if (!Log) y[b + a * l.inner] = e;
      z += e;
    }
    // log_softmax: (x − m) − log z, so no large m is added back and subtracted again
    const T lz = Log ? std::log(z) : T(0);
    for (std::size_t a = 0; a < l.len; ++a) {
      const std::size_t k = b + a * l.inner;
      y[k] = Log ? (x[k] - m) - lz : y[k] / z;
    }
  });
}

// softmax: dx = y·(g − Σ_a g·y); log_softmax: dx = g − exp(y)·Σ_a g; y the op's value.
template <bool Log, class T>
void softmax_backward(const T* y, const T* g, const AxisLayout& l, bool fresh, T* d) {
  for_each_slice(l, [&](std::size_t b) {
    T s = 0;
    for (std::size_t a = 0; a < l.len; ++a) s += Log ? g[b + a * l.inner] : g[b + a * l.inner] * y[b + a * l.inner];
    for (std::size_t a = 0; a < l.len; ++a) {
      const std::size_t k = b + a * l.inner;
      const T v = Log ? g[k] - std::exp(y[k]) * s : y[k] * (g[k] - s);
      d[k] = fresh ? v : d[k] + v;
    }
  });
}

template <class T>
std::pair<Tape<T>&, AxisLayout> axis_op(const char* op, const Var<T>& x, std::ptrdiff_t axis, std::size_t& ax) {
  Tape<T>& t = x.tape(op);
  t.check(x, op);
  const auto& shape = t.value_of(x.id()).shape();
  ax = detail::normalise_axis(op, axis, shape);
  return {t, detail::axis_layout(shape, ax)};
}

}  // namespace

template <class T>
Var<T> logsumexp(const Var<T>& x, std::ptrdiff_t axis, bool keepdims) {
  std::size_t ax = 0;
  auto [t, l] = axis_op("logsumexp", x, axis, ax);
  const Tensor<T>& X = t.value_of(x.id());
  // dx[o, a, i] = g[o, i]·exp(x[o, a, i] − lse[o, i]) = g·softmax(x)
  Record<T>& r = t.push("logsumexp", {x}, [](Tape<T>& t, Record<T>& r) {
    const AxisLayout l = r.template saved<AxisSaved>().layout;
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    const T* p = t.value_of(r.inputs[0]).data();
    const T *lse = r.value.data(), *g = r.grad.data();
    T* d = dx->data();
    for (std::size_t o = 0; o < l.outer; ++o)
      for (std::size_t a = 0; a < l.len; ++a)
        for (std::size_t i = 0; i < l.inner; ++i) {
          const std::size_t k = (o * l.len + a) * l.inner + i, s = o * l.inner + i;
          // a slice of all −∞ has lse = −∞ and passes no gradient (not NaN)
          const T v = std::isinf(lse[s]) && lse[s] < 0 ? T(0) : g[s] * std::exp(p[k] - lse[s]);
          d[k] = fresh ? v : d[k] + v;
        }
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const AxisLayout l = r.template saved<AxisSaved>().layout;  // along axis 1 of the view
    return detail::replay_reshape(logsumexp(detail::replay_view(x[0], l.outer, l.len, l.inner), 1), r.value.shape());
  });
  typename Tensor<T>::shape_type shape;
  detail::reduced_shape(shape, X.shape(), ax, keepdims);
  r.value.resize(shape);
  slice_lse(X.data(), l, r.value.data());
  r.save(AxisSaved{l});
  return t.commit(r);
}

namespace {

// softmax (Log = false) or log_softmax along an axis; the backward formulas are
// softmax_backward's.
template <bool Log, class T>
Var<T> axis_softmax(const char* op, const Var<T>& x, std::ptrdiff_t axis) {
  std::size_t ax = 0;
  auto [t, l] = axis_op(op, x, axis, ax);
  const Tensor<T>& X = t.value_of(x.id());
  Record<T>& r = t.push(op, {x}, [](Tape<T>& t, Record<T>& r) {
    const AxisLayout l = r.template saved<AxisSaved>().layout;
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    softmax_backward<Log>(r.value.data(), r.grad.data(), l, fresh, dx->data());
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const AxisLayout l = r.template saved<AxisSaved>().layout;  // along axis 1 of the view
    const Var<double> v = detail::replay_view(x[0], l.outer, l.len, l.inner);
    return detail::replay_reshape(Log ? log_softmax(v, 1) : softmax(v, 1), r.value.shape());
  });
  r.value.resize(X.shape());
  softmax_forward<Log>(X.data(), l, r.value.data());
  r.save(AxisSaved{l});
  return t.commit(r);
}

}  // namespace

template <class T>
Var<T> softmax(const Var<T>& x, std::ptrdiff_t axis) {
  return axis_softmax<false>("softmax", x, axis);  // dx = y·(g − Σ g·y)
}

template <class T>
Var<T> log_softmax(const Var<T>& x, std::ptrdiff_t axis) {
  return axis_softmax<true>("log_softmax", x, axis);  // dx = g − softmax(x)·Σ g
}

#define TAPEGRAD_INSTANTIATE(T)                                      \
  template Var<T> logsumexp(const Var<T>&, std::ptrdiff_t, bool);    \
  template Var<T> softmax(const Var<T>&, std::ptrdiff_t);            \
  template Var<T> log_softmax(const Var<T>&, std::ptrdiff_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
