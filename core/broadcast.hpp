#pragma once
// NumPy broadcasting for the binary ops, and its adjoint: the gradient of a
// broadcast input is the output gradient summed over the axes it was stretched
// along (tinygrad's unbroadcast). One helper serves every binary op.
#include <algorithm>

#include <tapegrad/core/tensor.hpp>

namespace tapegrad {

// The broadcast shape of a and b under NumPy's rules, or an Error naming `op`.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);

// Throws broadcast_shape's Error unless a and b broadcast; allocates nothing when
// they do (it runs on every binary op of every training step).
template <class SA, class SB>
void check_broadcastable(const char* op, const SA& a, const SB& b) {
  const std::size_t ra = a.size(), rb = b.size();
  for (std::size_t k = 1; k <= ra && k <= rb; ++k) {
    const std::size_t da = a[ra - k], db = b[rb - k];
    if (da != db && da != 1 && db != 1) broadcast_shape(op, to_shape(a), to_shape(b));
  }
}

// dst (+)= g summed down to dst's shape (−g when negate: sub's second input).
// dst's shape must broadcast to g's (else an Error naming "unbroadcast"); rank-0
// dst sums everything, an empty g adds 0. fresh: dst holds nothing yet, so assign
// rather than add. A sum along g's last axis is pairwise_sum's, as sum()'s.
template <class T>
void unbroadcast_into(Tensor<T>& dst, const Tensor<T>& g, bool fresh, bool negate = false);

extern template void unbroadcast_into<float>(Tensor<float>&, const Tensor<float>&, bool, bool);
extern template void unbroadcast_into<double>(Tensor<double>&, const Tensor<double>&, bool, bool);

// NumPy's pairwise summation of f(0), …, f(n − 1): 8 independent partial sums over
// blocks of at most 128 terms (vectorised without -ffast-math), halves combined
// recursively, so round-off grows as O(log n) rather than O(n). sum() over a
// contiguous axis and every sum along a broadcast run (unbroadcast, the binary
// ops' fused backward) add in this order, so they agree bit for bit.
template <class F>
auto pairwise_sum_of(std::size_t n, const F& f, std::size_t from = 0) -> decltype(f(from)) {
  using T = decltype(f(from));
  if (n < 8) {
    T s = 0;
    for (std::size_t k = 0; k < n; ++k) s += f(from + k);
    return s;
  }
  if (n <= 128) {
    T acc[8];
    for (std::size_t j = 0; j < 8; ++j) acc[j] = f(from + j);
    std::size_t k = 8;
    for (; k + 8 <= n; k += 8)
      for (std::size_t j = 0; j < 8; ++j) acc[j] += f(from + k + j);
    T s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; k < n; ++k) s += f(from + k);
    return s;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum_of(half, f, from) + pairwise_sum_of(n - half, f, from + half);
}

template <class T>
T pairwise_sum(const T* p, std::size_t n) {
  return pairwise_sum_of(n, [p](std::size_t k) { return p[k]; });
}

// Two shapes that broadcast (check_broadcastable first), seen as their broadcast
// output walked in rows of one contiguous run of `len` elements: axes of extent 1
// are dropped and neighbours that step alike are merged, so (N, C) − (N, 1) is N
// runs of C with y repeated, and equal shapes are one run. Along a run x advances
// when x_run (else one element repeats); the outer axes (ext, their strides sx and
// sy in elements, 0 where broadcast) give each run's start. Rank <= 8 allocates nothing.
struct BroadcastPlan {
  std::size_t size = 0, len = 0;
  bool x_run = true, y_run = true;
  xt::svector<std::size_t, 8> ext, sx, sy, shape;  // shape: the broadcast output's
};

template <class SA, class SB>
BroadcastPlan broadcast_plan(const SA& a, const SB& b) {
  BroadcastPlan p;
  const std::size_t rank = a.size() > b.size() ? a.size() : b.size();
  p.shape.resize(rank);
  xt::svector<std::size_t, 8> sa(rank), sb(rank);
  std::size_t ma = 1, mb = 1;  // the strides of contiguous a and b
  for (std::size_t k = rank; k-- > 0;) {
    const std::size_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    const std::size_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    p.shape[k] = da == 1 ? db : da;
    sa[k] = da == 1 ? 0 : ma;
    sb[k] = db == 1 ? 0 : mb;
    ma *= da;
    mb *= db;
  }
  p.size = 1;
  for (std::size_t d : p.shape) p.size *= d;
  // innermost first: drop extent-1 axes, merge an axis into the group inside it
  // when both inputs step across it as one run
  std::size_t len = 1, ra = 1, rb = 1;  // the innermost group: extent, strides
  bool started = false;
  for (std::size_t k = rank; k-- > 0;) {
    const std::size_t e = p.shape[k];
    if (e == 1) continue;
    if (!started) {
      len = e, ra = sa[k], rb = sb[k], started = true;
    } else if (p.ext.empty() && sa[k] == ra * len && sb[k] == rb * len) {
      len *= e;
    } else if (!p.ext.empty() && sa[k] == p.sx.back() * p.ext.back() && sb[k] == p.sy.back() * p.ext.back()) {
      p.ext.back() *= e;
    } else {
      p.ext.push_back(e), p.sx.push_back(sa[k]), p.sy.push_back(sb[k]);
    }
  }
  // outer axes were collected innermost first; the odometer wants outermost first
  std::reverse(p.ext.begin(), p.ext.end());
  std::reverse(p.sx.begin(), p.sx.end());
  std::reverse(p.sy.begin(), p.sy.end());
  p.len = p.size == 0 ? 0 : len;
  p.x_run = ra != 0;
  p.y_run = rb != 0;
  return p;
}

// f(o, ox, oy) for each run: its first output position and x's and y's offsets.
template <class F>
void for_each_run(const BroadcastPlan& p, F&& f) {
  if (p.size == 0) return;
  const std::size_t rank = p.ext.size();
  xt::svector<std::size_t, 8> idx(rank, 0);
  std::size_t ox = 0, oy = 0;
  for (std::size_t o = 0; o < p.size; o += p.len) {
    f(o, ox, oy);
    for (std::size_t k = rank; k-- > 0;) {  // the odometer over the outer axes
      ox += p.sx[k];
      oy += p.sy[k];
      if (++idx[k] < p.ext[k]) break;
      ox -= p.sx[k] * p.ext[k];
      oy -= p.sy[k] * p.ext[k];
      idx[k] = 0;
    }
  }
}

// t sized to the plan's output shape (no allocation when it already has it).
template <class T>
void resize_to_plan(Tensor<T>& t, const BroadcastPlan& p) {
  const auto& s = t.shape();
  if (!std::equal(s.begin(), s.end(), p.shape.begin(), p.shape.end())) t.resize(p.shape);
}

}  // namespace tapegrad
