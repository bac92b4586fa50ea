#pragma once
// Softmax cross-entropy, L_i = w[y_i]·(log Σ_j exp(s_ij) − s_{i,y_i}), computed
// through log-sum-exp with the row maximum subtracted (finite at s = 1e4, in float).
// Reductions follow PyTorch's cross_entropy: sum, none (shape (N)), and mean, which
// divides by N without weights and by Σ_i w[y_i] with them (an Error when that is 0).
// The fused op saves the local gradient c_i·(softmax(s_i) − onehot(y_i)) during
// forward; the composed one is built from exp, sum, log, gather (and one_hot for
// the weights) with the row maximum as a constant shift. Errors as for the hinge.
#include "core/tape.hpp"
#include "losses/hinge.hpp"  // Reduction

namespace tapegrad {

template <class T>
Var<T> softmax_cross_entropy(const Var<T>& scores, const IndexTensor& labels,
                             Reduction reduction = Reduction::mean, const Tensor<T>* weights = nullptr);

template <class T>
Var<T> softmax_cross_entropy_composed(const Var<T>& scores, const IndexTensor& labels,
                                      Reduction reduction = Reduction::mean,
                                      const Tensor<T>* weights = nullptr);

}  // namespace tapegrad
