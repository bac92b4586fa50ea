#include <tapegrad/ops/indexing.hpp>

#include <algorithm>

#include <tapegrad/ops/binary.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace {

// The multi-index of flat row-major position `flat` in `shape`, for messages.
template <class S>
Shape unravel(std::size_t flat, const S& shape) {
  Shape pos(shape.size(), 0);
  for (std::size_t k = shape.size(); k-- > 0;) {
    pos[k] = flat % shape[k];
    flat /= shape[k];
  }
  return pos;
}

// What gather's backward needs: x viewed as outer × len_x × inner, the index as
// outer × len_i × inner, and the index itself.
struct GatherSaved {
  std::size_t outer, len_x, len_i, inner;
  Slot<IndexTensor> index;
};

}  // namespace

// Conventions (the checks run before anything is recorded):
// - index must have x's rank and x's extent along every axis but `axis`
//   (torch.gather allows smaller extents there, NumPy's take_along_axis
//   broadcasts; both are rejected here, so a wrong shape never passes silently);
// - indices must lie in [0, x.shape[axis]): a negative index is an Error, not a
//   count from the end as in NumPy.
// Viewed as outer × len × inner: out[o, j, i] = x[o, index[o, j, i], i].
template <class T>
Var<T> gather(const Var<T>& x, std::ptrdiff_t axis, const IndexTensor& index) {
  Tape<T>& t = x.tape("gather");
  t.check(x, "gather");
  const Tensor<T>& xv = t.value_of(x.id());
  const auto& xs = xv.shape();
  const auto& is = index.shape();
  if (is.size() != xs.size())
    fail("gather: index rank ", is.size(), " differs from x rank ", xs.size(), " (index shape ",
         shape_str(is), ", x shape ", shape_str(xs), ")");
  const auto rank = static_cast<std::ptrdiff_t>(xs.size());
  if (axis < -rank || axis >= rank) fail("gather: axis ", axis, " is out of range for shape ", shape_str(xs));
  const std::size_t ax = static_cast<std::size_t>(axis < 0 ? axis + rank : axis);
  std::size_t outer = 1, inner = 1;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    if (k != ax && is[k] != xs[k])
      fail("gather: index shape ", shape_str(is), " differs from x shape ", shape_str(xs), " along axis ", k,
           " (only axis ", ax, " may differ)");
    if (k < ax) outer *= xs[k];
    if (k > ax) inner *= xs[k];
  }
  const std::size_t len_x = xs[ax], len_i = is[ax];
  const std::int64_t* idx = index.data();
  for (std::size_t f = 0; f < index.size(); ++f)
    if (idx[f] < 0 || static_cast<std::uint64_t>(idx[f]) >= len_x)
      fail("gather: index ", idx[f], " at position ", shape_str(unravel(f, is)), " is outside [0, ", len_x,
           ") along axis ", ax);

  // dx[o, index[o, j, i], i] += g[o, j, i]: a scatter-add, so repeated indices accumulate
  Record<T>& r = t.push("gather", {x}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    if (fresh) detail::advise_huge_pages(dx->data(), dx->size() * sizeof(T));  // maybe just allocated
    if (fresh) dx->fill(T(0));
    const GatherSaved& s = r.template saved<GatherSaved>();
    const std::size_t outer = s.outer, len_x = s.len_x, len_i = s.len_i, inner = s.inner;
    const T* g = r.grad.data();
    const std::int64_t* idx = r.buffer(s.index).data();
    T* d = dx->data();
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t j = 0; j < len_i; ++j) {
        const std::size_t base = (o * len_i + j) * inner;
        for (std::size_t i = 0; i < inner; ++i)
          d[(o * len_x + static_cast<std::size_t>(idx[base + i])) * inner + i] += g[base + i];
      }
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const GatherSaved& s = r.template saved<GatherSaved>();  // along axis 1 of the views
    IndexTensor index = r.buffer(s.index);
    index.reshape({s.outer, s.len_i, s.inner});
    return detail::replay_reshape(gather(detail::replay_view(x[0], s.outer, s.len_x, s.inner), 1, index),
                                  r.value.shape());
  });
  r.value.resize(is);
  const T* p = xv.data();
  T* out = r.value.data();
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t j = 0; j < len_i; ++j) {
      const std::size_t base = (o * len_i + j) * inner;
      for (std::size_t i = 0; i < inner; ++i)
        out[base + i] = p[(o * len_x + static_cast<std::size_t>(idx[base + i])) * inner + i];
    }
  if (r.requires_grad) r.save(GatherSaved{outer, len_x, len_i, inner, r.keep(index)});
  return t.commit(r);
}

template <class T>
Var<T> one_hot(Tape<T>& tape, const IndexTensor& labels, std::size_t num_classes) {
  if (labels.dimension() != 1) fail("one_hot: labels must be 1-D, got shape ", shape_str(labels.shape()));
  const std::size_t n = labels.size();
  checked_size("one_hot", Shape{n, num_classes});
  const std::int64_t* y = labels.data();
  for (std::size_t i = 0; i < n; ++i)
    if (y[i] < 0 || static_cast<std::uint64_t>(y[i]) >= num_classes)
      fail("one_hot: label ", y[i], " at row ", i, " is outside [0, ", num_classes, ")");
  // a constant: no inputs, so no gradient and no backward
  Record<T>& r = tape.push("one_hot", {}, nullptr, nullptr);
  detail::resize_fresh(r.value, typename Tensor<T>::shape_type{n, num_classes});
  r.value.fill(T(0));
  T* out = r.value.data();
  for (std::size_t i = 0; i < n; ++i) out[i * num_classes + static_cast<std::size_t>(y[i])] = T(1);
  return tape.commit(r);
}

template <class T>
Var<T> mask(Tape<T>& tape, const xt::xarray<bool>& m) {
  // a constant: no inputs, so no gradient and no backward
  Record<T>& r = tape.push("mask", {}, nullptr, nullptr);
  r.value.resize(m.shape());
  std::transform(m.cbegin(), m.cend(), r.value.begin(), [](bool b) { return b ? T(1) : T(0); });
  return tape.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)                                                   \
  template Var<T> gather(const Var<T>&, std::ptrdiff_t, const IndexTensor&);     \
  template Var<T> one_hot(Tape<T>&, const IndexTensor&, std::size_t);            \
  template Var<T> mask(Tape<T>&, const xt::xarray<bool>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
