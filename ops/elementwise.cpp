#include "ops/elementwise.hpp"

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "core/broadcast.hpp"

namespace tapegrad {

namespace {

// Rejects what NumPy would not broadcast; equal shapes (the hot path) cost nothing.
template <class T>
void check_broadcast(const char* op, const Tensor<T>& a, const Tensor<T>& b) {
  if (a.shape() != b.shape()) broadcast_shape(op, to_shape(a.shape()), to_shape(b.shape()));
}

// Adds e, an expression of the output's shape, into input k's gradient; when
// that input was broadcast, e is evaluated into the record's scratch buffer and
// summed down to the input's shape.
template <class T, class E>
void add_grad(Tape<T>& t, Record<T>& r, int k, const E& e) {
  const std::uint32_t id = r.inputs[k];
  if (!t.needs_grad(id)) return;
  if (t.value_of(id).shape() == r.value.shape()) {
    t.accumulate(id, e);
  } else {
    r.aux = e;
    t.accumulate_unbroadcast(id, r.aux);
  }
}

template <class T>
const Tensor<T>& in(Tape<T>& t, const Record<T>& r, int k) {
  return t.value_of(r.inputs[k]);
}

}  // namespace

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape();
  // dA = unbroadcast(g), dB = unbroadcast(g)
  Record<T>& r = t.push("add", {a, b}, [](Tape<T>& t, Record<T>& r) {
    add_grad(t, r, 0, r.grad);
    add_grad(t, r, 1, r.grad);
  });
  check_broadcast("add", t.value(a), t.value(b));
  r.value = t.value(a) + t.value(b);
  return t.commit(r);
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape();
  // dA = unbroadcast(g), dB = −unbroadcast(g)
  Record<T>& r = t.push("sub", {a, b}, [](Tape<T>& t, Record<T>& r) {
    add_grad(t, r, 0, r.grad);
    add_grad(t, r, 1, -r.grad);
  });
  check_broadcast("sub", t.value(a), t.value(b));
  r.value = t.value(a) - t.value(b);
  return t.commit(r);
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape();
  // dA = unbroadcast(g·B), dB = unbroadcast(g·A)
  Record<T>& r = t.push("mul", {a, b}, [](Tape<T>& t, Record<T>& r) {
    add_grad(t, r, 0, r.grad * in(t, r, 1));
    add_grad(t, r, 1, r.grad * in(t, r, 0));
  });
  check_broadcast("mul", t.value(a), t.value(b));
  r.value = t.value(a) * t.value(b);
  return t.commit(r);
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape();
  // C = A/B: dA = unbroadcast(g/B), dB = unbroadcast(−g·C/B)
  Record<T>& r = t.push("div", {a, b}, [](Tape<T>& t, Record<T>& r) {
    add_grad(t, r, 0, r.grad / in(t, r, 1));
    add_grad(t, r, 1, -r.grad * r.value / in(t, r, 1));
  });
  check_broadcast("div", t.value(a), t.value(b));
  r.value = t.value(a) / t.value(b);
  return t.commit(r);
}

template <class T>
Var<T> add_scalar(const Var<T>& a, T s) {
  Tape<T>& t = a.tape();
  // d(a + s) = g
  Record<T>& r = t.push("add_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad);
  });
  r.value = t.value(a) + s;
  return t.commit(r);
}

template <class T>
Var<T> mul_scalar(const Var<T>& a, T s) {
  Tape<T>& t = a.tape();
  // d(a·s) = s·g
  Record<T>& r = t.push("mul_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], static_cast<T>(r.scalars[0]) * r.grad);
  });
  r.scalars[0] = s;
  r.value = t.value(a) * s;
  return t.commit(r);
}

template <class T>
Var<T> rsub_scalar(T s, const Var<T>& a) {
  Tape<T>& t = a.tape();
  // d(s − a) = −g
  Record<T>& r = t.push("rsub_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], -r.grad);
  });
  r.value = s - t.value(a);
  return t.commit(r);
}

template <class T>
Var<T> rdiv_scalar(T s, const Var<T>& a) {
  Tape<T>& t = a.tape();
  // C = s/a: dA = −g·C/a
  Record<T>& r = t.push("rdiv_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], -r.grad * r.value / in(t, r, 0));
  });
  r.value = s / t.value(a);
  return t.commit(r);
}

template <class T>
Var<T> neg(const Var<T>& a) {
  Tape<T>& t = a.tape();
  // d(−a) = −g
  Record<T>& r = t.push("neg", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], -r.grad);
  });
  r.value = -t.value(a);
  return t.commit(r);
}

template <class T>
Var<T> exp(const Var<T>& a) {
  Tape<T>& t = a.tape();
  // d exp(a) = g·exp(a), and exp(a) is this record's value
  Record<T>& r = t.push("exp", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad * r.value);
  });
  r.value = xt::exp(t.value(a));
  return t.commit(r);
}

template <class T>
Var<T> log(const Var<T>& a) {
  Tape<T>& t = a.tape();
  // d log(a) = g/a
  Record<T>& r = t.push("log", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad / in(t, r, 0));
  });
  r.value = xt::log(t.value(a));
  return t.commit(r);
}

template <class T>
Var<T> square(const Var<T>& a) {
  Tape<T>& t = a.tape();
  // d a² = 2·a·g
  Record<T>& r = t.push("square", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], T(2) * in(t, r, 0) * r.grad);
  });
  r.value = xt::square(t.value(a));
  return t.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)                                   \
  template Var<T> add(const Var<T>&, const Var<T>&);              \
  template Var<T> sub(const Var<T>&, const Var<T>&);              \
  template Var<T> mul(const Var<T>&, const Var<T>&);              \
  template Var<T> div(const Var<T>&, const Var<T>&);              \
  template Var<T> add_scalar(const Var<T>&, T);                   \
  template Var<T> mul_scalar(const Var<T>&, T);                   \
  template Var<T> rsub_scalar(T, const Var<T>&);                  \
  template Var<T> rdiv_scalar(T, const Var<T>&);                  \
  template Var<T> neg(const Var<T>&);                             \
  template Var<T> exp(const Var<T>&);                             \
  template Var<T> log(const Var<T>&);                             \
  template Var<T> square(const Var<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
