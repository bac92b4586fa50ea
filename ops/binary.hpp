#pragma once
// Internal to ops/: what every binary op with NumPy broadcasting shares — the
// check before push, the loops over a broadcast pair, and the one path of a
// gradient into a possibly broadcast input (summed over the stretched axes).
//
// Why raw loops and not xtensor expressions: xtensor 0.24 evaluates a broadcast
// expression element by element through strided steppers (no SIMD, an index
// update per element), 8-16x slower than a streaming loop on a 16 MB (N, C) − (N, 1)
// (bench/tapegrad_bench's op/ and bare/ families). Here the output is walked as
// rows of one contiguous run, in which each input either advances or repeats one
// element; the run's loop is a template per case, so the compiler vectorises it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include <xtensor/xnoalias.hpp>

#include <tapegrad/core/broadcast.hpp>
#include <tapegrad/core/tape.hpp>

namespace tapegrad::detail {

// The tape of a binary op after checking, before anything is pushed, that both
// Vars are live on it and that NumPy would broadcast their shapes (equal shapes,
// the hot path, cost nothing). Every error names `op`.
template <class T>
Tape<T>& binary_tape(const char* op, const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape(op);
  t.check(a, op);
  t.check(b, op);
  const Tensor<T>& x = t.value_of(a.id());
  const Tensor<T>& y = t.value_of(b.id());
  check_broadcastable(op, x.shape(), y.shape());
  return t;
}

// Asks the kernel for transparent huge pages under a large buffer not yet written
// (Linux, madvise mode): a fresh 16 MB buffer costs 4096 page faults at its first
// write, 70-100 ms on the shared EPYC VM against 8-30 ms in 2 MB pages (measured),
// and a first training step allocates every record's value and gradient. Only the
// 2 MB-aligned interior is advised; a no-op for buffers under 4 MB or elsewhere.
inline void advise_huge_pages(void* p, std::size_t bytes) {
#ifdef __linux__
  constexpr std::uintptr_t kHuge = std::uintptr_t(2) << 20;
  if (bytes < 2 * kHuge) return;
  const std::uintptr_t a = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t e = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (e > a) madvise(reinterpret_cast<void*>(a), e - a, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

// t resized to `shape`; when that allocated a new buffer, huge pages are advised
// before anything touches it.
template <class T, class S>
void resize_fresh(Tensor<T>& t, const S& shape) {
  const T* before = t.data();
  t.resize(shape);
  if (t.data() != before) advise_huge_pages(t.data(), t.size() * sizeof(T));
}

template <class T>
inline const Tensor<T>& in(Tape<T>& t, const Record<T>& r, int k) {
  return t.value_of(r.inputs[k]);
}

// Runs f(k, x_k, y_k) for every flat position k of the broadcast output `p`
// describes (core/broadcast.hpp), x_k and y_k being the elements NumPy puts
// there. Each run is one of four loops: x and y each advancing or repeated.
template <bool XRun, bool YRun, class T, class F>
inline void broadcast_run(std::size_t o, const T* x, const T* y, std::size_t len, F& f) {
  if constexpr (XRun && YRun) {
    for (std::size_t j = 0; j < len; ++j) f(o + j, x[j], y[j]);
  } else if constexpr (XRun) {
    const T b = y[0];
    for (std::size_t j = 0; j < len; ++j) f(o + j, x[j], b);
  } else if constexpr (YRun) {
    const T a = x[0];
    for (std::size_t j = 0; j < len; ++j) f(o + j, a, y[j]);
  } else {
    const T a = x[0], b = y[0];
    for (std::size_t j = 0; j < len; ++j) f(o + j, a, b);
  }
}

// Calls f(xr, yr) with std::true_type / std::false_type for whether x and y
// advance along the plan's runs, so each case is its own compiled loop.
template <class F>
void with_runs(const BroadcastPlan& p, F&& f) {
  using Y = std::true_type;
  using N = std::false_type;
  if (p.x_run && p.y_run)
    f(Y{}, Y{});
  else if (p.x_run)
    f(Y{}, N{});
  else if (p.y_run)
    f(N{}, Y{});
  else
    f(N{}, N{});
}

template <class T, class F>
void broadcast_each(const BroadcastPlan& p, const T* x, const T* y, F&& f) {
  with_runs(p, [&](auto xr, auto yr) {
    for_each_run(p, [&](std::size_t o, std::size_t ox, std::size_t oy) {
      broadcast_run<decltype(xr)::value, decltype(yr)::value>(o, x + ox, y + oy, p.len, f);
    });
  });
}

// The plan of a record's two inputs and its output (valid in forward after
// resize_output, and in backward).
template <class T>
BroadcastPlan plan_of(Tape<T>& t, const Record<T>& r) {
  return broadcast_plan(in(t, r, 0).shape(), in(t, r, 1).shape());
}

// Sizes r.value to the broadcast shape of x and y (no allocation once warm) and
// writes value[k] = f(x_k, y_k).
template <class T, class F>
void broadcast_forward(Record<T>& r, const Tensor<T>& x, const Tensor<T>& y, F f) {
  const BroadcastPlan p = broadcast_plan(x.shape(), y.shape());
  const auto& s = r.value.shape();
  if (!std::equal(s.begin(), s.end(), p.shape.begin(), p.shape.end())) resize_fresh(r.value, p.shape);
  T* out = r.value.data();
  broadcast_each(p, x.data(), y.data(), [out, &f](std::size_t k, T a, T b) { out[k] = f(a, b); });
}

// Where one input's gradient terms go during a binary op's backward pass.
enum class GradMode { none, assign, add, sum };

template <class T>
struct GradTarget {
  T* d = nullptr;
  GradMode mode = GradMode::none;
};

// Input `which`'s gradient buffer and how the terms reach it: an input of the
// output's shape takes each term (assigned when the buffer is fresh); a broadcast
// one, zero-filled when fresh, takes each term on its own element when it advances
// along the runs, or one pairwise sum per run when it repeats.
template <class T>
GradTarget<T> grad_target(Tape<T>& t, Record<T>& r, int which, const BroadcastPlan& p) {
  GradTarget<T> g;
  const std::uint32_t id = r.inputs[which];
  if (!t.needs_grad(id)) return g;
  const Tensor<T>& v = t.value_of(id);
  const bool full = v.size() == p.size && v.shape() == r.value.shape();
  bool fresh = false;
  Tensor<T>* buf = t.grad_buffer(id, fresh);
  if (fresh) advise_huge_pages(buf->data(), buf->size() * sizeof(T));  // maybe just allocated
  g.d = buf->data();
  if (full) {
    g.mode = fresh ? GradMode::assign : GradMode::add;
    return g;
  }
  if (fresh) std::fill(g.d, g.d + buf->size(), T(0));
  g.mode = (which == 0 ? p.x_run : p.y_run) ? GradMode::add : GradMode::sum;
  return g;
}

// Adds e0(k, x_k, y_k) into input 0's gradient and e1(k, x_k, y_k) into input 1's,
// for every output position k, in one pass over the output: each run is taken in
// blocks of 1024 elements (a run whose terms are summed stays whole, so its sum is
// unbroadcast_into's, bit for bit), and both inputs' loops run over a block while
// its g, x and y are in L1, so the inputs' gradients cost one read of g, not two.
// An input given twice gets both terms in one buffer (input 0 first).
template <class T, class E0, class E1>
void add_grads_each(Tape<T>& t, Record<T>& r, const BroadcastPlan& p, E0 e0, E1 e1) {
  const GradTarget<T> t0 = grad_target(t, r, 0, p);
  const GradTarget<T> t1 = grad_target(t, r, 1, p);
  if (t0.mode == GradMode::none && t1.mode == GradMode::none) return;
  const T* x = in(t, r, 0).data();
  const T* y = in(t, r, 1).data();
  const std::size_t len = p.len;
  const bool whole = t0.mode == GradMode::sum || t1.mode == GradMode::sum;
  const std::size_t block = whole ? len : 1024;
  with_runs(p, [&](auto xr, auto yr) {
    constexpr bool XR = decltype(xr)::value, YR = decltype(yr)::value;
    for_each_run(p, [&](std::size_t o, std::size_t ox, std::size_t oy) {
      for (std::size_t b = 0; b < len; b += block) {
        const std::size_t n = len - b < block ? len - b : block;
        const T* xs = x + ox + (XR ? b : 0);
        const T* ys = y + oy + (YR ? b : 0);
        const std::size_t k0 = o + b;
        const auto apply = [&](const GradTarget<T>& g, std::size_t off, const auto& e) {
          const auto term = [&](std::size_t j) { return e(k0 + j, XR ? xs[j] : xs[0], YR ? ys[j] : ys[0]); };
          T* dst = g.d + off;
          switch (g.mode) {
            case GradMode::assign:
              for (std::size_t j = 0; j < n; ++j) dst[j] = term(j);
              break;
            case GradMode::add:
              for (std::size_t j = 0; j < n; ++j) dst[j] += term(j);
              break;
            case GradMode::sum:
              *dst += pairwise_sum_of(n, term);
              break;
            case GradMode::none:
              break;
          }
        };
        // a full input's offset is the output's; an advancing one's its own
        apply(t0, t0.mode == GradMode::sum ? ox : ox + (XR ? b : 0), e0);
        apply(t1, t1.mode == GradMode::sum ? oy : oy + (YR ? b : 0), e1);
      }
    });
  });
}

// Adds e, an xtensor expression of the output's shape, into input k's gradient;
// when that input was broadcast, e is evaluated into the record's scratch and
// summed down (where's path for a condition broadcast beyond both inputs).
template <class T, class E>
void add_grad(Tape<T>& t, Record<T>& r, int k, const E& e) {
  const std::uint32_t id = r.inputs[k];
  if (!t.needs_grad(id)) return;
  if (t.value_of(id).shape() == r.value.shape()) {
    t.accumulate(id, e);
  } else {
    xt::noalias(r.scratch) = e;  // reuses the buffer; a plain `=` allocates a temporary
    t.accumulate_unbroadcast(id, r.scratch);
  }
}

// Adds f(k) for every flat position k into the gradient of record id, whose value
// has r.grad's shape (a unary op's backward): assigned when the buffer is fresh.
template <class T, class F>
void add_grad_unary(Tape<T>& t, std::uint32_t id, std::size_t n, F f) {
  bool fresh = false;
  Tensor<T>* buf = t.grad_buffer(id, fresh);
  if (!buf) return;
  if (fresh) advise_huge_pages(buf->data(), buf->size() * sizeof(T));  // maybe just allocated
  T* d = buf->data();
  if (fresh)
    for (std::size_t k = 0; k < n; ++k) d[k] = f(k);
  else
    for (std::size_t k = 0; k < n; ++k) d[k] += f(k);
}

// value[k] = f(x[k]) into r.value sized like x (a unary op's forward).
template <class T, class F>
void unary_forward(Record<T>& r, const Tensor<T>& x, F f) {
  if (r.value.shape() != x.shape()) resize_fresh(r.value, x.shape());
  const T* a = x.data();
  T* out = r.value.data();
  const std::size_t n = x.size();
  for (std::size_t k = 0; k < n; ++k) out[k] = f(a[k]);
}

}  // namespace tapegrad::detail
