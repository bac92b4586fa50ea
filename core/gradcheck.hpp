#pragma once
// Numeric gradient checking by central differences in double precision, as
// cs231n's notes recommend: relative error |a − n| / max(|a|, |n|), and
// elements whose ±h step crosses a kink of relu/max/hinge are skipped (the ops
// report which branch each element takes; a step that changes any branch is a
// kink crossing), with the number skipped reported.
//
// Tolerances are an (atol, rtol) pair applied per element: an element passes when
// |a − n| ≤ atol + rtol·|n|, a the analytic and n the numeric derivative. A check
// that compared nothing (every element skipped at a kink, or no elements at all)
// is inconclusive, never passed: zero checked proves nothing.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

struct GradcheckOptions {
  double step = 1e-6;  // h
  double atol = 1e-6;  // an element passes when |a − n| <= atol + rtol·|n|
  double rtol = 1e-5;
  // A non-scalar f is an Error unless contract_output is set. Then f's output y
  // (any shape, zero-size included) is checked through the scalar L = Σ w ⊙ y
  // with a fixed random weight w (magnitudes in [0.5, 1.5], random signs, drawn
  // from weight_seed): analytically by backward(y, seed = w), numerically by
  // central differences of L. Every element of y then weighs in the check, and
  // no reduce op is needed to build the scalar.
  bool contract_output = false;
  std::uint64_t weight_seed = 20240521;
};

struct GradcheckReport {
  double max_abs_error = 0;
  double max_rel_error = 0;
  // The worst element: the one furthest past its tolerance, i.e. with the
  // largest |a − n| / (atol + rtol·|n|) (the element that fails, if any does).
  std::size_t worst_input = 0;  // which input, and the flat index of its element
  std::size_t worst_index = 0;
  double worst_analytic = 0;
  double worst_numeric = 0;
  std::size_t checked = 0;
  std::size_t skipped_kinks = 0;
  // Exactly one of three outcomes: passed (at least one element checked and every
  // checked element within tolerance), failed (some element outside it: passed and
  // inconclusive both false), inconclusive (nothing checked, nothing failed).
  bool passed = false;
  bool inconclusive = false;
  const char* outcome() const { return passed ? "passed" : inconclusive ? "inconclusive" : "FAILED"; }
  std::string summary() const;
};

// f records a function of the inputs on the given tape: a one-element output,
// or any shape with options.contract_output.
using TapeFunction = std::function<Var<double>(Tape<double>&, const std::vector<Var<double>>&)>;

GradcheckReport gradcheck(const TapeFunction& f, const std::vector<Tensor<double>>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace tapegrad
