#include <tapegrad/ops/reduce.hpp>

#include <algorithm>
#include <type_traits>

#include <tapegrad/core/broadcast.hpp>
#include <tapegrad/ops/binary.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace {

// Every reduction sees its input as outer × len × inner (ops/layout.hpp).
using Layout = detail::AxisLayout;

template <class T>
using ShapeOf = typename Tensor<T>::shape_type;

// x's value after checking that x is a live Var of its tape; errors name `op`.
template <class T>
const Tensor<T>& checked_value(const char* op, const Var<T>& x) {
  Tape<T>& t = x.tape(op);
  t.check(x, op);
  return t.value_of(x.id());
}

template <class T>
Layout all_layout(const Tensor<T>& x, ShapeOf<T>& out_shape) {
  out_shape.resize(0);  // rank 0: a scalar of shape ()
  return Layout{1, x.size(), 1};
}

template <class T>
Layout axis_layout(const char* op, const Tensor<T>& x, std::ptrdiff_t axis, bool keepdims,
                   ShapeOf<T>& out_shape) {
  const std::size_t ax = detail::normalise_axis(op, axis, x.shape());
  detail::reduced_shape(out_shape, x.shape(), ax, keepdims);
  return detail::axis_layout(x.shape(), ax);
}

// What a reduction's backward needs: the layout, and for sum/mean the factor
// 1/divisor each gradient element is scaled by.
struct ReduceSaved {
  Layout layout;
  double scale = 1;
};

// Calls f with std::true_type when the gradient buffer is fresh (assign) and
// std::false_type otherwise (add), so the choice is made once, outside the loops.
template <class F>
void with_fresh(bool fresh, F&& f) {
  if (fresh)
    f(std::true_type{});
  else
    f(std::false_type{});
}

template <bool Fresh, class T>
inline void put(T& dst, T v) {
  if constexpr (Fresh)
    dst = v;
  else
    dst += v;
}

// pairwise_sum (NumPy's pairwise summation) lives in core/broadcast.hpp: unbroadcast,
// the adjoint of broadcasting, sums the same way.

// max (Max) or min that propagates NaN (as NumPy's max does): once m is NaN it
// stays NaN. Bitwise | (not ||) keeps it branch-free, so loops over it vectorise.
template <bool Max = true, class T>
inline T max2(T m, T v) {
  return (((Max ? v > m : v < m)) | (v != v)) ? v : m;
}

// Whether x is its slice's maximum m; with a NaN maximum the NaNs are the maxima.
template <class T>
inline bool is_max(T x, T m) {
  return (x == m) | ((x != x) & (m != m));
}

// max of p[0..n), n >= 1. 32 independent lanes break the dependency chain and
// let the compiler vectorise (measured: 8 or 16 lanes run 3-4x slower).
template <bool Max, class T>
T max_run(const T* p, std::size_t n) {
  constexpr std::size_t kLanes = 32;
  T m = p[0];
  std::size_t k = 1;
  if (n >= 2 * kLanes) {
    T acc[kLanes];
    for (std::size_t j = 0; j < kLanes; ++j) acc[j] = p[j];
    for (k = kLanes; k + kLanes <= n; k += kLanes)
      for (std::size_t j = 0; j < kLanes; ++j) acc[j] = max2<Max>(acc[j], p[k + j]);
    m = acc[0];
    for (std::size_t j = 1; j < kLanes; ++j) m = max2<Max>(m, acc[j]);
  }
  for (; k < n; ++k) m = max2<Max>(m, p[k]);
  return m;
}

