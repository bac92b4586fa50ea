#pragma once
// Multiclass hinge (SVM) losses for scores s (N×C) and labels y (N integers in [0, C)):
//   Weston–Watkins: L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)^p   (cs231n's SVM loss)
//   Crammer–Singer: L_i = max(0, max_{j≠y_i} s_j − s_{y_i} + Δ)^p
// p ∈ {1, 2}; optional per-class weights w (length C) scale row i by w[y_i], as
// PyTorch's MultiMarginLoss(weight=w); reduction mean (÷N, also with weights) | sum |
// none (one value per row, shape (N)).
// No hidden ÷C. Relations to other libraries:
//   - PyTorch's MultiMarginLoss(p, margin, weight) = Weston–Watkins mean / C
//     (PyTorch divides each row by the class count).
//   - mlpack's LinearSVMFunction data term = Weston–Watkins, p = 1, mean (its loss
//     adds ½λ‖W‖²), and cs231n's svm_loss_naive/vectorized the same with Δ = 1.
// Conventions, identical on both paths: a term whose margin is exactly 0 adds no
// loss and no gradient (indicator z > 0; relu'(0) = 0); ties for the Crammer–Singer
// maximum split the gradient evenly, as the max reduction does. With C = 1 there is
// no wrong class: no loss, no gradient.
// Errors (tapegrad::Error, starting with the function's name): scores not 2-D,
// labels not (N), a label outside [0, C), weights not (C) or not finite, p not 1
// or 2, a non-finite margin or score (named by row and column), a mean of 0 rows.
#include "core/tape.hpp"

namespace tapegrad {

enum class HingeKind { weston_watkins, crammer_singer };
enum class Reduction { mean, sum, none };

struct HingeOptions {
  HingeKind kind = HingeKind::weston_watkins;
  double margin = 1.0;
  int p = 1;
  Reduction reduction = Reduction::mean;
};

// The fused op: one forward loop, one backward loop that mirrors it (same z, same
// z > 0), SIMD over contiguous rows; labels and weights are kept in the record's
// reused buffers, so a training step allocates nothing once warm.
template <class T>
Var<T> multiclass_hinge(const Var<T>& scores, const IndexTensor& labels, const HingeOptions& options = {},
                        const Tensor<T>* weights = nullptr);

// The reference: composed only from public tape ops (gather, arithmetic, relu,
// masks, reductions).
template <class T>
Var<T> multiclass_hinge_composed(const Var<T>& scores, const IndexTensor& labels,
                                 const HingeOptions& options = {}, const Tensor<T>* weights = nullptr);

}  // namespace tapegrad
