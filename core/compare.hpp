#pragma once
// compare_gradients: run two differentiable functions of the same inputs (e.g. a
// fused loss and its composed reference) on their own tapes and report how far
// apart their values and their gradients are, naming the worst element.
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// f records a scalar function of the inputs on the given tape.
template <class T>
using TapeFn = std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>;

// The tolerance pair (atol, rtol), applied per element: two numbers agree when
// |a − b| <= atol + rtol·max(|a|, |b|) (neither path is the reference, so the
// larger magnitude scales rtol). The fields are declared rtol first, so a brace
// initialiser reads CompareOptions{rtol, atol}.
struct CompareOptions {
  double rtol;
  double atol;
};

// Round-off-sized defaults: two paths through different but exact formulas differ
// by a few units in the last place, times the length of the sums involved.
template <class T>
constexpr CompareOptions default_compare_options() {
  return sizeof(T) == sizeof(float) ? CompareOptions{1e-4, 1e-6} : CompareOptions{1e-10, 1e-13};
}

struct CompareReport {
  double value_a = 0, value_b = 0;  // the two functions' values
  double value_abs_diff = 0, value_rel_diff = 0;
  // over every gradient element of every input; relative = |a − b| / max(|a|, |b|, atol)
  double max_abs_diff = 0, max_rel_diff = 0;
  std::size_t worst_input = 0;  // the element with the largest relative difference
  std::size_t worst_index = 0;  // (flat, row-major)
  double worst_a = 0, worst_b = 0;
  std::size_t compared = 0;     // gradient elements compared
  // Exactly one of three outcomes: passed (the values agree, and at least one
  // gradient element was compared and every one agrees), failed (the values or
  // some element differ: passed and inconclusive both false), inconclusive (the
  // values agree but no gradient element was compared: every input is empty, or
  // there are no inputs; agreeing values alone prove nothing about gradients).
  bool passed = false;
  bool inconclusive = false;
  const char* outcome() const { return passed ? "agree" : inconclusive ? "inconclusive" : "DIFFER"; }
  std::string summary() const;
};

template <class T>
CompareReport compare_gradients(const TapeFn<T>& f_a, const TapeFn<T>& f_b, const std::vector<Tensor<T>>& inputs,
                                const CompareOptions& options = default_compare_options<T>());

extern template CompareReport compare_gradients<float>(const TapeFn<float>&, const TapeFn<float>&,
                                                       const std::vector<Tensor<float>>&, const CompareOptions&);
extern template CompareReport compare_gradients<double>(const TapeFn<double>&, const TapeFn<double>&,
                                                        const std::vector<Tensor<double>>&, const CompareOptions&);

}  // namespace tapegrad
