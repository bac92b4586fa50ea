#pragma once
// 2-D convolution (cross-correlation, as PyTorch's conv2d) over NCHW tensors,
// groups = 1:
//
//   y[n, o, i, j] = b[o] + Σ_{c, p, q} w[o, c, p, q] · x[n, c, i·sh − ph + p·dh, j·sw − pw + q·dw]
//
// with x read as 0 outside its H × W plane (zero padding). x is (N, C, H, W),
// w is (O, C, KH, KW), the optional bias is (O); y is (N, O, OH, OW) with
// OH = floor((H + 2·ph − dh·(KH − 1) − 1) / sh) + 1 (likewise OW), as PyTorch.
//
// Computed per image through gemm on im2col columns (K = C·KH·KW rows, OH·OW
// columns): y[n] = W·col[n]; backward dW = Σ_n dy[n]·col[n]ᵀ, dx[n] = col2im(Wᵀ·dy[n]),
// db[o] = Σ_{n,i,j} dy[n, o, i, j]. The columns of the whole batch are a named
// buffer of the record when w needs a gradient (so the backward does not redo
// im2col); a 1×1 kernel with stride 1 and no padding uses x itself as its columns.
//
// Errors (tapegrad::Error, naming conv2d and the shapes): x or w not rank 4; an
// empty channel or spatial axis of x (N = 0 is an empty batch); an empty kernel;
// w's C different from x's; a bias not of shape (O); stride or dilation < 1;
// padding < 0; an output smaller than 1×1; sizes whose products overflow, or
// gemm extents (K, OH·OW, O) beyond int.
#include <tapegrad/core/tape.hpp>
#include <tapegrad/ops/window.hpp>

namespace tapegrad {

// torch::nn::functional::Conv2dFuncOptions without bias (passed as an argument)
// and groups: Conv2dOptions().stride(2).padding(1).
class Conv2dOptions {
 public:
  Conv2dOptions() {}  // user-provided: not an aggregate, so {1, 1} never means options
  Conv2dOptions& stride(Pair2 v) { return set(stride_, v); }
  Conv2dOptions& padding(Pair2 v) { return set(padding_, v); }
  Conv2dOptions& dilation(Pair2 v) { return set(dilation_, v); }
  Pair2 stride() const { return stride_; }
  Pair2 padding() const { return padding_; }
  Pair2 dilation() const { return dilation_; }

 private:
  Conv2dOptions& set(Pair2& field, Pair2 v) {
    field = v;
    return *this;
  }
  Pair2 stride_{1}, padding_{0}, dilation_{1};
};

template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Conv2dOptions& options = Conv2dOptions());
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias,
              const Conv2dOptions& options = Conv2dOptions());
// conv2d(x, w, 1, 1): stride 1, padding 1 (no bias); conv2d(x, w, b, {2, 1}, 0, 2).
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, Pair2 stride, Pair2 padding = 0, Pair2 dilation = 1);
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, Pair2 stride, Pair2 padding = 0,
              Pair2 dilation = 1);

}  // namespace tapegrad
