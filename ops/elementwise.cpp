#include <tapegrad/ops/elementwise.hpp>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include <tapegrad/ops/binary.hpp>

namespace tapegrad {

namespace {

using detail::add_grad;
using detail::binary_tape;
using detail::in;

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

// Values are assigned through xt::noalias: a plain `r.value = expr` evaluates into
// a fresh temporary and swaps it in, so the record's buffer would never be reused.

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape("add", a, b);
  // dA = unbroadcast(g), dB = unbroadcast(g)
  Record<T>& r = t.push("add", {a, b}, [](Tape<T>& t, Record<T>& r) {
    add_grad(t, r, 0, r.grad);
    add_grad(t, r, 1, r.grad);
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return add(x[0], x[1]); });
  xt::noalias(r.value) = t.value(a) + t.value(b);
  return t.commit(r);
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape("sub", a, b);
  // dA = unbroadcast(g), dB = −unbroadcast(g)
  Record<T>& r = t.push("sub", {a, b}, [](Tape<T>& t, Record<T>& r) {
    add_grad(t, r, 0, r.grad);
    add_grad(t, r, 1, -r.grad);
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return sub(x[0], x[1]); });
  xt::noalias(r.value) = t.value(a) - t.value(b);
  return t.commit(r);
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape("mul", a, b);
  // dA = unbroadcast(g·B), dB = unbroadcast(g·A)
  Record<T>& r = t.push("mul", {a, b}, [](Tape<T>& t, Record<T>& r) {
    add_grad(t, r, 0, r.grad * in(t, r, 1));
    add_grad(t, r, 1, r.grad * in(t, r, 0));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return mul(x[0], x[1]); });
  xt::noalias(r.value) = t.value(a) * t.value(b);
  return t.commit(r);
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape("div", a, b);
  // C = A/B: dA = unbroadcast(g/B), dB = unbroadcast(−g·C/B)
  Record<T>& r = t.push("div", {a, b}, [](Tape<T>& t, Record<T>& r) {
    add_grad(t, r, 0, r.grad / in(t, r, 1));
    add_grad(t, r, 1, -r.grad * r.value / in(t, r, 1));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return div(x[0], x[1]); });
  xt::noalias(r.value) = t.value(a) / t.value(b);
  return t.commit(r);
}

template <class T>
Var<T> add_scalar(const Var<T>& a, T s) {
  Tape<T>& t = a.tape("add_scalar");
  // d(a + s) = g
  Record<T>& r = t.push("add_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad);
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return add_scalar(x[0], saved_scalar(r)); });
  r.save(ScalarSaved<T>{s});  // for the replay
  xt::noalias(r.value) = t.value(a) + s;
  return t.commit(r);
}

template <class T>
Var<T> mul_scalar(const Var<T>& a, T s) {
  Tape<T>& t = a.tape("mul_scalar");
  // d(a·s) = s·g
  Record<T>& r = t.push("mul_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.template saved<ScalarSaved<T>>().s * r.grad);
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return mul_scalar(x[0], saved_scalar(r)); });
  r.save(ScalarSaved<T>{s});
  xt::noalias(r.value) = t.value(a) * s;
  return t.commit(r);
}

template <class T>
Var<T> div_scalar(const Var<T>& a, T s) {
  Tape<T>& t = a.tape("div_scalar");
  // d(a/s) = g/s
  Record<T>& r = t.push("div_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad / r.template saved<ScalarSaved<T>>().s);
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return div_scalar(x[0], saved_scalar(r)); });
  r.save(ScalarSaved<T>{s});
  xt::noalias(r.value) = t.value(a) / s;
  return t.commit(r);
}

template <class T>
Var<T> rsub_scalar(T s, const Var<T>& a) {
  Tape<T>& t = a.tape("rsub_scalar");
  // d(s − a) = −g
  Record<T>& r = t.push("rsub_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], -r.grad);
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return rsub_scalar(saved_scalar(r), x[0]); });
  r.save(ScalarSaved<T>{s});  // for the replay
  xt::noalias(r.value) = s - t.value(a);
  return t.commit(r);
}

template <class T>
Var<T> rdiv_scalar(T s, const Var<T>& a) {
  Tape<T>& t = a.tape("rdiv_scalar");
  // C = s/a: dA = −g·C/a
  Record<T>& r = t.push("rdiv_scalar", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], -r.grad * r.value / in(t, r, 0));
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) { return rdiv_scalar(saved_scalar(r), x[0]); });
  r.save(ScalarSaved<T>{s});  // for the replay
  xt::noalias(r.value) = s / t.value(a);
  return t.commit(r);
}

template <class T>
Var<T> neg(const Var<T>& a) {
  Tape<T>& t = a.tape("neg");
  // d(−a) = −g
  Record<T>& r = t.push("neg", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], -r.grad);
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return neg(x[0]); });
  xt::noalias(r.value) = -t.value(a);
  return t.commit(r);
}

template <class T>
Var<T> exp(const Var<T>& a) {
  Tape<T>& t = a.tape("exp");
  // d exp(a) = g·exp(a), and exp(a) is this record's value
  Record<T>& r = t.push("exp", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad * r.value);
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return tapegrad::exp(x[0]); });
  xt::noalias(r.value) = xt::exp(t.value(a));
  return t.commit(r);
}

template <class T>
Var<T> log(const Var<T>& a) {
  Tape<T>& t = a.tape("log");
  // d log(a) = g/a
  Record<T>& r = t.push("log", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad / in(t, r, 0));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return tapegrad::log(x[0]); });
  xt::noalias(r.value) = xt::log(t.value(a));
  return t.commit(r);
}

template <class T>
Var<T> square(const Var<T>& a) {
  Tape<T>& t = a.tape("square");
  // d a² = 2·a·g
  Record<T>& r = t.push("square", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], T(2) * in(t, r, 0) * r.grad);
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return square(x[0]); });
  xt::noalias(r.value) = xt::square(t.value(a));
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
