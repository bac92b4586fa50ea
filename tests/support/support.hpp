#pragma once
// Helpers shared by the test files: seeded random tensors and gradcheck
// assertions that print the report on failure.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/tapegrad.hpp"

namespace tapegrad::testing {

// Uniform in [lo, hi), seeded: every run of a test sees the same numbers.
Tensor<double> random_tensor(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0);
// Uniform, with every element at least `gap` away from zero (for relu, log, div).
Tensor<double> random_away_from_zero(const Shape& shape, std::uint64_t seed, double gap = 0.1);

// Asserts that gradcheck passes on f at inputs; on failure prints the report.
::testing::AssertionResult gradcheck_passes(const TapeFunction& f, const std::vector<Tensor<double>>& inputs,
                                            const GradcheckOptions& options = {});

// Element-wise comparison with a message naming the first differing element.
::testing::AssertionResult all_close(const Tensor<double>& actual, const Tensor<double>& expected,
                                     double atol = 1e-12, double rtol = 1e-12);
::testing::AssertionResult all_close(const Tensor<float>& actual, const Tensor<float>& expected,
                                     double atol = 1e-6, double rtol = 1e-5);

}  // namespace tapegrad::testing
