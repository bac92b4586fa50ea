#include <tapegrad/ops/activation.hpp>

#include <xtensor/xoperation.hpp>

namespace tapegrad {

template <class T>
Var<T> relu(const Var<T>& x) {
  Tape<T>& t = x.tape();
  t.check(x, "relu");
  const Tensor<T>& X = t.value_of(x.id());
  // d relu(x) = g·[x > 0]: the subgradient at 0 is 0 (as PyTorch, TF, cs231n)
  Record<T>& r = t.push("relu", {x}, [](Tape<T>& t, Record<T>& r) {
    const Tensor<T>& X = t.value_of(r.inputs[0]);
    t.accumulate(r.inputs[0], xt::where(X > T(0), r.grad, T(0)));
  });
  r.value.resize(X.shape());
  const T* in = X.data();
  T* out = r.value.data();
  // x < 0 ? 0 : x lets a NaN through, so anomaly mode sees it rather than a 0
  for (std::size_t i = 0; i < X.size(); ++i) out[i] = in[i] < T(0) ? T(0) : in[i];
  if (t.tracking_branches())
    for (std::size_t i = 0; i < X.size(); ++i) t.note_branch(in[i] > T(0));
  return t.commit(r);
}

template Var<float> relu(const Var<float>&);
template Var<double> relu(const Var<double>&);

}  // namespace tapegrad
