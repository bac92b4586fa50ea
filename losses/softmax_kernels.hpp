#pragma once
// What the fused softmax cross-entropy's kernels share (internal to losses/): the
// problem both the reference loops (losses/softmax_reference.cpp) and the xsimd
// kernel (losses/softmax_rows.hpp) read, and the record's saved state.
#include <cstddef>
#include <cstdint>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/losses/softmax_cross_entropy.hpp>

namespace tapegrad::softmax_impl {

// Row-major N×C scores, their labels, the weights (or nullptr) and the mean's divisor
// (N, or Σ_i w[y_i] with weights; 1 for sum and none).
template <class T>
struct Problem {
  const T* s;
  std::size_t n, c;
  const std::int64_t* y;
  const T* w;
  double divisor;
};

// softmax_cross_entropy's (and the reference's) saved state. The rows kernel keeps
// the local gradient c_i·(softmax(s_i) − onehot(y_i)), c_i = w[y_i]/divisor, so its
// backward is one multiply pass; the reference recomputes it from the scores and so
// keeps the labels and weights, which the rows kernel keeps too, for its replay.
template <class T>
struct Saved {
  SoftmaxKernel kernel;
  Reduction reduction;
  double divisor;
  bool weighted;
  Slot<Tensor<T>> local;     // rows: N×C
  Slot<IndexTensor> labels;
  Slot<Tensor<T>> weights;   // with weights
};

// ---- the reference loops (losses/softmax_reference.cpp) ----------------------------
// Row losses into out (when not null); returns Σ_i of them.
template <class T>
double reference_forward(const Problem<T>& pr, T* out);
// ds = upstream_i · c_i·(softmax(s_i) − onehot(y_i)), written (fresh) or added into g;
// upstream_i = up[per_row ? i : 0].
template <class T>
void reference_backward(const Problem<T>& pr, const T* up, bool per_row, bool fresh, T* g);

}  // namespace tapegrad::softmax_impl
