#include <tapegrad/core/broadcast.hpp>

#include <algorithm>

#include <tapegrad/core/error.hpp>

namespace tapegrad {

Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t k = 0; k < rank; ++k) {
    // align from the trailing axis; missing leading axes count as 1
    const std::size_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    const std::size_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail(op, ": shapes ", shape_str(a), " and ", shape_str(b), " cannot be broadcast together");
    out[k] = da == 1 ? db : da;  // 1 against 0 gives 0, as in NumPy
  }
  return out;
}

template <class T>
void unbroadcast_into(Tensor<T>& dst, const Tensor<T>& g, bool fresh, bool negate) {
  const auto& gs = g.shape();
  const auto& ds = dst.shape();
  const T* in = g.data();
  T* out = dst.data();
  if (std::equal(gs.begin(), gs.end(), ds.begin(), ds.end())) {
    const std::size_t n = g.size();
    if (fresh && negate)
      for (std::size_t k = 0; k < n; ++k) out[k] = -in[k];
    else if (fresh)
      std::copy(in, in + n, out);
    else if (negate)
      for (std::size_t k = 0; k < n; ++k) out[k] -= in[k];
    else
      for (std::size_t k = 0; k < n; ++k) out[k] += in[k];
    return;
  }
  // dst must broadcast to g: no more axes, and each of its axes 1 or g's extent
  const std::size_t rank = gs.size();
  bool ok = ds.size() <= rank;
  for (std::size_t k = 0; ok && k < ds.size(); ++k) {
    const std::size_t d = ds[ds.size() - 1 - k];
    ok = d == 1 || d == gs[rank - 1 - k];
  }
  if (!ok)
    fail("unbroadcast: gradient of shape ", shape_str(gs), " cannot be summed down to ",
         shape_str(ds));
  if (fresh) dst.fill(T(0));
  // g walked as the runs of broadcasting dst against it (broadcast_plan): along a
  // run dst either advances (each element adds one term) or repeats one element,
  // which gets the run's pairwise sum. −Σ g = Σ −g exactly (negation commutes with
  // rounding). An empty g has no runs and adds nothing.
  const BroadcastPlan p = broadcast_plan(ds, gs);
  const std::size_t len = p.len;
  for_each_run(p, [&](std::size_t o, std::size_t od, std::size_t) {
    T* d = out + od;
    const T* src = in + o;
    if (p.x_run && negate) {
      for (std::size_t j = 0; j < len; ++j) d[j] -= src[j];
    } else if (p.x_run) {
      for (std::size_t j = 0; j < len; ++j) d[j] += src[j];
    } else {
      const T acc = pairwise_sum(src, len);
      *d += negate ? -acc : acc;
    }
  });
}

template void unbroadcast_into<float>(Tensor<float>&, const Tensor<float>&, bool, bool);
template void unbroadcast_into<double>(Tensor<double>&, const Tensor<double>&, bool, bool);

}  // namespace tapegrad
