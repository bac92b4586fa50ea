// concat and slice: copies of contiguous blocks along one axis. Seen along the
// axis as outer × len × inner (ops/layout.hpp), input k of a concat fills
// columns [offset_k, offset_k + len_k) of each of the output's `outer` rows of
// len·inner elements; a slice reads columns [start, stop) of its input's.
#include <algorithm>

#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/replay.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

using detail::AxisLayout;

// What concat's backward needs: rows of the output, the block of one output row
// (len·inner) and the inner extent; each input's own len comes from its value.
struct ConcatSaved {
  std::size_t outer, row, inner;
};

struct SliceSaved {
  AxisLayout in;  // the input, along the axis
  std::size_t start, count;
};

}  // namespace

template <class T>
Var<T> concat(const std::vector<Var<T>>& xs, std::ptrdiff_t axis) {
  static constexpr const char* kOp = "concat";
  if (xs.empty()) fail(kOp, ": needs at least one Var");
  Tape<T>& t = xs[0].tape(kOp);
  for (const Var<T>& v : xs) t.check(v, kOp);
  const auto& first = t.value_of(xs[0].id()).shape();
  const std::size_t ax = detail::normalise_axis(kOp, axis, first);
  std::size_t total = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const auto& s = t.value_of(xs[k].id()).shape();
    bool same = s.size() == first.size();
    for (std::size_t d = 0; same && d < s.size(); ++d) same = d == ax || s[d] == first[d];
    if (!same)
      fail(kOp, ": Var ", k, " has shape ", shape_str(s), ", which differs from Var 0's ", shape_str(first),
           " outside axis ", ax);
    total += s[ax];
  }
  typename Tensor<T>::shape_type out(first.begin(), first.end());
  out[ax] = total;
  const AxisLayout l = detail::axis_layout(out, ax);
  // dx_k = the columns of g that x_k filled
  Record<T>& r = t.push(kOp, xs.data(), xs.size(), [](Tape<T>& t, Record<T>& r) {
    const ConcatSaved s = r.template saved<ConcatSaved>();
    const T* g = r.grad.data();
    std::size_t offset = 0;
    for (std::size_t k = 0; k < r.n_inputs; ++k) {
      const std::size_t id = r.inputs[k];
      const std::size_t block = s.outer == 0 ? 0 : t.value_of(static_cast<std::uint32_t>(id)).size() / s.outer;
      bool fresh = false;
      Tensor<T>* dx = t.grad_buffer(static_cast<std::uint32_t>(id), fresh);
      if (dx) {
        T* d = dx->data();
        for (std::size_t o = 0; o < s.outer; ++o) {
          const T* src = g + o * s.row + offset;
          T* dst = d + o * block;
          for (std::size_t e = 0; e < block; ++e) dst[e] = fresh ? src[e] : dst[e] + src[e];
        }
      }
      offset += block;
    }
  }, [](const Record<T>& r, Tape<double>& t, const Var<double>* x) {
    // along axis 1 of every input's outer × len_k × inner view
    const ConcatSaved s = r.template saved<ConcatSaved>();
    std::vector<Var<double>> views;
    for (std::size_t k = 0; k < r.n_inputs; ++k) {
      const std::size_t size = t.value(x[k]).size();
      const std::size_t len = s.outer == 0 || s.inner == 0 ? 0 : size / s.outer / s.inner;
      views.push_back(detail::replay_view(x[k], s.outer, len, s.inner));
    }
    return detail::replay_reshape(concat(views, 1), r.value.shape());
  });
  r.value.resize(out);
  T* dst = r.value.data();
  const std::size_t row = l.len * l.inner;
  std::size_t offset = 0;
  for (const Var<T>& v : xs) {
    const Tensor<T>& x = t.value_of(v.id());
    const std::size_t block = l.outer == 0 ? 0 : x.size() / l.outer;
    for (std::size_t o = 0; o < l.outer; ++o) std::copy_n(x.data() + o * block, block, dst + o * row + offset);
    offset += block;
  }
  r.save(ConcatSaved{l.outer, row, l.inner});
  return t.commit(r);
}

template <class T>
Var<T> slice(const Var<T>& x, std::ptrdiff_t axis, std::ptrdiff_t start, std::ptrdiff_t stop) {
  static constexpr const char* kOp = "slice";
  Tape<T>& t = x.tape(kOp);
  t.check(x, kOp);
  const Tensor<T>& X = t.value_of(x.id());
  const std::size_t ax = detail::normalise_axis(kOp, axis, X.shape());
  const auto len = static_cast<std::ptrdiff_t>(X.shape()[ax]);
  // Python's slice.indices: negatives count from the end, then clamp to [0, len]
  const auto clamp_index = [len](std::ptrdiff_t i) { return std::clamp(i < 0 ? i + len : i, std::ptrdiff_t(0), len); };
  const std::size_t b = static_cast<std::size_t>(clamp_index(start));
  const std::size_t e = std::max(b, static_cast<std::size_t>(clamp_index(stop)));
  const AxisLayout l = detail::axis_layout(X.shape(), ax);
  // dx = g in columns [start, stop) of each row, 0 elsewhere
  Record<T>& r = t.push(kOp, {x}, [](Tape<T>& t, Record<T>& r) {
    const SliceSaved s = r.template saved<SliceSaved>();
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    if (fresh) dx->fill(T(0));
    const std::size_t row = s.in.len * s.in.inner, block = s.count * s.in.inner;
    const T* g = r.grad.data();
    T* d = dx->data();
    for (std::size_t o = 0; o < s.in.outer; ++o) {
      T* dst = d + o * row + s.start * s.in.inner;
      const T* src = g + o * block;
      for (std::size_t k = 0; k < block; ++k) dst[k] += src[k];
    }
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const SliceSaved s = r.template saved<SliceSaved>();  // along axis 1 of the view
    const Var<double> v = detail::replay_view(x[0], s.in.outer, s.in.len, s.in.inner);
    const auto start = static_cast<std::ptrdiff_t>(s.start);
    return detail::replay_reshape(slice(v, 1, start, start + static_cast<std::ptrdiff_t>(s.count)), r.value.shape());
  });
  typename Tensor<T>::shape_type out = X.shape();
  out[ax] = e - b;
  r.value.resize(out);
  const std::size_t row = l.len * l.inner, block = (e - b) * l.inner;
  for (std::size_t o = 0; o < l.outer; ++o)
    std::copy_n(X.data() + o * row + b * l.inner, block, r.value.data() + o * block);
  r.save(SliceSaved{l, b, e - b});
  return t.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)                                                              \
  template Var<T> concat(const std::vector<Var<T>>&, std::ptrdiff_t);                        \
  template Var<T> slice(const Var<T>&, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
