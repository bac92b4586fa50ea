#pragma once
// The op registry's types: one entry per differentiable op (or per variant of one:
// a loss's kind, a forced kernel), with a generator of valid random inputs and the
// op as a function of those inputs in float and in double. examples/op_check runs
// every entry under one gradient harness; tests/core/test_op_registry.cpp fails when
// a public op of ops/ or losses/ is neither registered nor listed as a constant.
//
// The entries live beside the ops (ops/registry*.cpp, losses/registry.cpp); the full
// registry is tapegrad::op_registry() (losses/registry.hpp), built on each call:
// there is no global mutable state. Registering an op is one OpEntry: docs/design.md,
// "Registering an op".
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// What an op takes besides its differentiable inputs, fixed per generated case:
// axes, sizes, flags (ints), exponents, bounds, margins (reals), labels or gather
// indices (index), and one non-differentiable tensor (where's condition, class
// weights). Each entry documents which fields it reads.
struct OpArgs {
  std::vector<std::int64_t> ints;
  std::vector<double> reals;
  IndexTensor index;
  Tensor<double> constant;
  bool has_constant = false;
};

// One generated input of an op: its differentiable inputs (in double; op_check casts
// them to float for the float run) and its other arguments. `label` says what the
// case covers, e.g. "(2, 3) with (3) broadcast" or "p 2, sum, weighted".
struct OpCase {
  std::string label;
  std::vector<Tensor<double>> inputs;
  OpArgs args;
};

// The two kinds of inputs a generator makes: random values inside the op's domain
// and away from its kinks and ties (so central differences see one smooth branch),
// or kink- and tie-rich values (integer-valued scores with ties, hinge margins that
// hit 0 exactly) for comparing a fused op with its reference, which must take the
// same side of every kink.
enum class CaseStyle { smooth, kinky };

// The op on a tape, as a captureless function of its inputs (one Var per element
// of OpCase::inputs, in order) and its arguments.
template <class T>
using OpFn = Var<T> (*)(Tape<T>&, const std::vector<Var<T>>&, const OpArgs&);

// Valid inputs for a seed: the same seed gives the same cases on every machine.
using OpCaseGenerator = std::vector<OpCase> (*)(std::uint64_t seed, CaseStyle style);

struct OpEntry {
  // The public function's name, optionally followed by a variant after a '.' or a
  // '[' (multiclass_hinge.cs, softmax_cross_entropy[rows]): function_name() is
  // what the header declares.
  std::string name;
  // Differentiable inputs per call (the size of every case's inputs); -1 for a
  // variable number (concat), see the cases.
  int arity = 1;
  OpCaseGenerator cases = nullptr;
  OpFn<float> f32 = nullptr;   // nullptr: the op does not exist in float
  OpFn<double> f64 = nullptr;  // nullptr: float only (a float-only kernel)
  bool kinks = false;          // non-differentiable points (the op notes its branches)
  bool ties = false;           // a subgradient rule for ties (max, Crammer–Singer, maxima of pools)
  std::string domain;          // where the generator draws, and why (log: x > 0, ...)
  // A fused op names the entry of its composed reference; op_check --fused compares
  // their gradients on kink- and tie-rich inputs (compare_gradients).
  std::string fused_reference;
  // A forced fast kernel names the entry of the fused op's reference it must agree
  // with (multiclass_hinge[rows] -> multiclass_hinge_reference).
  std::string kernel_of;
  // When not empty, why the entry cannot run on this build or machine (a kernel
  // needing AVX-512): op_check skips it and says so.
  std::string unavailable;

  std::string function_name() const;
};

// An op declared in ops/ or losses/ that returns a Var but has no gradient to check:
// a constant built from labels or booleans.
struct NonDifferentiableOp {
  std::string name;
  std::string why;
};

// The entry called `name`, or nullptr.
const OpEntry* find_op(const std::vector<OpEntry>& registry, const std::string& name);

// ---- for generators ------------------------------------------------------------
// Seeded draws that are the same with every standard library (no std::*_distribution):
// uniform doubles from the top 53 bits of std::mt19937_64.
class OpRandom {
 public:
  explicit OpRandom(std::uint64_t seed);
  double uniform(double lo, double hi);
  std::size_t below(std::size_t n);  // in [0, n)
  // Uniform in ±[lo, hi] with a random sign: |x| >= lo keeps x away from 0 (log, div,
  // abs's kink).
  Tensor<double> away_from_zero(const Shape& shape, double lo = 0.2, double hi = 1.5);
  Tensor<double> uniform(const Shape& shape, double lo, double hi);
  // Distinct values: a random permutation of lo, lo + gap, ..., shuffled, plus a jitter
  // below gap/4 (no two within gap/2: no ties, no kink crossed by a small step).
  Tensor<double> distinct(const Shape& shape, double gap = 0.05);
  // Integers in [lo, hi] (ties and exact kinks on purpose).
  Tensor<double> integers(const Shape& shape, int lo, int hi);
  IndexTensor labels(std::size_t n, std::size_t classes);

 private:
  std::mt19937_64 rng_;
};

}  // namespace tapegrad
