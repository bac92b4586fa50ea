#pragma once
// check_hinge_gradient: is a learner's gradient of the multiclass hinge right?
//
// Given scores S (N×C), labels, HingeOptions (kind, Δ, p, reduction mean or sum) and
// optional class weights, it takes a candidate dL/dscores (N×C), or with X (N×D) a
// candidate dL/dW for S = X·W (D×C), and reports whether every entry lies within
// per-element tolerances of a valid gradient, and if not, why (grouped by cause).
//
// Valid gradients: the subdifferential. With c_i = w[y_i] (1 without weights) ÷ N
// for the mean, and z_ij = (s_ij − s_iy) + Δ, every valid dL/dscores has, row by row,
//   Weston–Watkins  ds_j = c_i·α_j·(p = 1: 1, p = 2: 2 z_j)   for j ≠ y,  ds_y = −Σ_{j≠y} ds_j
//                   α_j = 1 for z_j > 0, 0 for z_j < 0, and any α_j ∈ [0, 1] when z_j = 0
//                   and p = 1 (a box; p = 2 is differentiable there, α irrelevant)
//   Crammer–Singer  ds_j = c_i·g·β_j for the wrong classes j tied for the largest score
//                   (0 for the others), ds_y = −Σ_j ds_j, with g = 1 (p = 1) or 2z (p = 2),
//                   z = (max_{j≠y} s_j − s_y) + Δ, and β in
//                     z < 0: β = 0;   z > 0: the simplex β ≥ 0, Σβ = 1 (a single maximum:
//                     β = 1);   z = 0, p = 1: the capped simplex β ≥ 0, Σβ ≤ 1 (the convex
//                     hull of 0 and the simplex; p = 2: β = 0)
// and dL/dW = Xᵀ·(dL/dscores), so the valid dL/dW are the image of that set (e.g. α·x_i
// added to column j and subtracted from column y_i for a margin exactly 0). The loss is
// a sum over rows of convex terms (scaled by c_i), so this product of per-row sets is
// its whole subdifferential. A margin or a tie within round-off (4 ε of the operands'
// magnitudes in the scores' dtype) counts as exact: both sides are accepted there.
// tapegrad's own convention is the point α = 0 at z = 0, β split evenly among exact ties.
//
// Comparison: an entry g is right when |g − r| ≤ atol + rtol·|r| for r the entry of a
// valid gradient. With no kink in the data r is the unique gradient; with kinks the
// check first compares with tapegrad's convention, then with the valid gradient nearest
// to the candidate (least squares over α and β, by projected gradient with
// backtracking), and lists the kinks where the candidate picks another subgradient.
//
// Causes, tried in this order on a wrong gradient: shape (no gradient has its shape;
// X's shape (N, D) is named), transposed (its transpose has the right shape, or, when
// square, is right), scale (the whole gradient is k times a valid one: k = N, a missing
// 1/N; 1/N; 1/C, PyTorch's MultiMarginLoss; −1, the sign; 2 or ½; any other k), then
// whole-gradient models of the two usual slips, alone or together, times the same
// factors: margins ≤ 0 counted as violations (a missing max(0, ·)) and a wrong
// true-class entry (sign +Σ, count: −1 per row or −(C − 1) instead of −Σ, or missing:
// 0). Whatever matches none is `other`, with the worst entries.
//
// Errors (tapegrad::Error, starting "check_hinge_gradient: "): the inputs
// multiclass_hinge refuses, reduction none (no scalar loss, no gradient), X not
// (N, D) or not finite, non-finite gradient entries, negative or non-finite tolerances.
#include <cstddef>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/losses/hinge.hpp>