// sum (divisor 1) and mean (divisor len): out = Σ_a x[o, a, i] / divisor.
// Mean over zero elements is 0/0 = NaN, as in NumPy.
template <class T>
Var<T> reduce_sum(const char* op, const Var<T>& x, const Layout& l, const ShapeOf<T>& out_shape,
                  T divisor) {
  Tape<T>& t = x.tape();
  // dx[o, a, i] = g[o, i] / divisor
  Record<T>& r = t.push(op, {x}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    if (fresh) detail::advise_huge_pages(dx->data(), dx->size() * sizeof(T));  // maybe just allocated
    const ReduceSaved& saved = r.template saved<ReduceSaved>();
    const Layout l = saved.layout;
    const T scale = static_cast<T>(saved.scale);
    const T* g = r.grad.data();
    T* d = dx->data();
    with_fresh(fresh, [&](auto tag) {
      constexpr bool kFresh = decltype(tag)::value;
      if (l.inner == 1) {  // one value per contiguous row
        for (std::size_t o = 0; o < l.outer; ++o) {
          const T v = scale * g[o];
          T* row = d + o * l.len;
          for (std::size_t a = 0; a < l.len; ++a) put<kFresh>(row[a], v);
        }
        return;
      }
      for (std::size_t o = 0; o < l.outer; ++o)
        for (std::size_t a = 0; a < l.len; ++a) {
          T* row = d + (o * l.len + a) * l.inner;
          const T* src = g + o * l.inner;
          for (std::size_t i = 0; i < l.inner; ++i) put<kFresh>(row[i], scale * src[i]);
        }
    });
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    // along axis 1 of the outer × len × inner view; mean when the scale is not 1
    const ReduceSaved& s = r.template saved<ReduceSaved>();
    const Var<double> v = detail::replay_view(x[0], s.layout.outer, s.layout.len, s.layout.inner);
    return detail::replay_reshape(s.scale == 1 ? sum(v, 1) : mean(v, 1), r.value.shape());
  });
  const T* p = t.value(x).data();
  r.value.resize(out_shape);
  T* out = r.value.data();
  if (l.inner == 1) {
    for (std::size_t o = 0; o < l.outer; ++o) out[o] = pairwise_sum(p + o * l.len, l.len);
  } else {
    // accumulate whole rows of `inner` contiguous elements: vectorises along i
    for (std::size_t o = 0; o < l.outer; ++o) {
      T* dst = out + o * l.inner;
      const T* src = p + o * l.len * l.inner;
      std::fill(dst, dst + l.inner, T(0));
      for (std::size_t a = 0; a < l.len; ++a, src += l.inner)
        for (std::size_t i = 0; i < l.inner; ++i) dst[i] += src[i];
    }
  }
  if (divisor != T(1))
    for (std::size_t k = 0; k < r.value.size(); ++k) out[k] /= divisor;
  if (r.requires_grad) r.save(ReduceSaved{l, 1.0 / static_cast<double>(divisor)});
  return t.commit(r);
}

// max (Max) or min; the backward is the same for both: g to the extremes.
template <bool Max, class T>
Var<T> reduce_max(const char* op, const Var<T>& x, const Layout& l, const ShapeOf<T>& out_shape) {
  Tape<T>& t = x.tape();
  const Tensor<T>& xv = t.value(x);
  // dx[o, a, i] = g[o, i] / n[o, i] where x[o, a, i] is one of the n[o, i] tied maxima, else 0.
  // The tie counts are recomputed from x and the output, not saved.
  Record<T>& r = t.push(op, {x}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    if (fresh) detail::advise_huge_pages(dx->data(), dx->size() * sizeof(T));  // maybe just allocated
    const Layout l = r.template saved<ReduceSaved>().layout;
    const T* p = t.value_of(r.inputs[0]).data();
    const T* m = r.value.data();
    const T* g = r.grad.data();
    T* d = dx->data();
    if (l.inner == 1) {  // contiguous rows: count the ties of a row, then share its gradient
      with_fresh(fresh, [&](auto tag) {
        constexpr bool kFresh = decltype(tag)::value;
        for (std::size_t o = 0; o < l.outer; ++o) {
          const T* row = p + o * l.len;
          T* drow = d + o * l.len;
          const T mo = m[o];
          std::size_t n = 0;
          for (std::size_t a = 0; a < l.len; ++a) n += is_max(row[a], mo);
          const T share = g[o] / static_cast<T>(n);
          for (std::size_t a = 0; a < l.len; ++a) put<kFresh>(drow[a], is_max(row[a], mo) ? share : T(0));
        }
      });
      return;
    }
    r.scratch.resize(r.value.shape());  // the share g / n of each output element
    T* share = r.scratch.data();
    std::fill(share, share + r.scratch.size(), T(0));
    for (std::size_t o = 0; o < l.outer; ++o)
      for (std::size_t a = 0; a < l.len; ++a) {
        const T* src = p + (o * l.len + a) * l.inner;
        const T* mo = m + o * l.inner;
        T* so = share + o * l.inner;
        for (std::size_t i = 0; i < l.inner; ++i) so[i] += is_max(src[i], mo[i]) ? T(1) : T(0);
      }
    for (std::size_t k = 0; k < r.scratch.size(); ++k) share[k] = g[k] / share[k];
    with_fresh(fresh, [&](auto tag) {
      constexpr bool kFresh = decltype(tag)::value;
      for (std::size_t o = 0; o < l.outer; ++o)
        for (std::size_t a = 0; a < l.len; ++a) {
          const std::size_t base = (o * l.len + a) * l.inner;
          const T* mo = m + o * l.inner;
          const T* so = share + o * l.inner;
          for (std::size_t i = 0; i < l.inner; ++i)
            put<kFresh>(d[base + i], is_max(p[base + i], mo[i]) ? so[i] : T(0));
        }
    });
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const Layout l = r.template saved<ReduceSaved>().layout;  // along axis 1 of the view
    const Var<double> v = detail::replay_view(x[0], l.outer, l.len, l.inner);
    return detail::replay_reshape(Max ? max(v, 1) : min(v, 1), r.value.shape());
  });
  const T* p = xv.data();
  r.value.resize(out_shape);
  T* out = r.value.data();
  if (l.inner == 1) {
    for (std::size_t o = 0; o < l.outer; ++o) out[o] = max_run<Max>(p + o * l.len, l.len);
  } else {
    for (std::size_t o = 0; o < l.outer; ++o) {
      T* dst = out + o * l.inner;
      const T* src = p + o * l.len * l.inner;
      std::copy(src, src + l.inner, dst);
      for (std::size_t a = 1; a < l.len; ++a) {
        src += l.inner;
        for (std::size_t i = 0; i < l.inner; ++i) dst[i] = max2<Max>(dst[i], src[i]);
      }
    }
  }
  if (t.tracking_branches())  // each element's branch: is it its slice's maximum?
    for (std::size_t o = 0; o < l.outer; ++o)
      for (std::size_t a = 0; a < l.len; ++a)
        for (std::size_t i = 0; i < l.inner; ++i)
          t.note_branch(is_max(p[(o * l.len + a) * l.inner + i], out[o * l.inner + i]));
  if (r.requires_grad) r.save(ReduceSaved{l});
  return t.commit(r);
}

}  // namespace

