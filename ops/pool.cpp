#include <tapegrad/ops/pool.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace tapegrad {

namespace {

using detail::Window2d;

// What max_pool2d's backward needs: the geometry and, per output element, the
// position (ih·W + iw, within its plane) of the element that took its gradient.
struct MaxPoolSaved {
  Window2d g;
  Slot<IndexTensor> argmax;
};

// What avg_pool2d's backward needs: the geometry.
struct AvgPoolSaved {
  Window2d g;
};

// Every check of a pool, before push; returns the geometry (dilation 1).
template <class T>
Window2d check_pool(const char* op, const Tensor<T>& X, Pair2 kernel, const std::optional<Pair2>& stride_or_none,
                    Pair2 padding) {
  detail::check_nchw(op, X.shape());
  const Pair2 stride = stride_or_none ? *stride_or_none : kernel;
  Window2d g{};
  detail::check_pool_params(op, g, kernel, stride, padding);
  g.n = std::int64_t(X.shape()[0]), g.c = std::int64_t(X.shape()[1]);
  g.h = std::int64_t(X.shape()[2]), g.w = std::int64_t(X.shape()[3]);
  detail::set_output_plane(op, g, [&] {
    return "x " + shape_str(X.shape()) + ", kernel " + pair_str(kernel) + ", stride " + pair_str(stride) +
           ", padding " + pair_str(padding);
  });
  checked_size(op, std::array<std::size_t, 4>{X.shape()[0], X.shape()[1], std::size_t(g.oh), std::size_t(g.ow)});
  return g;
}

// The rows [lo, hi) of window oh (likewise columns): the window clipped to the plane.
inline void window_rows(std::int64_t o, std::int64_t s, std::int64_t p, std::int64_t k, std::int64_t len,
                        std::int64_t& lo, std::int64_t& hi) {
  const std::int64_t start = o * s - p;
  lo = std::max<std::int64_t>(start, 0);
  hi = std::min(start + k, len);
}

// max_pool2d's forward over one plane for the CNN's common case, kernel 2, stride 2,
// no padding (every window lies inside the plane): the general loop's scan — a
// strictly greater value or a NaN takes over, in row-major order within the window —
// unrolled over the window's four elements, without clipping each window to the plane.
template <class T>
void max_pool_2x2_plane(const T* xp, const Window2d& g, T* yp, std::int64_t* at) {
  for (std::int64_t oh = 0; oh < g.oh; ++oh) {
    const std::int64_t row0 = 2 * oh * g.w, row1 = row0 + g.w;
    for (std::int64_t ow = 0; ow < g.ow; ++ow) {
      const std::int64_t c = 2 * ow;
      T best = -std::numeric_limits<T>::infinity();
      std::int64_t best_at = row0 + c;
      const auto take = [&](std::int64_t k) {
        const T v = xp[k];
        if (v > best || std::isnan(v)) best = v, best_at = k;
      };
      take(row0 + c), take(row0 + c + 1), take(row1 + c), take(row1 + c + 1);
      yp[oh * g.ow + ow] = best;
      if (at) at[oh * g.ow + ow] = best_at;
    }
  }
}

// A pool's kernel, stride and padding, from its geometry (for the replays).
Pair2 kernel_of(const Window2d& g) { return {g.kh, g.kw}; }
Pair2 stride_of(const Window2d& g) { return {g.sh, g.sw}; }
Pair2 padding_of(const Window2d& g) { return {g.ph, g.pw}; }

}  // namespace

template <class T>
Var<T> max_pool2d(const Var<T>& x, Pair2 kernel, std::optional<Pair2> stride, Pair2 padding) {
  Tape<T>& t = x.tape("max_pool2d");
  t.check(x, "max_pool2d");
  const Tensor<T>& X = t.value_of(x.id());
  const Window2d g = check_pool("max_pool2d", X, kernel, stride, padding);
  // y = x[argmax of the window]: dx[argmax] += dy
  Record<T>& r = t.push("max_pool2d", {x}, [](Tape<T>& t, Record<T>& r) {
    const MaxPoolSaved& s = r.template saved<MaxPoolSaved>();
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    if (fresh) std::fill(dx->begin(), dx->end(), T(0));
    const std::int64_t L = s.g.oh * s.g.ow, plane = s.g.h * s.g.w;
    const std::int64_t* at = r.buffer(s.argmax).data();
    const T* dy = r.grad.data();
    for (std::int64_t p = 0; p < s.g.n * s.g.c; ++p) {
      T* dxp = dx->data() + p * plane;
      for (std::int64_t l = 0; l < L; ++l) dxp[at[p * L + l]] += dy[p * L + l];
    }
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const Window2d& g = r.template saved<MaxPoolSaved>().g;
    return max_pool2d(x[0], kernel_of(g), stride_of(g), padding_of(g));
  });
  MaxPoolSaved s{g, Slot<IndexTensor>{}};
  const std::array<std::size_t, 4> out_shape{std::size_t(g.n), std::size_t(g.c), std::size_t(g.oh), std::size_t(g.ow)};
  std::int64_t* at = nullptr;
  if (r.requires_grad) {
    s.argmax = r.template claim<IndexTensor>();
    r.buffer(s.argmax).resize(out_shape);
    at = r.buffer(s.argmax).data();
  }
  r.value.resize(out_shape);
  const std::int64_t L = g.oh * g.ow, plane = g.h * g.w;
  const bool track = t.tracking_branches();
  const bool two_by_two = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0;
  for (std::int64_t p = 0; p < g.n * g.c; ++p) {
    const T* xp = X.data() + p * plane;
    T* yp = r.value.data() + p * L;
    if (two_by_two && (at || !track)) {  // every window inside the plane: the same scan, unrolled
      max_pool_2x2_plane(xp, g, yp, at ? at + p * L : nullptr);
      if (track)
        for (std::int64_t l = 0; l < L; ++l) t.note_branch(static_cast<std::uint64_t>(at[p * L + l]));
      continue;
    }
    for (std::int64_t oh = 0; oh < g.oh; ++oh) {
      std::int64_t h0, h1;
      window_rows(oh, g.sh, g.ph, g.kh, g.h, h0, h1);
      for (std::int64_t ow = 0; ow < g.ow; ++ow) {
        std::int64_t w0, w1;
        window_rows(ow, g.sw, g.pw, g.kw, g.w, w0, w1);
        // PyTorch's scan: a strictly greater value or a NaN takes over, so the first
        // of tied maxima keeps it and the last NaN wins
        T best = -std::numeric_limits<T>::infinity();
        std::int64_t best_at = h0 * g.w + w0;
        for (std::int64_t ih = h0; ih < h1; ++ih)
          for (std::int64_t iw = w0; iw < w1; ++iw) {
            const T v = xp[ih * g.w + iw];
            if (v > best || std::isnan(v)) {
              best = v;
              best_at = ih * g.w + iw;
            }
          }
        yp[oh * g.ow + ow] = best;
        if (at) at[p * L + oh * g.ow + ow] = best_at;
        if (track) t.note_branch(static_cast<std::uint64_t>(best_at));
      }
    }
  }
  r.save(s);
  return t.commit(r);
}