namespace tapegrad {

// |candidate − valid| ≤ atol + rtol·|valid|, element by element.
struct HingeCheckTolerance {
  double atol;
  double rtol;
};

// The defaults: numpy.allclose's for float64, looser for float32 (round-off of sums).
constexpr HingeCheckTolerance default_hinge_check_tolerance(bool single_precision) {
  return single_precision ? HingeCheckTolerance{1e-6, 1e-4} : HingeCheckTolerance{1e-8, 1e-5};
}

enum class HingeCheckCause {
  shape,               // a shape no gradient has
  transposed,          // the transpose of a gradient
  scale,               // k times a valid gradient
  unclamped_margins,   // margins ≤ 0 counted as violations (a missing max(0, ·))
  true_class_sign,     // ds_y = +Σ_{j≠y} ds_j instead of −Σ
  true_class_count,    // ds_y = −c (one per row) or −c·(C − 1) (every wrong class)
  true_class_missing,  // ds_y = 0
  other                // none of these: the worst entries are listed
};

// "shape", "transposed", "scale", "unclamped-margins", "true-class-sign",
// "true-class-count", "true-class-missing", "other".
const char* hinge_check_cause_name(HingeCheckCause cause);

// An entry of the checked gradient (dL/dscores: row i, class j; dL/dW: feature k,
// class j): the candidate's value and the value a right gradient has there.
struct HingeCheckEntry {
  std::size_t row = 0, col = 0;
  double got = 0, expected = 0;
};

struct HingeCheckFinding {
  HingeCheckCause cause = HingeCheckCause::other;
  std::string what;                      // one sentence: what differs and why
  double factor = 1;                     // scale (and the models' factor): got = factor × right
  std::size_t count = 0;                 // score entries (i, j) this cause explains
  std::vector<HingeCheckEntry> entries;  // dL/dscores: up to 5 of them; other: the worst entries
};

// A kink where the candidate picked another subgradient than tapegrad's convention.
struct HingeCheckKink {
  std::size_t row = 0, cls = 0;    // score entry (i, j), j ≠ y_i
  std::size_t label = 0;           // y_i, whose entry gives back what (i, j) takes
  bool tie = false;                // one of several wrong classes tied for the maximum
  bool margin_zero = false;        // the (row's) margin is exactly 0
  double scale = 0;                // the entry is scale·coefficient (c_i, or c_i·2z)
  double tapegrad = 0, yours = 0;  // the coefficient: α, or β (the share of the row's gradient)
  double low = 0, high = 0;        // the entry's range, scale·[0, 1] (ordered)
};

struct HingeCheckReport {
  bool right = false;
  bool wrt_weights = false;             // dL/dW (X given), else dL/dscores
  Shape expected_shape, got_shape;
  std::size_t checked = 0;              // entries compared (0 when the shape is wrong)
  std::size_t wrong = 0;                // entries outside the tolerance of the nearest valid gradient
  double max_abs_error = 0;             // against that nearest valid gradient
  std::size_t kinks = 0;                // free coefficients in the data (margins 0, tied classes)
  std::vector<HingeCheckKink> accepted;  // accepted at a kink, not compared with the convention
  std::vector<HingeCheckFinding> findings;  // why it is wrong, by cause (empty when right)
  HingeCheckTolerance tolerance{};
};

namespace detail {
template <class T>
struct NonDeduced {
  using type = T;
};
}  // namespace detail

// x: nullptr to check dL/dscores, else X (N×D) to check dL/dW. T comes from the
// scores alone, so the gradient may be an expression and weights or x a nullptr.
template <class T>
HingeCheckReport check_hinge_gradient(const Tensor<T>& scores, const IndexTensor& labels,
                                      const typename detail::NonDeduced<Tensor<T>>::type& gradient,
                                      const HingeOptions& options = {},
                                      const typename detail::NonDeduced<Tensor<T>>::type* weights = nullptr,
                                      const typename detail::NonDeduced<Tensor<T>>::type* x = nullptr,
                                      HingeCheckTolerance tolerance = default_hinge_check_tolerance(sizeof(T) == 4));

// The report as lines of text (what hinge_grad --check prints): "right: ..." or
// "wrong: ...", then one line per accepted kink or finding and its entries.
std::string describe(const HingeCheckReport& report);

}  // namespace tapegrad
