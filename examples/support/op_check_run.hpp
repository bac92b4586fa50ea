#pragma once
// op_check's building blocks (internal to examples/support/op_check_checks.cpp):
// running a registry entry's op on fresh parameters, comparing gradients element by
// element against a tolerance, and the checks that compare two computations
// (gradcheck, float vs double, fused vs reference).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/core/op_registry.hpp>
#include "support/op_check_checks.hpp"

namespace examples::op_check_run {

// An element passes when |got − expected| <= atol·scale + rtol·|expected|, scale
// being the largest magnitude of the expected tensor, at least 1 (so atol is
// relative to the tensor's size of numbers). (0, 0) asks for bitwise equality.
struct Tolerance {
  double atol, rtol;
};

template <class T>
tapegrad::Tensor<T> cast(const tapegrad::Tensor<double>& t) {
  return xt::cast<T>(t);
}
template <class T>
std::vector<tapegrad::Tensor<T>> cast_all(const std::vector<tapegrad::Tensor<double>>& v) {
  std::vector<tapegrad::Tensor<T>> out;
  for (const auto& t : v) out.push_back(cast<T>(t));
  return out;
}

// A random upstream gradient: ±[0.5, 1.5], rounded to float so that the float and
// the double runs see the same numbers. integer_upstream: ±1 or ±2 (keeps sums of
// integer-valued gradients exact).
tapegrad::Tensor<double> upstream(const tapegrad::Shape& shape, std::uint64_t seed);
tapegrad::Tensor<double> integer_upstream(const tapegrad::Shape& shape, std::uint64_t seed);

template <class T>
struct Run {
  tapegrad::Tensor<T> value;
  std::vector<tapegrad::Tensor<T>> grads;   // after backward(out, dout)
  std::vector<tapegrad::Tensor<T>> second;  // after a second backward from zeroed grads (when asked)
};

// f on watched parameters holding `in` (their grads start at *initial, or 0), then
// backward(out, upstream(out's shape, seed)); with `twice` the grads are zeroed and
// backward runs again over the same records.
template <class T>
Run<T> run(tapegrad::OpFn<T> f, const std::vector<tapegrad::Tensor<T>>& in, const tapegrad::OpArgs& args,
           std::uint64_t seed, const std::vector<tapegrad::Tensor<T>>* initial = nullptr, bool twice = false);

// Compares element by element into r (worst fraction, compared count, the first
// failing element in r.detail, prefixed by `what`). NaN equals NaN only for (0, 0).
template <class T>
void compare(const tapegrad::Tensor<T>& got, const tapegrad::Tensor<T>& expected, Tolerance tol, CheckResult& r,
             const std::string& what);
// pass when r compared something and did not fail, inconclusive when it compared nothing.
CheckResult finish(CheckResult r);
// fn(), with any exception a failure that names it.
CheckResult guarded(const std::function<CheckResult()>& fn);

CheckResult gradcheck_case(tapegrad::OpFn<double> f, const tapegrad::OpCase& c, std::uint64_t seed);
CheckResult float_vs_double(tapegrad::OpFn<float> f, tapegrad::OpFn<double> d, const tapegrad::OpCase& c,
                            std::uint64_t seed);
CheckResult fused_vs_reference(const tapegrad::OpEntry& e, const tapegrad::OpEntry& ref, const tapegrad::OpCase& c,
                               std::uint64_t seed);

}  // namespace examples::op_check_run
