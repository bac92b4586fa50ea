// abs, sqrt, pow and clamp: elementwise, one input, their kinks' subgradients
// chosen as PyTorch's (ops/elementwise.hpp).
#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include <tapegrad/ops/elementwise.hpp>

namespace tapegrad {

namespace {

template <class T>
struct PowSaved {
  T p;
};

template <class T>
struct ClampSaved {
  T lo, hi;
};

template <class T>
Tape<T>& unary_tape(const char* op, const Var<T>& a) {
  Tape<T>& t = a.tape(op);
  t.check(a, op);
  return t;
}

}  // namespace

template <class T>
Var<T> abs(const Var<T>& a) {
  Tape<T>& t = unary_tape("abs", a);
  const Tensor<T>& x = t.value_of(a.id());
  // d|a| = g·sign(a), with sign(0) = 0: a zero input passes no gradient
  Record<T>& r = t.push("abs", {a}, [](Tape<T>& t, Record<T>& r) {
    const Tensor<T>& x = t.value_of(r.inputs[0]);
    t.accumulate(r.inputs[0], xt::where(x > T(0), r.grad, xt::where(x < T(0), -r.grad, T(0))));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return tapegrad::abs(x[0]); });
  xt::noalias(r.value) = xt::abs(x);
  if (t.tracking_branches())
    for (std::size_t i = 0; i < x.size(); ++i) t.note_branch(x.data()[i] > T(0) ? 2 : x.data()[i] < T(0) ? 0 : 1);
  return t.commit(r);
}

template <class T>
Var<T> sqrt(const Var<T>& a) {
  Tape<T>& t = unary_tape("sqrt", a);
  // d√a = g / (2·√a), √a being this record's value (+∞ at 0)
  Record<T>& r = t.push("sqrt", {a}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad / (T(2) * r.value));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return tapegrad::sqrt(x[0]); });
  xt::noalias(r.value) = xt::sqrt(t.value_of(a.id()));
  return t.commit(r);
}

template <class T>
Var<T> pow(const Var<T>& a, T p) {
  Tape<T>& t = unary_tape("pow", a);
  if (std::isnan(p)) fail("pow: the exponent is NaN");
  // d aᵖ = g·p·aᵖ⁻¹; p = 0 gives 0 everywhere (no 0·∞ at a = 0)
  Record<T>& r = t.push("pow", {a}, [](Tape<T>& t, Record<T>& r) {
    const T p = r.template saved<PowSaved<T>>().p;
    const Tensor<T>& x = t.value_of(r.inputs[0]);
    if (p == T(0)) {
      t.accumulate(r.inputs[0], T(0) * r.grad);
      return;
    }
    t.accumulate(r.inputs[0], r.grad * p * xt::pow(x, p - T(1)));
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    return tapegrad::pow(x[0], static_cast<double>(r.template saved<PowSaved<T>>().p));
  });
  r.save(PowSaved<T>{p});
  xt::noalias(r.value) = xt::pow(t.value_of(a.id()), p);
  return t.commit(r);
}

template <class T>
Var<T> clamp(const Var<T>& a, T lo, T hi) {
  Tape<T>& t = unary_tape("clamp", a);
  if (std::isnan(lo) || std::isnan(hi)) fail("clamp: bounds must not be NaN, got [", lo, ", ", hi, "]");
  // d clamp = g·[lo ≤ a ≤ hi]: the bounds themselves pass the gradient (as PyTorch)
  Record<T>& r = t.push("clamp", {a}, [](Tape<T>& t, Record<T>& r) {
    const ClampSaved<T> s = r.template saved<ClampSaved<T>>();
    const Tensor<T>& x = t.value_of(r.inputs[0]);
    t.accumulate(r.inputs[0], xt::where(x >= s.lo && x <= s.hi, r.grad, T(0)));
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const ClampSaved<T> s = r.template saved<ClampSaved<T>>();
    return clamp(x[0], static_cast<double>(s.lo), static_cast<double>(s.hi));
  });
  r.save(ClampSaved<T>{lo, hi});
  const Tensor<T>& x = t.value_of(a.id());
  r.value.resize(x.shape());
  const T* in = x.data();
  T* out = r.value.data();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const T v = in[i] < lo ? lo : in[i];  // a NaN input stays NaN
    out[i] = v > hi ? hi : v;
  }
  if (t.tracking_branches())
    for (std::size_t i = 0; i < x.size(); ++i) t.note_branch((in[i] >= lo) + 2 * (in[i] <= hi));
  return t.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)              \
  template Var<T> abs(const Var<T>&);        \
  template Var<T> sqrt(const Var<T>&);       \
  template Var<T> pow(const Var<T>&, T);     \
  template Var<T> clamp(const Var<T>&, T, T);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
