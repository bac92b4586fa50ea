#include <tapegrad/ops/elementwise.hpp>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include <tapegrad/ops/binary.hpp>

namespace tapegrad {

namespace {

using detail::add_grads_each;
using detail::add_grad_unary;
using detail::binary_tape;
using detail::broadcast_forward;
using detail::in;
using detail::plan_of;
using detail::unary_forward;

// What mul_scalar and div_scalar's backward needs: the scalar (add_scalar,
// rsub_scalar and rdiv_scalar save it for their replay).
template <class T>
struct ScalarSaved {
  T s;
};
template <class T>
double saved_scalar(const Record<T>& r) {
  return static_cast<double>(r.template saved<ScalarSaved<T>>().s);
}

}  // namespace

// Values are written by raw loops into the record's reused buffer (ops/binary.hpp:
// xtensor's broadcast expressions are strided and scalar), exp and log through
// xt::noalias (xsimd's vectorised exp/log; a plain `=` would allocate a temporary).

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape("add", a, b);
  // dA = unbroadcast(g), dB = unbroadcast(g)
  Record<T>& r = t.push("add", {a, b}, [](Tape<T>& t, Record<T>& r) {
    const T* g = r.grad.data();
    add_grads_each(t, r, plan_of(t, r), [g](std::size_t k, T, T) { return g[k]; },
                   [g](std::size_t k, T, T) { return g[k]; });
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return add(x[0], x[1]); });
  broadcast_forward(r, t.value(a), t.value(b), [](T x, T y) { return x + y; });
  return t.commit(r);
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape("sub", a, b);
  // dA = unbroadcast(g), dB = −unbroadcast(g)
  Record<T>& r = t.push("sub", {a, b}, [](Tape<T>& t, Record<T>& r) {
    const T* g = r.grad.data();
    add_grads_each(t, r, plan_of(t, r), [g](std::size_t k, T, T) { return g[k]; },
                   [g](std::size_t k, T, T) { return -g[k]; });
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return sub(x[0], x[1]); });
  broadcast_forward(r, t.value(a), t.value(b), [](T x, T y) { return x - y; });
  return t.commit(r);
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape("mul", a, b);
  // dA = unbroadcast(g·B), dB = unbroadcast(g·A)
  Record<T>& r = t.push("mul", {a, b}, [](Tape<T>& t, Record<T>& r) {
    const BroadcastPlan p = plan_of(t, r);
    const T* g = r.grad.data();
    add_grads_each(t, r, p, [g](std::size_t k, T, T y) { return g[k] * y; },
                   [g](std::size_t k, T x, T) { return g[k] * x; });
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return mul(x[0], x[1]); });
  broadcast_forward(r, t.value(a), t.value(b), [](T x, T y) { return x * y; });
  return t.commit(r);
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape("div", a, b);
  // C = A/B: dA = unbroadcast(g/B), dB = unbroadcast(−g·C/B)
  Record<T>& r = t.push("div", {a, b}, [](Tape<T>& t, Record<T>& r) {
    const BroadcastPlan p = plan_of(t, r);
    const T* g = r.grad.data();
    const T* c = r.value.data();
    add_grads_each(t, r, p, [g](std::size_t k, T, T y) { return g[k] / y; },
                   [g, c](std::size_t k, T, T y) { return -g[k] * c[k] / y; });
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return div(x[0], x[1]); });
  broadcast_forward(r, t.value(a), t.value(b), [](T x, T y) { return x / y; });
  return t.commit(r);
}

template <class T>
Var<T> add_scalar(const Var<T>& a, T s) {
  Tape<T>& t = a.tape("add_scalar");
  // d(a + s) = g
  Record<T>& r = t.push("add_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    const T* g = r.grad.data();
    add_grad_unary(t, r.inputs[0], r.grad.size(), [g](std::size_t k) { return g[k]; });
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return add_scalar(x[0], saved_scalar(r)); });
  r.save(ScalarSaved<T>{s});  // for the replay
  unary_forward(r, t.value(a), [s](T x) { return x + s; });
  return t.commit(r);
}

template <class T>
Var<T> mul_scalar(const Var<T>& a, T s) {
  Tape<T>& t = a.tape("mul_scalar");
  // d(a·s) = s·g
  Record<T>& r = t.push("mul_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    const T s = r.template saved<ScalarSaved<T>>().s;
    const T* g = r.grad.data();
    add_grad_unary(t, r.inputs[0], r.grad.size(), [s, g](std::size_t k) { return s * g[k]; });
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return mul_scalar(x[0], saved_scalar(r)); });
  r.save(ScalarSaved<T>{s});
  unary_forward(r, t.value(a), [s](T x) { return x * s; });
  return t.commit(r);
}

