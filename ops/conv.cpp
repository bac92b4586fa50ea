#include <tapegrad/ops/conv.hpp>

#include <algorithm>
#include <array>
#include <climits>

#include <cblas.h>

namespace tapegrad {

namespace {

using detail::Window2d;

// Row-major C = op(A)·op(B) + beta·C (op(A) m×k, op(B) k×n; lda, ldb as stored).
inline void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
                 const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              1.0f, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
inline void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,
                 const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              1.0, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

// What conv2d's backward needs beyond x, w and dy: the geometry and, when w needs a
// gradient, the im2col columns of every image (N × K × OH·OW, image n's at n·K·L).
template <class T>
struct Conv2dSaved {
  Window2d g;
  Slot<Tensor<T>> cols;
  bool has_cols;  // cols holds the whole batch's columns
  bool direct;    // 1×1 kernel, stride 1, no padding: x[n] is its own columns
};

// [lo, hi): the outputs j (< out) whose input index j·s + off lies in [0, len).
inline void valid_range(std::int64_t off, std::int64_t s, std::int64_t len, std::int64_t out, std::int64_t& lo,
                        std::int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = len - off <= 0 ? 0 : std::min(out, (len - off - 1) / s + 1);
  lo = std::min(lo, hi);
}

// One image: col[(c·KH + i)·KW + j][oh·OW + ow] = x[c][oh·sh − ph + i·dh][ow·sw − pw + j·dw]
// (0 in the padding). With add, the adjoint: x[...] += col[...] (col2im).
template <bool add, class T>
void im2col(const Window2d& g, std::conditional_t<add, const T*, T*> col, std::conditional_t<add, T*, const T*> x) {
  const std::int64_t L = g.oh * g.ow;
  for (std::int64_t c = 0; c < g.c; ++c)
    for (std::int64_t i = 0; i < g.kh; ++i) {
      const std::int64_t off_h = i * g.dh - g.ph;
      std::int64_t oh_lo, oh_hi;
      valid_range(off_h, g.sh, g.h, g.oh, oh_lo, oh_hi);
      for (std::int64_t j = 0; j < g.kw; ++j) {
        const std::int64_t off_w = j * g.dw - g.pw;
        std::int64_t lo, hi;
        valid_range(off_w, g.sw, g.w, g.ow, lo, hi);
        auto row = col + ((c * g.kh + i) * g.kw + j) * L;
        if constexpr (!add) {
          std::fill(row, row + oh_lo * g.ow, T(0));
          std::fill(row + oh_hi * g.ow, row + L, T(0));
        }
        for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          auto out = row + oh * g.ow;
          auto in = x + (c * g.h + oh * g.sh + off_h) * g.w;  // in[ow·sw + off_w] is column ow
          if constexpr (add) {
            if (g.sw == 1)
              for (std::int64_t ow = lo; ow < hi; ++ow) in[ow + off_w] += out[ow];
            else
              for (std::int64_t ow = lo; ow < hi; ++ow) in[ow * g.sw + off_w] += out[ow];
          } else {
            std::fill(out, out + lo, T(0));
            if (g.sw == 1)
              std::copy(in + (lo + off_w), in + (hi + off_w), out + lo);
            else
              for (std::int64_t ow = lo; ow < hi; ++ow) out[ow] = in[ow * g.sw + off_w];
            std::fill(out + hi, out + g.ow, T(0));
          }
        }
      }
    }
}

// Every check of conv2d, before push; returns the geometry.
template <class T>
Window2d check_conv2d(const Tensor<T>& X, const Tensor<T>& W, const Tensor<T>* B, const Conv2dOptions& o) {
  const char* op = "conv2d";
  detail::check_nchw(op, X.shape());
  if (W.dimension() != 4) fail(op, ": expected weight of shape (O, C, KH, KW), got ", shape_str(W.shape()));
  if (W.shape()[0] == 0) fail(op, ": weight ", shape_str(W.shape()), " has no output channels");
  if (W.shape()[2] == 0 || W.shape()[3] == 0) fail(op, ": weight ", shape_str(W.shape()), " has an empty kernel");
  for (std::size_t k = 0; k < 4; ++k)
    if (W.shape()[k] >= std::size_t(detail::kMaxWindowParam))
      fail(op, ": weight ", shape_str(W.shape()), " has an extent of at least 2^62");
  if (W.shape()[1] != X.shape()[1])
    fail(op, ": x ", shape_str(X.shape()), " has ", X.shape()[1], " channels but weight ", shape_str(W.shape()),
         " expects ", W.shape()[1]);
  if (B && (B->dimension() != 1 || B->shape()[0] != W.shape()[0]))
    fail(op, ": bias must have shape (", W.shape()[0], ") for weight ", shape_str(W.shape()), ", got ",
         shape_str(B->shape()));
  Window2d g{};
  detail::check_window_params(op, g, o.stride(), o.padding(), o.dilation());
  g.n = std::int64_t(X.shape()[0]), g.c = std::int64_t(X.shape()[1]);
  g.h = std::int64_t(X.shape()[2]), g.w = std::int64_t(X.shape()[3]);
  g.kh = std::int64_t(W.shape()[2]), g.kw = std::int64_t(W.shape()[3]);
  detail::set_output_plane(op, g, [&] {
    return "x " + shape_str(X.shape()) + ", weight " + shape_str(W.shape()) + ", stride " + pair_str(o.stride()) +
           ", padding " + pair_str(o.padding()) + ", dilation " + pair_str(o.dilation());
  });
  using A2 = std::array<std::size_t, 2>;
  using A4 = std::array<std::size_t, 4>;
  const std::size_t O = W.shape()[0];
  const std::size_t K = std::size_t(g.c) * std::size_t(g.kh) * std::size_t(g.kw);  // W's size fits: no overflow
  const std::size_t L = checked_size(op, A2{std::size_t(g.oh), std::size_t(g.ow)});
  checked_size(op, A4{X.shape()[0], O, std::size_t(g.oh), std::size_t(g.ow)});
  checked_size(op, A4{X.shape()[0], std::size_t(g.c * g.kh * g.kw), std::size_t(g.oh), std::size_t(g.ow)});
  if (L > INT_MAX || O > INT_MAX || K > INT_MAX)
    fail(op, ": gemm extents C·KH·KW = ", K, ", OH·OW = ", g.oh, "·", g.ow, " or O = ", O, " exceed int for x ",
         shape_str(X.shape()), ", weight ", shape_str(W.shape()));
  return g;
}

template <class T>
Var<T> conv2d_impl(const Var<T>& x, const Var<T>& w, const Var<T>* b, const Conv2dOptions& options) {
  Tape<T>& t = x.tape("conv2d");
  t.check(x, "conv2d");
  t.check(w, "conv2d");
  if (b) t.check(*b, "conv2d");
  const Tensor<T>& X = t.value_of(x.id());
  const Tensor<T>& W = t.value_of(w.id());
  const Tensor<T>* B = b ? &t.value_of(b->id()) : nullptr;
  const Window2d g = check_conv2d(X, W, B, options);
  const std::int64_t O = std::int64_t(W.shape()[0]), K = g.c * g.kh * g.kw, L = g.oh * g.ow;
  const Var<T> inputs[3] = {x, w, b ? *b : Var<T>()};

  // y[n] = W·col[n] + b: db = Σ_{n,l} dy[n,·,l], dW = Σ_n dy[n]·col[n]ᵀ, dx[n] = col2im(Wᵀ·dy[n])
  Record<T>& r = t.push("conv2d", inputs, b ? 3 : 2, [](Tape<T>& t, Record<T>& r) {
    const Conv2dSaved<T>& s = r.template saved<Conv2dSaved<T>>();
    const Window2d& g = s.g;
    const Tensor<T>& X = t.value_of(r.inputs[0]);
    const Tensor<T>& W = t.value_of(r.inputs[1]);
    const std::int64_t O = std::int64_t(W.shape()[0]), K = g.c * g.kh * g.kw, L = g.oh * g.ow;
    const std::int64_t plane = g.c * g.h * g.w;
    const T* dy = r.grad.data();
    bool fresh = false;
    if (r.n_inputs == 3)
      if (Tensor<T>* db = t.grad_buffer(r.inputs[2], fresh)) {
        for (std::int64_t o = 0; o < O; ++o) {
          T acc = 0;
          for (std::int64_t n = 0; n < g.n; ++n) {
            const T* row = dy + (n * O + o) * L;
            T part = 0;
            for (std::int64_t l = 0; l < L; ++l) part += row[l];
            acc += part;
          }
          (*db)(o) = fresh ? acc : (*db)(o) + acc;
        }
      }
    if (Tensor<T>* dw = t.grad_buffer(r.inputs[1], fresh)) {
      if (fresh && g.n == 0) std::fill(dw->begin(), dw->end(), T(0));
      const T* cols = s.direct ? X.data() : r.buffer(s.cols).data();
      const std::int64_t step = s.direct ? plane : K * L;
      for (std::int64_t n = 0; n < g.n; ++n)
        gemm(false, true, O, K, L, dy + n * O * L, L, cols + n * step, L, (n == 0 && fresh) ? T(0) : T(1),
             dw->data(), K);
    }
    if (Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh)) {
      if (fresh && !s.direct) std::fill(dx->begin(), dx->end(), T(0));
      if (s.direct) {
        for (std::int64_t n = 0; n < g.n; ++n)
          gemm(true, false, K, L, O, W.data(), K, dy + n * O * L, L, fresh ? T(0) : T(1), dx->data() + n * plane, L);
        return;
      }
      r.scratch.resize({std::size_t(K), std::size_t(L)});
      T* dcol = r.scratch.data();
      for (std::int64_t n = 0; n < g.n; ++n) {
        gemm(true, false, K, L, O, W.data(), K, dy + n * O * L, L, T(0), dcol, L);
        im2col<true, T>(g, dcol, dx->data() + n * plane);
      }
    }
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const Window2d& g = r.template saved<Conv2dSaved<T>>().g;
    const Conv2dOptions o = Conv2dOptions().stride({g.sh, g.sw}).padding({g.ph, g.pw}).dilation({g.dh, g.dw});
    return r.n_inputs == 3 ? conv2d(x[0], x[1], x[2], o) : conv2d(x[0], x[1], o);
  });
  const bool direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
  const bool keep = !direct && r.requires_grad && t.needs_grad(w.id());
  Conv2dSaved<T> s{g, Slot<Tensor<T>>{}, keep, direct};
  T* cols = nullptr;
  if (!direct) {
    s.cols = r.template claim<Tensor<T>>();
    Tensor<T>& c = r.buffer(s.cols);
    c.resize({keep ? std::size_t(g.n) : std::size_t(1), std::size_t(K), std::size_t(L)});
    cols = c.data();
  }
  r.value.resize({std::size_t(g.n), std::size_t(O), std::size_t(g.oh), std::size_t(g.ow)});
  const std::int64_t plane = g.c * g.h * g.w;
  for (std::int64_t n = 0; n < g.n; ++n) {
    const T* xn = X.data() + n * plane;
    const T* cn = xn;
    if (!direct) {
      T* dst = cols + (keep ? n * K * L : 0);
      im2col<false, T>(g, dst, xn);
      cn = dst;
    }
    T* yn = r.value.data() + n * O * L;
    if (B)
      for (std::int64_t o = 0; o < O; ++o) std::fill(yn + o * L, yn + (o + 1) * L, (*B)(o));
    gemm(false, false, O, L, K, W.data(), K, cn, L, B ? T(1) : T(0), yn, L);
  }
  r.save(s);
  return t.commit(r);
}

}  // namespace

