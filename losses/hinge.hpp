#pragma once
// Multiclass hinge (SVM) losses for scores s (N×C) and labels y (N integers in [0, C)):
//   Weston–Watkins: L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)^p   (cs231n's SVM loss)
//   Crammer–Singer: L_i = max(0, max_{j≠y_i} s_j − s_{y_i} + Δ)^p
// p ∈ {1, 2}; optional per-class weights w (length C) scale row i by w[y_i];
// reduction mean (÷N) | sum | none (one value per row). No hidden ÷C: PyTorch's
// MultiMarginLoss equals Weston–Watkins mean divided by C.
// Conventions, identical on both paths: a term whose margin is exactly 0 adds no
// loss and no gradient; ties for the Crammer–Singer maximum split the gradient.
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

// The fused op: one forward loop, one backward loop that mirrors it.
template <class T>
Var<T> multiclass_hinge(const Var<T>& scores, const IndexTensor& labels, const HingeOptions& options = {},
                        const Tensor<T>* weights = nullptr);

// The reference: composed only from public tape ops (gather, arithmetic, relu,
// masks, reductions).
template <class T>
Var<T> multiclass_hinge_composed(const Var<T>& scores, const IndexTensor& labels,
                                 const HingeOptions& options = {}, const Tensor<T>* weights = nullptr);

}  // namespace tapegrad
