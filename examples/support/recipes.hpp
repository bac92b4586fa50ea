#pragma once
// Pieces of hinge_recipes (examples/hinge_recipes.cpp): a loss and its gradient
// from a function on the tape, multiclass_hinge's (fused and composed) beside it,
// and the side-by-side lines the tool prints.
#include <functional>
#include <string>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_check.hpp>

namespace examples {

using Matrix = tapegrad::Tensor<double>;

// A loss value (a scalar, or one per row) and the gradient of its sum with respect
// to the watched input.
struct LossAndGrad {
  Matrix loss;
  Matrix grad;
};

// f records a loss of the watched input on the tape.
using Recipe = std::function<tapegrad::Var<double>(tapegrad::Tape<double>&, const tapegrad::Var<double>&)>;
LossAndGrad on_tape(const Recipe& f, const Matrix& input);

// multiclass_hinge (fused) or multiclass_hinge_composed of the scores, or with x of
// scores = X·W (then input is W and the gradient is dL/dW).
LossAndGrad hinge(const Matrix& input, const tapegrad::IndexTensor& y, const tapegrad::HingeOptions& o, bool fused,
                  const Matrix* x = nullptr);

// max |a − b| over all entries (shapes must match).
double max_abs_diff(const Matrix& a, const Matrix& b);

// "  label     loss  g00 g01 g02 | g10 ..." (rows of the gradient separated by |).
void print_line(const char* label, const LossAndGrad& r);
// "  label:" and the matrix's rows on one line, separated by |.
void print_matrix(const char* label, const Matrix& m);
// The recipe's and multiclass_hinge's lines, and how far apart they are.
void print_side_by_side(const LossAndGrad& recipe, const LossAndGrad& fused, const LossAndGrad& composed,
                        double factor = 1);
// Text wrapped to lines of "  -> " and "     " at most 90 columns wide.
void print_why(const std::string& text);
// "  hinge_grad --check on <what>:" and the report's lines, indented (long ones wrapped).
void print_check(const char* what, const tapegrad::HingeCheckReport& report);

}  // namespace examples
