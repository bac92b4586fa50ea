#pragma once
// Softmax cross-entropy, L_i = w[y_i]·(log Σ_j exp(s_ij) − s_{i,y_i}), computed
// through log-sum-exp with the row maximum subtracted (no overflow at s = 1e4).
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