template <class T>
Var<T> avg_pool2d(const Var<T>& x, Pair2 kernel, std::optional<Pair2> stride, Pair2 padding) {
  Tape<T>& t = x.tape("avg_pool2d");
  t.check(x, "avg_pool2d");
  const Tensor<T>& X = t.value_of(x.id());
  const Window2d g = check_pool("avg_pool2d", X, kernel, stride, padding);
  // y = Σ_window x / (KH·KW): dx[window] += dy / (KH·KW)
  Record<T>& r = t.push("avg_pool2d", {x}, [](Tape<T>& t, Record<T>& r) {
    const Window2d& g = r.template saved<AvgPoolSaved>().g;
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    if (fresh) std::fill(dx->begin(), dx->end(), T(0));
    const std::int64_t L = g.oh * g.ow, plane = g.h * g.w;
    const T divisor = static_cast<T>(g.kh * g.kw);
    const T* dy = r.grad.data();
    for (std::int64_t p = 0; p < g.n * g.c; ++p) {
      T* dxp = dx->data() + p * plane;
      for (std::int64_t oh = 0; oh < g.oh; ++oh) {
        std::int64_t h0, h1;
        window_rows(oh, g.sh, g.ph, g.kh, g.h, h0, h1);
        for (std::int64_t ow = 0; ow < g.ow; ++ow) {
          std::int64_t w0, w1;
          window_rows(ow, g.sw, g.pw, g.kw, g.w, w0, w1);
          const T share = dy[p * L + oh * g.ow + ow] / divisor;
          for (std::int64_t ih = h0; ih < h1; ++ih)
            for (std::int64_t iw = w0; iw < w1; ++iw) dxp[ih * g.w + iw] += share;
        }
      }
    }
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const Window2d& g = r.template saved<AvgPoolSaved>().g;
    return avg_pool2d(x[0], kernel_of(g), stride_of(g), padding_of(g));
  });
  r.value.resize(std::array<std::size_t, 4>{std::size_t(g.n), std::size_t(g.c), std::size_t(g.oh), std::size_t(g.ow)});
  const std::int64_t L = g.oh * g.ow, plane = g.h * g.w;
  const T divisor = static_cast<T>(g.kh * g.kw);  // count_include_pad: padding counts
  for (std::int64_t p = 0; p < g.n * g.c; ++p) {
    const T* xp = X.data() + p * plane;
    T* yp = r.value.data() + p * L;
    for (std::int64_t oh = 0; oh < g.oh; ++oh) {
      std::int64_t h0, h1;
      window_rows(oh, g.sh, g.ph, g.kh, g.h, h0, h1);
      for (std::int64_t ow = 0; ow < g.ow; ++ow) {
        std::int64_t w0, w1;
        window_rows(ow, g.sw, g.pw, g.kw, g.w, w0, w1);
        T sum = 0;
        for (std::int64_t ih = h0; ih < h1; ++ih)
          for (std::int64_t iw = w0; iw < w1; ++iw) sum += xp[ih * g.w + iw];
        yp[oh * g.ow + ow] = sum / divisor;
      }
    }
  }
  r.save(AvgPoolSaved{g});
  return t.commit(r);
}

template Var<float> max_pool2d(const Var<float>&, Pair2, std::optional<Pair2>, Pair2);
template Var<double> max_pool2d(const Var<double>&, Pair2, std::optional<Pair2>, Pair2);
template Var<float> avg_pool2d(const Var<float>&, Pair2, std::optional<Pair2>, Pair2);
template Var<double> avg_pool2d(const Var<double>&, Pair2, std::optional<Pair2>, Pair2);

}  // namespace tapegrad
