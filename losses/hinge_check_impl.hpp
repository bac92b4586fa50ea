#pragma once
// What check_hinge_gradient's two files share (internal to losses/): the
// subdifferential of the hinge at the given scores, the space the candidate lives in
// (dL/dscores or dL/dW = Xᵀ·dL/dscores), and the comparison and fit over that set.
// losses/hinge_check.cpp builds the set, losses/hinge_check_fit.cpp compares and fits,
// losses/hinge_check_diagnose.cpp names causes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_check.hpp>

namespace tapegrad::hinge_check_impl {

// One free coefficient θ of the subdifferential: it adds a·θ to entry (row, col) and
// subtracts it from (row, label). conv is tapegrad's choice.
struct Param {
  std::size_t row, col, label;
  double a, conv;
  bool tie;   // one of several wrong classes tied for the maximum (Crammer–Singer)
  bool zero;  // on a margin of exactly 0
};

// Params [first, first + count) form a simplex: θ ≥ 0 and Σθ = 1, or ≤ 1 when capped
// (a margin exactly 0: the hull of 0 and the simplex; one capped param is the box [0, 1]).
struct Group {
  std::size_t first, count;
  bool capped;
};

// Every valid dL/dscores is fixed + Σ_k a_k·θ_k·(e_{row,col} − e_{row,label}) with θ in
// the groups' simplices. Also what the diagnosis needs about each row.
struct Subdifferential {
  std::size_t n = 0, c = 0;
  Tensor<double> fixed;        // N×C
  std::vector<Param> params;
  std::vector<Group> groups;
  Tensor<double> margin;       // N×C: z_ij (Crammer–Singer: z_ij too; the row's z is at its argmax)
  std::vector<double> factor;  // c_i = w[y_i] (÷ N for the mean)
  std::vector<std::size_t> label;
  HingeOptions options;
};

template <class T>
Subdifferential subdifferential(const Tensor<T>& scores, const IndexTensor& labels, const HingeOptions& options,
                                const Tensor<T>* weights);

// The candidate's space: dL/dscores (x empty) or dL/dW (x is X, N×D).
struct Space {
  const Tensor<double>* x = nullptr;
  std::size_t rows(const Subdifferential& s) const { return x ? x->shape()[1] : s.n; }
  // g (N×C) itself, or Xᵀ·g (D×C)
  Tensor<double> map(const Tensor<double>& g) const;
};

// Adds value·a to m at (row, col) and subtracts it at (row, label) (dL/dscores), or
// the same along x_row (dL/dW): param p's contribution at θ_p = value.
void add_param(const Space& space, const Param& p, double value, Tensor<double>& m);

// dL/dscores at coefficients theta (tapegrad's convention for theta = conv).
Tensor<double> gradient_at(const Subdifferential& s, const std::vector<double>& theta);
std::vector<double> convention(const Subdifferential& s);

// How `target` compares with `ref` (same shape): entries outside the tolerance, the
// largest |target − ref|, and whether every entry is inside.
struct Comparison {
  std::size_t wrong = 0;
  double max_abs = 0;
  bool ok() const { return wrong == 0; }
};
Comparison compare(const Tensor<double>& target, const Tensor<double>& ref, HingeCheckTolerance tol);

// The valid gradient (in the space) nearest to target in least squares, found by
// projected gradient with backtracking, stopping early once every entry is within the
// tolerance. Returns the coefficients; ref receives the mapped gradient.
std::vector<double> fit(const Subdifferential& s, const Space& space, const Tensor<double>& target,
                        HingeCheckTolerance tol, Tensor<double>& ref);

// True when target is within the tolerance of some valid gradient (convention first).
bool in_subdifferential(const Subdifferential& s, const Space& space, const Tensor<double>& target,
                        HingeCheckTolerance tol);

// The causes of a wrong candidate (of the space's shape), in the order documented in
// hinge_check.hpp (scale, the models, other). nearest: the fitted valid gradient.
std::vector<HingeCheckFinding> diagnose(const Subdifferential& s, const Space& space, const Tensor<double>& target,
                                        const Tensor<double>& nearest, HingeCheckTolerance tol);

}  // namespace tapegrad::hinge_check_impl