template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Conv2dOptions& options) {
  return conv2d_impl<T>(x, weight, nullptr, options);
}
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const Conv2dOptions& options) {
  return conv2d_impl<T>(x, weight, &bias, options);
}
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, Pair2 stride, Pair2 padding, Pair2 dilation) {
  return conv2d_impl<T>(x, weight, nullptr, Conv2dOptions().stride(stride).padding(padding).dilation(dilation));
}
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, Pair2 stride, Pair2 padding,
              Pair2 dilation) {
  return conv2d_impl<T>(x, weight, &bias, Conv2dOptions().stride(stride).padding(padding).dilation(dilation));
}

#define TAPEGRAD_CONV2D(T)                                                                                  \
  template Var<T> conv2d(const Var<T>&, const Var<T>&, const Conv2dOptions&);                              \
  template Var<T> conv2d(const Var<T>&, const Var<T>&, const Var<T>&, const Conv2dOptions&);               \
  template Var<T> conv2d(const Var<T>&, const Var<T>&, Pair2, Pair2, Pair2);                               \
  template Var<T> conv2d(const Var<T>&, const Var<T>&, const Var<T>&, Pair2, Pair2, Pair2);
TAPEGRAD_CONV2D(float)
TAPEGRAD_CONV2D(double)
#undef TAPEGRAD_CONV2D

}  // namespace tapegrad