template <class T>
Var<T> div_scalar(const Var<T>& a, T s) {
  Tape<T>& t = a.tape("div_scalar");
  // d(a/s) = g/s
  Record<T>& r = t.push("div_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    const T s = r.template saved<ScalarSaved<T>>().s;
    const T* g = r.grad.data();
    add_grad_unary(t, r.inputs[0], r.grad.size(), [s, g](std::size_t k) { return g[k] / s; });
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return div_scalar(x[0], saved_scalar(r)); });
  r.save(ScalarSaved<T>{s});
  unary_forward(r, t.value(a), [s](T x) { return x / s; });
  return t.commit(r);
}

template <class T>
Var<T> rsub_scalar(T s, const Var<T>& a) {
  Tape<T>& t = a.tape("rsub_scalar");
  // d(s − a) = −g
  Record<T>& r = t.push("rsub_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    const T* g = r.grad.data();
    add_grad_unary(t, r.inputs[0], r.grad.size(), [g](std::size_t k) { return -g[k]; });
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return rsub_scalar(saved_scalar(r), x[0]); });
  r.save(ScalarSaved<T>{s});  // for the replay
  unary_forward(r, t.value(a), [s](T x) { return s - x; });
  return t.commit(r);
}

template <class T>
Var<T> rdiv_scalar(T s, const Var<T>& a) {
  Tape<T>& t = a.tape("rdiv_scalar");
  // C = s/a: dA = −g·C/a
  Record<T>& r = t.push("rdiv_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    const T* g = r.grad.data();
    const T* c = r.value.data();
    const T* x = in(t, r, 0).data();
    add_grad_unary(t, r.inputs[0], r.grad.size(), [g, c, x](std::size_t k) { return -g[k] * c[k] / x[k]; });
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return rdiv_scalar(saved_scalar(r), x[0]); });
  r.save(ScalarSaved<T>{s});  // for the replay
  unary_forward(r, t.value(a), [s](T x) { return s / x; });
  return t.commit(r);
}

template <class T>
Var<T> neg(const Var<T>& a) {
  Tape<T>& t = a.tape("neg");
  // d(−a) = −g
  Record<T>& r = t.push("neg", {a}, [](Tape<T>& t, Record<T>& r) {
    const T* g = r.grad.data();
    add_grad_unary(t, r.inputs[0], r.grad.size(), [g](std::size_t k) { return -g[k]; });
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return neg(x[0]); });
  unary_forward(r, t.value(a), [](T x) { return -x; });
  return t.commit(r);
}

template <class T>
Var<T> exp(const Var<T>& a) {
  Tape<T>& t = a.tape("exp");
  // d exp(a) = g·exp(a), and exp(a) is this record's value
  Record<T>& r = t.push("exp", {a}, [](Tape<T>& t, Record<T>& r) {
    const T* g = r.grad.data();
    const T* c = r.value.data();
    add_grad_unary(t, r.inputs[0], r.grad.size(), [g, c](std::size_t k) { return g[k] * c[k]; });
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return tapegrad::exp(x[0]); });
  xt::noalias(r.value) = xt::exp(t.value(a));
  return t.commit(r);
}

template <class T>
Var<T> log(const Var<T>& a) {
  Tape<T>& t = a.tape("log");
  // d log(a) = g/a
  Record<T>& r = t.push("log", {a}, [](Tape<T>& t, Record<T>& r) {
    const T* g = r.grad.data();
    const T* x = in(t, r, 0).data();
    add_grad_unary(t, r.inputs[0], r.grad.size(), [g, x](std::size_t k) { return g[k] / x[k]; });
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return tapegrad::log(x[0]); });
  xt::noalias(r.value) = xt::log(t.value(a));
  return t.commit(r);
}

template <class T>
Var<T> square(const Var<T>& a) {
  Tape<T>& t = a.tape("square");
  // d a² = 2·a·g
  Record<T>& r = t.push("square", {a}, [](Tape<T>& t, Record<T>& r) {
    const T* g = r.grad.data();
    const T* x = in(t, r, 0).data();
    add_grad_unary(t, r.inputs[0], r.grad.size(), [g, x](std::size_t k) { return T(2) * x[k] * g[k]; });
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return square(x[0]); });
  unary_forward(r, t.value(a), [](T x) { return x * x; });
  return t.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)                                   \
  template Var<T> add(const Var<T>&, const Var<T>&);              \
  template Var<T> sub(const Var<T>&, const Var<T>&);              \
  template Var<T> mul(const Var<T>&, const Var<T>&);              \
  template Var<T> div(const Var<T>&, const Var<T>&);              \
  template Var<T> add_scalar(const Var<T>&, T);                   \
  template Var<T> mul_scalar(const Var<T>&, T);                   \
  template Var<T> div_scalar(const Var<T>&, T);                   \
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
