#pragma once
// What conv2d and the 2-D pools share: an (h, w) pair of ints (one int means both,
// as libtorch's ExpandingArray<2>) and, internal to ops/, the checked geometry of
// a sliding window over an NCHW tensor.
#include <cstddef>
#include <cstdint>
#include <string>

#include <tapegrad/core/error.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tapegrad {

// A stride, padding, dilation or kernel size: (h, w); Pair2(3) is (3, 3).
struct Pair2 {
  std::int64_t h = 0, w = 0;
  Pair2(std::int64_t both) : h(both), w(both) {}  // NOLINT: implicit, as PyTorch's int-or-tuple
  Pair2(std::int64_t h_, std::int64_t w_) : h(h_), w(w_) {}
};

inline std::string pair_str(Pair2 p) { return "(" + std::to_string(p.h) + ", " + std::to_string(p.w) + ")"; }

namespace detail {

// One window pass over x (N, C, H, W) with a kernel (KH, KW): output (N, ·, OH, OW).
// Element (oh, ow) of a plane reads rows oh·SH − PH + i·DH, columns
// ow·SW − PW + j·DW (i < KH, j < KW); rows and columns outside [0, H) × [0, W)
// are padding. Every extent is checked to fit in int64 (and gemm's int).
struct Window2d {
  std::int64_t n, c, h, w;    // input
  std::int64_t kh, kw;        // kernel
  std::int64_t sh, sw, ph, pw, dh, dw;
  std::int64_t oh, ow;        // output plane
};

// floor((in + 2p − d(k − 1) − 1) / s) + 1, or a value < 1 when the padded input is
// shorter than the dilated kernel; computed without overflow (callers have checked
// 0 < in, k, s, d < 2^62 and 0 <= p < 2^62).
inline std::int64_t window_extent(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p,
                                  std::int64_t d) {
  const __int128 num = static_cast<__int128>(in) + 2 * static_cast<__int128>(p) -
                       static_cast<__int128>(d) * (k - 1) - 1;
  if (num < 0) return 0;
  const __int128 out = num / s + 1;
  return out > static_cast<__int128>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(out);
}

constexpr std::int64_t kMaxWindowParam = std::int64_t(1) << 62;

// Fills the stride, padding and dilation of g after checking them: stride and
// dilation positive, padding non-negative (an Error naming `op` and the values).
inline void check_window_params(const char* op, Window2d& g, Pair2 stride, Pair2 padding, Pair2 dilation) {
  if (stride.h <= 0 || stride.w <= 0) fail(op, ": stride must be positive, got ", pair_str(stride));
  if (dilation.h <= 0 || dilation.w <= 0) fail(op, ": dilation must be positive, got ", pair_str(dilation));
  if (padding.h < 0 || padding.w < 0) fail(op, ": padding must be non-negative, got ", pair_str(padding));
  if (stride.h >= kMaxWindowParam || stride.w >= kMaxWindowParam || dilation.h >= kMaxWindowParam ||
      dilation.w >= kMaxWindowParam || padding.h >= kMaxWindowParam || padding.w >= kMaxWindowParam)
    fail(op, ": stride ", pair_str(stride), ", padding ", pair_str(padding), " or dilation ", pair_str(dilation),
         " is too large (at least 2^62)");
  g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w, g.dh = dilation.h, g.dw = dilation.w;
}

// A pool's kernel, stride (the kernel when none is given) and padding, checked:
// kernel and stride positive, padding non-negative and at most half the kernel
// (PyTorch's rule, so every window holds an element of x); fills g's kernel,
// stride, padding and dilation 1.
inline void check_pool_params(const char* op, Window2d& g, Pair2 kernel, Pair2 stride, Pair2 padding) {
  if (kernel.h <= 0 || kernel.w <= 0) fail(op, ": kernel size must be positive, got ", pair_str(kernel));
  if (kernel.h >= kMaxWindowParam || kernel.w >= kMaxWindowParam)
    fail(op, ": kernel size ", pair_str(kernel), " is too large (at least 2^62)");
  check_window_params(op, g, stride, padding, 1);
  if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2)
    fail(op, ": padding ", pair_str(padding), " must be at most half the kernel ", pair_str(kernel));
  g.kh = kernel.h, g.kw = kernel.w;
}

// x must be (N, C, H, W) with non-empty C, H and W (N may be 0).
template <class S>
void check_nchw(const char* op, const S& shape) {
  if (shape.size() != 4) fail(op, ": expected x of shape (N, C, H, W), got ", shape_str(shape));
  if (shape[1] == 0 || shape[2] == 0 || shape[3] == 0)
    fail(op, ": x ", shape_str(shape), " has an empty channel or spatial axis");
  checked_size(op, shape);
  for (std::size_t k = 0; k < 4; ++k)
    if (shape[k] >= static_cast<std::size_t>(kMaxWindowParam))
      fail(op, ": x ", shape_str(shape), " has an extent of at least 2^62");
}

// The output plane of g (kernel, input and parameters set): an Error naming `op`
// and context() (called only on failure, so a valid call builds no string) when it
// is smaller than 1×1, or when a padded extent reaches 2^62.
template <class Context>
void set_output_plane(const char* op, Window2d& g, Context&& context) {
  if (g.h + 2 * g.ph >= kMaxWindowParam || g.w + 2 * g.pw >= kMaxWindowParam)
    fail(op, ": the padded input is too large (2^62 or more) for ", context());
  g.oh = window_extent(g.h, g.kh, g.sh, g.ph, g.dh);
  g.ow = window_extent(g.w, g.kw, g.sw, g.pw, g.dw);
  if (g.oh < 1 || g.ow < 1) fail(op, ": output size (", g.oh, ", ", g.ow, ") is less than 1 for ", context());
}

}  // namespace detail
}  // namespace tapegrad
