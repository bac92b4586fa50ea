#pragma once
// 2-D max and average pooling over NCHW tensors, as PyTorch's F.max_pool2d and
// F.avg_pool2d (dilation 1, ceil_mode = false). x is (N, C, H, W); each output
// element (n, c, oh, ow) reads the KH × KW window at rows oh·sh − ph ..,
// columns ow·sw − pw .. of plane (n, c); the output is (N, C, OH, OW) with
// OH = floor((H + 2·ph − KH) / sh) + 1 (likewise OW). The stride defaults to the
// kernel (stride = None in PyTorch); padding must be at most half the kernel
// (PyTorch's rule), so every window holds at least one element of x.
//
// Errors (tapegrad::Error naming the op and the shapes or values): x not rank 4
// or with an empty channel or spatial axis (N = 0 is an empty batch); a kernel
// or stride < 1; padding < 0 or more than half the kernel; an output smaller
// than 1×1; extents of 2^62 or more.
#include <optional>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/ops/window.hpp>

namespace tapegrad {

// y = the maximum of each window, padding read as −∞. Subgradient (conventions in
// docs/design.md): the whole gradient goes to ONE element per window, the FIRST
// maximum in row-major window order when several tie (PyTorch, TensorFlow). A NaN
// is the maximum of any window holding it (as PyTorch: the output is NaN and the
// gradient goes to the window's last NaN, where PyTorch's comparison leaves it).
// The chosen positions are a named index buffer of the record; backward
// dx[argmax] += dy (windows that overlap add).
template <class T>
Var<T> max_pool2d(const Var<T>& x, Pair2 kernel, std::optional<Pair2> stride = std::nullopt, Pair2 padding = 0);

// y = the sum of each window / (KH·KW), padding counted as zeros (PyTorch's
// count_include_pad = true); backward dx[window] += dy / (KH·KW).
template <class T>
Var<T> avg_pool2d(const Var<T>& x, Pair2 kernel, std::optional<Pair2> stride = std::nullopt, Pair2 padding = 0);

}  // namespace tapegrad
