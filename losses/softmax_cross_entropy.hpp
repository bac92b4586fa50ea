#pragma once
// Softmax cross-entropy, L_i = w[y_i]·(log Σ_j exp(s_ij) − s_{i,y_i}), computed
// through log-sum-exp with the row maximum subtracted (finite at s = 1e4, in float).
// Reductions follow PyTorch's cross_entropy: sum, none (shape (N)), and mean, which
// divides by N without weights and by Σ_i w[y_i] with them (an Error when that is 0).
// Errors as for the hinge (tapegrad::Error starting with the function's name), and an
// unknown kernel for softmax_cross_entropy.
//
// The loss exists three times, as the hinge does:
//   softmax_cross_entropy_composed  exp, sum, log, gather (one_hot for the weights),
//                                   the row maximum as a constant shift;
//   softmax_cross_entropy_reference plain loops with std::exp: check, forward, and a
//                                   backward that recomputes the same softmax
//                                   (losses/softmax_reference.cpp);
//   softmax_cross_entropy           the xsimd kernel (losses/softmax_rows.hpp), which
//                                   saves the local gradient c_i·(softmax(s_i) −
//                                   onehot(y_i)) in forward, so backward is one pass.
// The kernel exponentiates with xsimd::exp (within a few ulp of std::exp) in its
// vector body and std::exp in its scalar tail, and sums in lanes: it agrees with the
// reference to a few ulp, exactly on rows narrower than one SIMD batch.
#include <cstddef>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/losses/hinge.hpp>  // Reduction

namespace tapegrad {

// The loops softmax_cross_entropy runs: the reference's (only when forced) or the
// xsimd rows (any dtype and width); automatic picks through softmax_kernel_for.
enum class SoftmaxKernel { automatic, reference, rows };

template <class T>
Var<T> softmax_cross_entropy(const Var<T>& scores, const IndexTensor& labels,
                             Reduction reduction = Reduction::mean, const Tensor<T>* weights = nullptr,
                             SoftmaxKernel kernel = SoftmaxKernel::automatic);

template <class T>
Var<T> softmax_cross_entropy_reference(const Var<T>& scores, const IndexTensor& labels,
                                       Reduction reduction = Reduction::mean, const Tensor<T>* weights = nullptr);

template <class T>
Var<T> softmax_cross_entropy_composed(const Var<T>& scores, const IndexTensor& labels,
                                      Reduction reduction = Reduction::mean,
                                      const Tensor<T>* weights = nullptr);

// The kernel softmax_cross_entropy runs for T scores of `classes` columns: `forced`
// unless it is automatic, else rows. Every kernel runs everywhere; an invalid enum
// value is an Error naming softmax_cross_entropy.
template <class T>
SoftmaxKernel softmax_kernel_for(std::size_t classes, SoftmaxKernel forced = SoftmaxKernel::automatic);

// "automatic", "reference", "rows" ("unknown" for an invalid value).
const char* softmax_kernel_name(SoftmaxKernel kernel);

}  // namespace tapegrad
