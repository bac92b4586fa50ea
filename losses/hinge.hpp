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
// Conventions, identical on every path: z_j = (s_j − s_{y_i}) + Δ in that order of
// operations; a term whose z is exactly 0 adds no loss and no gradient (indicator
// z > 0; relu'(0) = 0); ties for the Crammer–Singer maximum split the gradient evenly,
// as the max reduction does. With C = 1 there is no wrong class: no loss, no gradient.
// Errors (tapegrad::Error, starting with the function's name): scores not 2-D,
// labels not (N), a label outside [0, C), weights not (C) or not finite, p not 1
// or 2, a non-finite margin or score (named by row and column), a mean of 0 rows;
// for multiclass_hinge also an unknown kernel, or a forced kernel that cannot run.
//
// The loss exists three times:
//   multiclass_hinge_composed  built from public tape ops only (losses/hinge_composed.cpp);
//   multiclass_hinge_reference the fused op as plain loops: check, forward, and a
//                              backward that mirrors it (losses/hinge_reference.cpp);
//   multiclass_hinge           the same op on fast kernels (losses/hinge_rows.hpp,
//                              losses/hinge_cs_argmax.hpp, losses/hinge_avx512.hpp),
//                              picked by hinge_kernel_for
//                              (losses/hinge_dispatch.cpp), each verified exactly
//                              against the reference.
#include <cstddef>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

enum class HingeKind { weston_watkins, crammer_singer };
enum class Reduction { mean, sum, none };

// The loops multiclass_hinge runs (the forward, and the backward that mirrors it):
//   reference       the plain loops of multiclass_hinge_reference (any dtype, shape, options)
//   rows            xsimd loops over each row's segments [0, y) and (y, C) (any dtype,
//                   shape, options); recomputes everything from the scores in backward
//   small_avx512    float rows of 1 to 16 classes, one masked AVX-512 vector per row
//   ww_bits_avx512  float Weston–Watkins with p = 1 on AVX-512: the forward saves one
//                   violation bit per score and the backward reads only those bits
//   cs_argmax       Crammer–Singer (any dtype and width): the forward saves where each
//                   row's maximum first occurs and how many tie; backward touches those
//   automatic       whatever hinge_kernel_for picks (the default)
enum class HingeKernel { automatic, reference, rows, small_avx512, ww_bits_avx512, cs_argmax };

struct HingeOptions {
  HingeKind kind = HingeKind::weston_watkins;
  double margin = 1.0;
  int p = 1;
  Reduction reduction = Reduction::mean;
  // multiclass_hinge only (the reference and composed ops ignore it): force a kernel,
  // e.g. to verify or time it; one that cannot run here is an Error.
  HingeKernel kernel = HingeKernel::automatic;
};

// The fused op. Labels and weights are kept in the record's reused buffers, so a
// training step allocates nothing once warm.
template <class T>
Var<T> multiclass_hinge(const Var<T>& scores, const IndexTensor& labels, const HingeOptions& options = {},
                        const Tensor<T>* weights = nullptr);

// The fused op's reference: the same values and gradients from plain scalar loops
// (what to read for the math; the ground truth the kernels are tested against).
template <class T>
Var<T> multiclass_hinge_reference(const Var<T>& scores, const IndexTensor& labels,
                                  const HingeOptions& options = {}, const Tensor<T>* weights = nullptr);

// The composed reference: only public tape ops (gather, arithmetic, relu, masks,
// reductions).
template <class T>
Var<T> multiclass_hinge_composed(const Var<T>& scores, const IndexTensor& labels,
                                 const HingeOptions& options = {}, const Tensor<T>* weights = nullptr);

// The kernel multiclass_hinge runs for T scores with `classes` columns and these
// options: options.kernel when it is forced (an Error naming multiclass_hinge and the
// kernel when that kernel cannot run for this dtype, width, kind, p or ISA), else the
// fastest that can. Weights, the reduction and the row count never change the choice.
template <class T>
HingeKernel hinge_kernel_for(std::size_t classes, const HingeOptions& options);

// Why `kernel` cannot run for T scores with `classes` columns and these options, or
// nullptr when it can (automatic always can).
template <class T>
const char* hinge_kernel_unavailable(HingeKernel kernel, std::size_t classes, const HingeOptions& options);

// "reference", "rows", ... (the enumerator's name; "unknown" for an invalid value).
const char* hinge_kernel_name(HingeKernel kernel);

}  // namespace tapegrad
