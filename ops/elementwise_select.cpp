// maximum, minimum and where: elementwise choices between two broadcast inputs.
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/ops/binary.hpp>
#include <tapegrad/ops/elementwise.hpp>

namespace tapegrad {

namespace {

using detail::add_grad;
using detail::binary_tape;
using detail::in;

// maximum (Max) or minimum. PyTorch's derivative, NaN cases included:
//   da = g·(a == b ? ½ : 1), zeroed where a loses (a < b for maximum);
//   db = the same, zeroed where b loses.
template <bool Max, class T>
Var<T> extremum(const char* op, const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape(op, a, b);
  Record<T>& r = t.push(op, {a, b}, [](Tape<T>& t, Record<T>& r) {
    const auto& x = in(t, r, 0);
    const auto& y = in(t, r, 1);
    const auto share = xt::where(xt::equal(x, y), T(0.5) * r.grad, r.grad);
    if constexpr (Max) {
      add_grad(t, r, 0, xt::where(x < y, T(0), share));
      add_grad(t, r, 1, xt::where(x > y, T(0), share));
    } else {
      add_grad(t, r, 0, xt::where(x > y, T(0), share));
      add_grad(t, r, 1, xt::where(x < y, T(0), share));
    }
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) {
    return Max ? maximum(x[0], x[1]) : minimum(x[0], x[1]);
  });
  const Tensor<T>& x = t.value_of(a.id());
  const Tensor<T>& y = t.value_of(b.id());
  // a NaN on either side wins (as PyTorch and NumPy's maximum)
  if constexpr (Max)
    xt::noalias(r.value) = xt::where(xt::isnan(x) || x > y, x, xt::where(xt::isnan(y) || y > x, y, x));
  else
    xt::noalias(r.value) = xt::where(xt::isnan(x) || x < y, x, xt::where(xt::isnan(y) || y < x, y, x));
  if (t.tracking_branches()) {
    const auto side = xt::eval(xt::where(x > y, 2, xt::where(x < y, 0, 1)));
    for (auto v : side) t.note_branch(static_cast<std::uint64_t>(v));
  }
  return t.commit(r);
}

}  // namespace

template <class T>
Var<T> maximum(const Var<T>& a, const Var<T>& b) {
  return extremum<true>("maximum", a, b);
}

template <class T>
Var<T> minimum(const Var<T>& a, const Var<T>& b) {
  return extremum<false>("minimum", a, b);
}

template <class T>
Var<T> where(const Var<T>& condition, const Var<T>& a, const Var<T>& b) {
  static constexpr const char* kOp = "where";
  Tape<T>& t = binary_tape(kOp, a, b);
  t.check(condition, kOp);
  if (t.needs_grad(condition.id()))
    fail(kOp, ": the condition (record #", condition.id(), ", ", t.record(condition.id()).op,
         ") depends on a watched parameter; pass a constant mask");
  const Tensor<T>& c = t.value_of(condition.id());
  const Tensor<T>& x = t.value_of(a.id());
  const Tensor<T>& y = t.value_of(b.id());
  const Shape out = broadcast_shape(kOp, to_shape(c.shape()),
                                    broadcast_shape(kOp, to_shape(x.shape()), to_shape(y.shape())));
  // da = where(c, g, 0), db = where(c, 0, g), each summed down to its input's shape
  Record<T>& r = t.push(kOp, {a, b, condition}, [](Tape<T>& t, Record<T>& r) {
    const Tensor<T>& c = in(t, r, 2);
    add_grad(t, r, 0, xt::where(xt::not_equal(c, T(0)), r.grad, T(0)));
    add_grad(t, r, 1, xt::where(xt::not_equal(c, T(0)), T(0), r.grad));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return where(x[2], x[0], x[1]); });
  r.value.resize(out);
  xt::noalias(r.value) = xt::where(xt::not_equal(xt::broadcast(c, out), T(0)), xt::broadcast(x, out), xt::broadcast(y, out));
  return t.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)                                                   \
  template Var<T> maximum(const Var<T>&, const Var<T>&);                          \
  template Var<T> minimum(const Var<T>&, const Var<T>&);                          \
  template Var<T> where(const Var<T>&, const Var<T>&, const Var<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
