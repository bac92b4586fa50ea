#pragma once
// Input validation shared by the classification losses (hinge and softmax
// cross-entropy, fused and composed), so both paths reject the same misuse with
// the same message: a composed loss must not fail later inside gather with a
// message that names gather instead of the loss.
#include <cstddef>

#include "core/tensor.hpp"
#include "losses/hinge.hpp"

namespace tapegrad::detail {

struct ClassDims {
  std::size_t rows;     // N
  std::size_t classes;  // C
};

// scores is (N, C) and finite, labels is (N) with every entry in [0, C), and
// weights (if given) is (C) and finite. `op` starts every message.
template <class T>
ClassDims check_class_inputs(const char* op, const Tensor<T>& scores, const IndexTensor& labels,
                             const Tensor<T>* weights);

// p ∈ {1, 2}, a finite margin, and a mean that is defined (N > 0).
void check_hinge_options(const char* op, const HingeOptions& options, std::size_t rows);

// The divisor of a mean: N without weights, Σ_i w[y_i] with them (as PyTorch's
// cross_entropy); an Error when it is 0.
template <class T>
double weighted_row_count(const char* op, const IndexTensor& labels, const Tensor<T>* weights);

extern template ClassDims check_class_inputs<float>(const char*, const Tensor<float>&, const IndexTensor&,
                                                    const Tensor<float>*);
extern template ClassDims check_class_inputs<double>(const char*, const Tensor<double>&, const IndexTensor&,
                                                     const Tensor<double>*);
extern template double weighted_row_count<float>(const char*, const IndexTensor&, const Tensor<float>*);
extern template double weighted_row_count<double>(const char*, const IndexTensor&, const Tensor<double>*);

}  // namespace tapegrad::detail