template <class T>
Var<T> sum(const Var<T>& x) {
  ShapeOf<T> shape;
  const Layout l = all_layout(checked_value("sum", x), shape);
  return reduce_sum("sum", x, l, shape, T(1));
}

template <class T>
Var<T> sum(const Var<T>& x, std::ptrdiff_t axis, bool keepdims) {
  ShapeOf<T> shape;
  const Layout l = axis_layout("sum", checked_value("sum", x), axis, keepdims, shape);
  return reduce_sum("sum", x, l, shape, T(1));
}

template <class T>
Var<T> mean(const Var<T>& x) {
  ShapeOf<T> shape;
  const Layout l = all_layout(checked_value("mean", x), shape);
  return reduce_sum("mean", x, l, shape, static_cast<T>(l.len));
}

template <class T>
Var<T> mean(const Var<T>& x, std::ptrdiff_t axis, bool keepdims) {
  ShapeOf<T> shape;
  const Layout l = axis_layout("mean", checked_value("mean", x), axis, keepdims, shape);
  return reduce_sum("mean", x, l, shape, static_cast<T>(l.len));
}

template <bool Max, class T>
Var<T> extreme(const char* op, const Var<T>& x) {
  ShapeOf<T> shape;
  const Tensor<T>& xv = checked_value(op, x);
  const Layout l = all_layout(xv, shape);
  if (l.len == 0) fail(op, ": the ", op, " of an empty tensor of shape ", shape_str(xv.shape()), " is undefined");
  return reduce_max<Max>(op, x, l, shape);
}

template <bool Max, class T>
Var<T> extreme(const char* op, const Var<T>& x, std::ptrdiff_t axis, bool keepdims) {
  ShapeOf<T> shape;
  const Tensor<T>& xv = checked_value(op, x);
  const Layout l = axis_layout(op, xv, axis, keepdims, shape);
  if (l.len == 0)
    fail(op, ": axis ", axis, " of shape ", shape_str(xv.shape()), " is empty; the ", op,
         " of zero elements is undefined");
  return reduce_max<Max>(op, x, l, shape);
}

template <class T>
Var<T> max(const Var<T>& x) {
  return extreme<true>("max", x);
}

template <class T>
Var<T> max(const Var<T>& x, std::ptrdiff_t axis, bool keepdims) {
  return extreme<true>("max", x, axis, keepdims);
}

template <class T>
Var<T> min(const Var<T>& x) {
  return extreme<false>("min", x);
}

template <class T>
Var<T> min(const Var<T>& x, std::ptrdiff_t axis, bool keepdims) {
  return extreme<false>("min", x, axis, keepdims);
}

#define TAPEGRAD_INSTANTIATE(T)                                  \
  template Var<T> sum(const Var<T>&);                            \
  template Var<T> sum(const Var<T>&, std::ptrdiff_t, bool);      \
  template Var<T> mean(const Var<T>&);                           \
  template Var<T> mean(const Var<T>&, std::ptrdiff_t, bool);     \
  template Var<T> max(const Var<T>&);                            \
  template Var<T> max(const Var<T>&, std::ptrdiff_t, bool);      \
  template Var<T> min(const Var<T>&);                            \
  template Var<T> min(const Var<T>&, std::ptrdiff_t, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
