#include <tapegrad/core/broadcast.hpp>

#include <algorithm>
#include <functional>

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
void unbroadcast_into(Tensor<T>& dst, const Tensor<T>& g, bool fresh) {
  const auto& gs = g.shape();
  const auto& ds = dst.shape();
  const T* in = g.data();
  T* out = dst.data();
  if (std::equal(gs.begin(), gs.end(), ds.begin(), ds.end())) {
    if (fresh)
      std::copy(in, in + g.size(), out);
    else
      std::transform(in, in + g.size(), out, out, std::plus<T>());
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
  if (g.size() == 0) return;  // an empty g contributes nothing (dst may be non-empty)
  // Walk g in row-major order with an odometer over its outer axes; dst's stride
  // is 0 along every axis where dst has extent 1 (or does not exist), so those
  // axes are summed. rank >= 1 here: a rank-0 g has only rank-0 targets, equal.
  const std::size_t lead = rank - ds.size();
  xt::svector<std::size_t, 8> dstride(rank, 0);  // inline up to rank 8: no allocation per step
  std::size_t s = 1;
  for (std::size_t k = rank; k-- > lead;) {
    const std::size_t d = ds[k - lead];
    dstride[k] = d == 1 ? 0 : s;
    s *= d;
  }
  xt::svector<std::size_t, 8> idx(rank, 0);
  std::size_t off = 0;
  const std::size_t inner = gs[rank - 1];
  const bool inner_kept = dstride[rank - 1] != 0;  // then that stride is 1
  for (std::size_t flat = 0; flat < g.size(); flat += inner) {
    T* o = out + off;
    if (inner_kept) {
      for (std::size_t j = 0; j < inner; ++j) o[j] += in[flat + j];
    } else {
      T acc = 0;
      for (std::size_t j = 0; j < inner; ++j) acc += in[flat + j];
      *o += acc;
    }
    for (std::size_t k = rank - 1; k-- > 0;) {  // advance the odometer over outer axes
      off += dstride[k];
      if (++idx[k] < gs[k]) break;
      off -= dstride[k] * gs[k];
      idx[k] = 0;
    }
  }
}

template void unbroadcast_into<float>(Tensor<float>&, const Tensor<float>&, bool);
template void unbroadcast_into<double>(Tensor<double>&, const Tensor<double>&, bool);

}  // namespace tapegrad
