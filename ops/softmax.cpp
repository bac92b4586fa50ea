// logsumexp, softmax and log_softmax along one axis: the three share the shifted
// exponentials exp(x − m), m the slice's maximum, so every exponent is ≤ 0 and
// the sum is ≥ 1 — nothing overflows, and log never sees 0 (finite at ±1e4).
#include <algorithm>
#include <cmath>
#include <limits>

#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/reduce.hpp>

namespace tapegrad {

namespace {

using detail::AxisLayout;

struct AxisSaved {
  AxisLayout layout;
};

// The shift of a slice: its maximum, or 0 when that is ±∞ (all −∞, or a +∞:
// x − m would be NaN), as PyTorch's logsumexp does.
template <class T>
T shift_of(const T* x, const AxisLayout& l, std::size_t o, std::size_t i) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t a = 0; a < l.len; ++a) m = std::max(m, x[(o * l.len + a) * l.inner + i]);
  return std::isinf(m) ? T(0) : m;
}

// For each slice (o, i): lse = m + log Σ_a exp(x − m) into lse[o·inner + i].
template <class T>
void slice_lse(const T* x, const AxisLayout& l, T* lse) {
  for (std::size_t o = 0; o < l.outer; ++o)
    for (std::size_t i = 0; i < l.inner; ++i) {
      const T m = shift_of(x, l, o, i);
      T z = 0;
      for (std::size_t a = 0; a < l.len; ++a) z += std::exp(x[(o * l.len + a) * l.inner + i] - m);
      lse[o * l.inner + i] = m + std::log(z);  // an empty slice: log 0 = −∞
    }
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
  });
  typename Tensor<T>::shape_type shape;
  detail::reduced_shape(shape, X.shape(), ax, keepdims);
  r.value.resize(shape);
  slice_lse(X.data(), l, r.value.data());
  r.save(AxisSaved{l});
  return t.commit(r);
}

template <class T>
Var<T> softmax(const Var<T>& x, std::ptrdiff_t axis) {
  std::size_t ax = 0;
  auto [t, l] = axis_op("softmax", x, axis, ax);
  const Tensor<T>& X = t.value_of(x.id());
  // dx = y·(g − Σ_a g·y) along the axis, y being this record's value
  Record<T>& r = t.push("softmax", {x}, [](Tape<T>& t, Record<T>& r) {
    const AxisLayout l = r.template saved<AxisSaved>().layout;
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    const T *y = r.value.data(), *g = r.grad.data();
    T* d = dx->data();
    for (std::size_t o = 0; o < l.outer; ++o)
      for (std::size_t i = 0; i < l.inner; ++i) {
        T dot = 0;
        for (std::size_t a = 0; a < l.len; ++a) dot += g[(o * l.len + a) * l.inner + i] * y[(o * l.len + a) * l.inner + i];
        for (std::size_t a = 0; a < l.len; ++a) {
          const std::size_t k = (o * l.len + a) * l.inner + i;
          const T v = y[k] * (g[k] - dot);
          d[k] = fresh ? v : d[k] + v;
        }
      }
  });
  r.value.resize(X.shape());
  const T* p = X.data();
  T* y = r.value.data();
  for (std::size_t o = 0; o < l.outer; ++o)
    for (std::size_t i = 0; i < l.inner; ++i) {
      const T m = shift_of(p, l, o, i);
      T z = 0;
      for (std::size_t a = 0; a < l.len; ++a) {
        const std::size_t k = (o * l.len + a) * l.inner + i;
        y[k] = std::exp(p[k] - m);
        z += y[k];
      }
      for (std::size_t a = 0; a < l.len; ++a) y[(o * l.len + a) * l.inner + i] /= z;
    }
  r.save(AxisSaved{l});
  return t.commit(r);
}

template <class T>
Var<T> log_softmax(const Var<T>& x, std::ptrdiff_t axis) {
  std::size_t ax = 0;
  auto [t, l] = axis_op("log_softmax", x, axis, ax);
  const Tensor<T>& X = t.value_of(x.id());
  // dx = g − exp(y)·Σ_a g along the axis, y = log_softmax(x) being this record's value
  Record<T>& r = t.push("log_softmax", {x}, [](Tape<T>& t, Record<T>& r) {
    const AxisLayout l = r.template saved<AxisSaved>().layout;
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    const T *y = r.value.data(), *g = r.grad.data();
    T* d = dx->data();
    for (std::size_t o = 0; o < l.outer; ++o)
      for (std::size_t i = 0; i < l.inner; ++i) {
        T gsum = 0;
        for (std::size_t a = 0; a < l.len; ++a) gsum += g[(o * l.len + a) * l.inner + i];
        for (std::size_t a = 0; a < l.len; ++a) {
          const std::size_t k = (o * l.len + a) * l.inner + i;
          const T v = g[k] - std::exp(y[k]) * gsum;
          d[k] = fresh ? v : d[k] + v;
        }
      }
  });
  r.value.resize(X.shape());
  const T* p = X.data();
  T* y = r.value.data();
  for (std::size_t o = 0; o < l.outer; ++o)
    for (std::size_t i = 0; i < l.inner; ++i) {
      const T m = shift_of(p, l, o, i);
      T z = 0;
      for (std::size_t a = 0; a < l.len; ++a) z += std::exp(p[(o * l.len + a) * l.inner + i] - m);
      const T lz = std::log(z);
      // (x − m) − log z: no large m is added back and subtracted again
      for (std::size_t a = 0; a < l.len; ++a) {
        const std::size_t k = (o * l.len + a) * l.inner + i;
        y[k] = (p[k] - m) - lz;
      }
    }
  r.save(AxisSaved{l});
  return t.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)                                      \
  template Var<T> logsumexp(const Var<T>&, std::ptrdiff_t, bool);    \
  template Var<T> softmax(const Var<T>&, std::ptrdiff_t);            \
  template Var<T> log_softmax(const Var<T>&, std::ptrdiff_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
