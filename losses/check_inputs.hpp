#pragma once
// Input validation shared by the classification losses (hinge and softmax
// cross-entropy, fused and composed), so both paths reject the same misuse with
// the same message: a composed loss must not fail later inside gather with a
// message that names gather instead of the loss.
#include <cstddef>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/losses/hinge.hpp>

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

// Everything a hinge call can get wrong, raised in this order: check_class_inputs,
// then check_hinge_options.
template <class T>
ClassDims check_hinge_inputs(const char* op, const Tensor<T>& scores, const IndexTensor& labels,
                             const HingeOptions& options, const Tensor<T>* weights);

// The checks of check_hinge_inputs that cost O(C), as a predicate (nothing thrown):
// true when only the O(N·C) ones (labels in [0, C), finite scores) may still fail.
// A fused op whose forward makes those in its own pass calls check_hinge_inputs when
// this is false (it then throws the first problem, in the order above).
template <class T>
bool hinge_arguments_ok(const Tensor<T>& scores, const IndexTensor& labels, const HingeOptions& options,
                        const Tensor<T>* weights);

// The divisor of a mean: N without weights, Σ_i w[y_i] with them (as PyTorch's
// cross_entropy); an Error when it is 0.
template <class T>
double weighted_row_count(const char* op, const IndexTensor& labels, const Tensor<T>* weights);

// Everything a softmax cross-entropy call can get wrong (check_class_inputs, an
// unknown reduction, an undefined mean), and what the op needs from it: the shapes
// and the mean's divisor (weighted_row_count for a mean, else 1).
struct SoftmaxDims {
  ClassDims dims;
  double divisor;
};
template <class T>
SoftmaxDims check_softmax_inputs(const char* op, const Tensor<T>& scores, const IndexTensor& labels,
                                 Reduction reduction, const Tensor<T>* weights);

extern template ClassDims check_class_inputs<float>(const char*, const Tensor<float>&, const IndexTensor&,
                                                    const Tensor<float>*);
extern template ClassDims check_class_inputs<double>(const char*, const Tensor<double>&, const IndexTensor&,
                                                     const Tensor<double>*);
extern template ClassDims check_hinge_inputs<float>(const char*, const Tensor<float>&, const IndexTensor&,
                                                    const HingeOptions&, const Tensor<float>*);
extern template ClassDims check_hinge_inputs<double>(const char*, const Tensor<double>&, const IndexTensor&,
                                                     const HingeOptions&, const Tensor<double>*);
extern template bool hinge_arguments_ok<float>(const Tensor<float>&, const IndexTensor&, const HingeOptions&,
                                               const Tensor<float>*);
extern template bool hinge_arguments_ok<double>(const Tensor<double>&, const IndexTensor&, const HingeOptions&,
                                                const Tensor<double>*);
extern template SoftmaxDims check_softmax_inputs<float>(const char*, const Tensor<float>&, const IndexTensor&,
                                                        Reduction, const Tensor<float>*);
extern template SoftmaxDims check_softmax_inputs<double>(const char*, const Tensor<double>&, const IndexTensor&,
                                                         Reduction, const Tensor<double>*);
extern template double weighted_row_count<float>(const char*, const IndexTensor&, const Tensor<float>*);
extern template double weighted_row_count<double>(const char*, const IndexTensor&, const Tensor<double>*);

}  // namespace tapegrad::detail
