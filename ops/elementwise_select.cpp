// maximum, minimum and where: elementwise choices between two broadcast inputs.
#include <algorithm>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/ops/binary.hpp>
#include <tapegrad/ops/elementwise.hpp>

namespace tapegrad {

namespace {

using detail::add_grad;
using detail::add_grads_each;
using detail::binary_tape;
using detail::in;

// maximum (Max) or minimum. PyTorch's derivative, NaN cases included:
//   da = g·(a == b ? ½ : 1), zeroed where a loses (a < b for maximum);
//   db = the same, zeroed where b loses.
template <bool Max, class T>
Var<T> extremum(const char* op, const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = binary_tape(op, a, b);
  Record<T>& r = t.push(op, {a, b}, [](Tape<T>& t, Record<T>& r) {
    const BroadcastPlan p = detail::plan_of(t, r);
    const T* g = r.grad.data();
    // The share of a tie is ½·g; a NaN compares false both ways, so it gets all of g.
    // g[k] is loaded unconditionally: selects between loaded values compile to
    // blends, where a conditional load would be a branch (mispredicted half the time).
    add_grads_each(t, r, p, [g](std::size_t k, T x, T y) {
      const T gk = g[k];
      const T share = x == y ? T(0.5) * gk : gk;
      return (Max ? x < y : x > y) ? T(0) : share;
    }, [g](std::size_t k, T x, T y) {
      const T gk = g[k];
      const T share = x == y ? T(0.5) * gk : gk;
      return (Max ? x > y : x < y) ? T(0) : share;
    });
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) {
    return Max ? maximum(x[0], x[1]) : minimum(x[0], x[1]);
  });
  const Tensor<T>& x = t.value_of(a.id());
  const Tensor<T>& y = t.value_of(b.id());
  // a NaN on either side wins (as PyTorch and NumPy's maximum)
  // (u wins a tie; written as three selects, which vectorise as blends)
  detail::broadcast_forward(r, x, y, [](T u, T v) {
    T m = (Max ? v > u : v < u) ? v : u;
    m = v != v ? v : m;
    return u != u ? u : m;
  });
  if (t.tracking_branches())
    detail::broadcast_each(broadcast_plan(x.shape(), y.shape()), x.data(), y.data(),
                           [&t](std::size_t, T u, T v) { t.note_branch(u > v ? 2 : u < v ? 0 : 1); });
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
    const BroadcastPlan p = detail::plan_of(t, r);
    if (c.shape() == r.value.shape() && p.size == r.value.size()) {  // the condition has the output's shape
      const T* cd = c.data();
      const T* g = r.grad.data();
      add_grads_each(t, r, p, [cd, g](std::size_t k, T, T) {
        const T gk = g[k];  // loaded unconditionally: a blend, not a branch
        return cd[k] != T(0) ? gk : T(0);
      }, [cd, g](std::size_t k, T, T) {
        const T gk = g[k];
        return cd[k] != T(0) ? T(0) : gk;
      });
      return;
    }
    add_grad(t, r, 0, xt::where(xt::not_equal(c, T(0)), r.grad, T(0)));
    add_grad(t, r, 1, xt::where(xt::not_equal(c, T(0)), T(0), r.grad));
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return where(x[2], x[0], x[1]); });
  const BroadcastPlan p = broadcast_plan(x.shape(), y.shape());
  if (std::equal(out.begin(), out.end(), p.shape.begin(), p.shape.end()) &&
      std::equal(out.begin(), out.end(), c.shape().begin(), c.shape().end())) {
    // the hot case, a condition of the output's shape: one pass, no strided steppers
    resize_to_plan(r.value, p);
    T* o = r.value.data();
    const T* cd = c.data();
    detail::broadcast_each(p, x.data(), y.data(), [o, cd](std::size_t k, T u, T v) { o[k] = cd[k] != T(0) ? u : v; });
    return t.commit(r);
  }
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
