#include <tapegrad/ops/activation.hpp>

#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>

namespace tapegrad {

template <class T>
Var<T> relu(const Var<T>& x) {
  Tape<T>& t = x.tape("relu");
  t.check(x, "relu");
  const Tensor<T>& X = t.value_of(x.id());
  // d relu(x) = g·[x > 0]: the subgradient at 0 is 0 (as PyTorch, TF, cs231n)
  Record<T>& r = t.push("relu", {x}, [](Tape<T>& t, Record<T>& r) {
    const Tensor<T>& X = t.value_of(r.inputs[0]);
    t.accumulate(r.inputs[0], xt::where(X > T(0), r.grad, T(0)));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return relu(x[0]); });
  r.value.resize(X.shape());
  const T* in = X.data();
  T* out = r.value.data();
  // x < 0 ? 0 : x lets a NaN through, so anomaly mode sees it rather than a 0
  for (std::size_t i = 0; i < X.size(); ++i) out[i] = in[i] < T(0) ? T(0) : in[i];
  if (t.tracking_branches())
    for (std::size_t i = 0; i < X.size(); ++i) t.note_branch(in[i] > T(0));
  return t.commit(r);
}

namespace {
// What leaky_relu's backward needs beyond x: the negative side's slope.
template <class T>
struct LeakyReluSaved {
  T slope;
};
}  // namespace

template <class T>
Var<T> leaky_relu(const Var<T>& x, T slope) {
  Tape<T>& t = x.tape("leaky_relu");
  t.check(x, "leaky_relu");
  if (!std::isfinite(slope)) fail("leaky_relu: slope must be finite, got ", slope);
  const Tensor<T>& X = t.value_of(x.id());
  // d leaky_relu(x) = g·(x > 0 ? 1 : slope): at 0 the negative side's slope (as PyTorch)
  Record<T>& r = t.push("leaky_relu", {x}, [](Tape<T>& t, Record<T>& r) {
    const T slope = r.template saved<LeakyReluSaved<T>>().slope;
    const Tensor<T>& X = t.value_of(r.inputs[0]);
    t.accumulate(r.inputs[0], xt::where(X > T(0), r.grad, slope * r.grad));
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    return leaky_relu(x[0], static_cast<double>(r.template saved<LeakyReluSaved<T>>().slope));
  });
  r.save(LeakyReluSaved<T>{slope});
  xt::noalias(r.value) = xt::where(X > T(0), X, slope * X);  // a NaN input stays NaN
  if (t.tracking_branches())
    for (std::size_t i = 0; i < X.size(); ++i) t.note_branch(X.data()[i] > T(0));
  return t.commit(r);
}

template <class T>
Var<T> tanh(const Var<T>& x) {
  Tape<T>& t = x.tape("tanh");
  t.check(x, "tanh");
  // d tanh(x) = g·(1 − y²), y = tanh(x) being this record's value: nothing to save
  Record<T>& r = t.push("tanh", {x}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad * (T(1) - r.value * r.value));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return tapegrad::tanh(x[0]); });
  xt::noalias(r.value) = xt::tanh(t.value_of(x.id()));
  return t.commit(r);
}

template <class T>
Var<T> sigmoid(const Var<T>& x) {
  Tape<T>& t = x.tape("sigmoid");
  t.check(x, "sigmoid");
  // dσ(x) = g·y·(1 − y), y = σ(x) being this record's value
  Record<T>& r = t.push("sigmoid", {x}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate(r.inputs[0], r.grad * r.value * (T(1) - r.value));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return sigmoid(x[0]); });
  const Tensor<T>& X = t.value_of(x.id());
  r.value.resize(X.shape());
  const T* in = X.data();
  T* out = r.value.data();
  // exp of a non-positive number only: e = exp(−|x|) ∈ (0, 1], so nothing overflows
  for (std::size_t i = 0; i < X.size(); ++i) {
    const T e = std::exp(-std::abs(in[i]));
    out[i] = in[i] >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
  }
  return t.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)              \
  template Var<T> relu(const Var<T>&);       \
  template Var<T> leaky_relu(const Var<T>&, T); \
  template Var<T> tanh(const Var<T>&);       \
  template Var<T> sigmoid(const Var<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
