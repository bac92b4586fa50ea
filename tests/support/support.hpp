#pragma once
// Helpers shared by the test files: seeded random tensors and labels, small
// tensors spelled out, gradcheck assertions that print the report on failure,
// the message of an Error, and allocation counting over warm steps.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <tapegrad/tapegrad.hpp>

namespace tapegrad::testing {

// Uniform in [lo, hi), seeded: every run of a test sees the same numbers.
Tensor<double> random_tensor(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0);
// Uniform, with every element at least `gap` away from zero (for relu, log, div).
Tensor<double> random_away_from_zero(const Shape& shape, std::uint64_t seed, double gap = 0.1);
// N labels drawn uniformly from [0, C) by a seeded generator.
IndexTensor random_labels(std::size_t n, std::size_t c, std::uint64_t seed);

// start, start + 1, ... in row-major order: integer entries keep sums exact.
Tensor<double> iota(const Shape& shape, double start = 0);

// `values` in row-major order, in a tensor of `shape`.
template <class T = double>
Tensor<T> shaped(const Shape& shape, const std::vector<double>& values) {
  Tensor<T> t(shape);
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}

// Single-element inner lists make Tensor{{6.}, {15.}} ambiguous; spell the rank out.
template <class T, std::size_t N>
Tensor<T> nested(xt::nested_initializer_list_t<T, N> l) {
  return Tensor<T>(l);
}

// Σ w·y for a fixed random w (seeded), so every element of y is checked with its own weight.
Var<double> weighted_sum(const Var<double>& y, std::uint64_t seed);

// What error_of returns when f throws nothing.
inline constexpr const char* kNoError = "(no error)";
// The message of the Error that f() throws, or kNoError if it throws none.
std::string error_of(const std::function<void()>& f);

// Gradcheck options that check a non-scalar f through Σ w ⊙ f with a random w (a
// random upstream gradient, as llm.c and cs231n do).
GradcheckOptions contracted();

// Asserts that gradcheck passes on f at inputs; on failure prints the report.
::testing::AssertionResult gradcheck_passes(const TapeFunction& f, const std::vector<Tensor<double>>& inputs,
                                            const GradcheckOptions& options = {});

// Element-wise comparison with a message naming the first differing element.
::testing::AssertionResult all_close(const Tensor<double>& actual, const Tensor<double>& expected,
                                     double atol = 1e-12, double rtol = 1e-12);
::testing::AssertionResult all_close(const Tensor<float>& actual, const Tensor<float>& expected,
                                     double atol = 1e-6, double rtol = 1e-5);

// Runs step() `steps` times and returns how many allocations were counted in the
// runs after the first `warm`. Pass the counters of support/alloc_counter.hpp
// (g_allocations, g_counting), which counts while `counting` is set.
template <class Step>
long allocations_after_warmup(std::atomic<long>& allocations, std::atomic<bool>& counting, Step&& step, int warm,
                              int steps) {
  allocations = 0;
  for (int k = 0; k < steps; ++k) {
    if (k == warm) {
      allocations = 0;
      counting = true;
    }
    step();
  }
  counting = false;
  return allocations;
}

}  // namespace tapegrad::testing
