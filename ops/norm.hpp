#pragma once
// Normalisation ops: batch_norm and layer_norm, each twice. The fused op
// (ops/batch_norm.cpp, ops/layer_norm.cpp) computes the statistics in one place
// and runs a hand-derived closed-form backward; the composed form
// (ops/norm_composed.cpp) is built only from public tape ops (mean, sub, square,
// sqrt, div, mul, add, reshape) and is the reference the fused op is checked
// against (tests/ops/test_batch_norm.cpp, test_layer_norm.cpp), as the fused and
// composed hinge losses are.
//
// Both follow PyTorch 1.13's F.batch_norm / F.layer_norm: x̂ = (x − μ)/√(σ² + ε)
// with the BIASED variance σ² = mean((x − μ)²), then y = γ·x̂ + β.
#include <cstddef>
#include <optional>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// An optional Var argument (gamma, beta): a Var, a pointer to one, a std::optional,
// or nullptr / std::nullopt / {} for none (PyTorch's weight=None). A default-constructed Var passed as a Var
// is not "none": it is the ops' usual "Var is empty" Error.
template <class T>
class OptionalVar {
 public:
  OptionalVar() = default;
  OptionalVar(std::nullptr_t) {}
  OptionalVar(std::nullopt_t) {}
  OptionalVar(const std::optional<Var<T>>& v) : present_(v.has_value()) {
    if (v) var_ = *v;
  }
  OptionalVar(const Var<T>& v) : var_(v), present_(true) {}
  OptionalVar(const Var<T>* v) : present_(v != nullptr) {
    if (v) var_ = *v;
  }
  bool has_value() const { return present_; }
  const Var<T>& operator*() const { return var_; }

 private:
  Var<T> var_;
  bool present_ = false;
};

namespace detail {
// T as written, in a non-deduced context: x alone decides T, so a Var, nullptr or a
// Tensor<T>* converts into the other arguments.
template <class T>
struct NormId {
  using type = T;
};
}  // namespace detail
template <class T>
using NormT = typename detail::NormId<T>::type;

// F.batch_norm(x, running_mean, running_var, weight = gamma, bias = beta,
// training, momentum, eps): x is (N, C) or (N, C, d1, ...) (rank ≥ 2: (N, C, L)
// and (N, C, H, W) included); statistics per channel C over N and the trailing
// axes, i.e. over m = N·d1·… values each.
// - gamma, beta: optional, of shape (C).
// - running_mean, running_var: tensors of shape (C) owned by the caller, or both
//   null (training without tracking). In training they are updated in place,
//   running = (1 − momentum)·running + momentum·batch_stat, the variance's batch
//   statistic being the UNBIASED one, Σ(x − μ)²/(m − 1) (as PyTorch), also under
//   NoGrad. Not training, they are required and used in place of the batch's
//   statistics (the backward is then the affine dx = g·γ/√(running_var + ε)).
// - An empty x (N = 0 or a zero extent) gives an empty output, leaves the running
//   statistics unchanged and passes zero gradient to gamma and beta (as PyTorch).
// Errors (naming batch_norm and the shapes or values): rank < 2; gamma, beta or a
// running tensor not of shape (C); only one running tensor given; no running
// tensors when not training; training with m = 1 ("expected more than 1 value per
// channel when training"); eps ≤ 0 or not finite; momentum outside [0, 1] or NaN.
template <class T>
Var<T> batch_norm(const Var<T>& x, OptionalVar<NormT<T>> gamma, OptionalVar<NormT<T>> beta,
                  Tensor<NormT<T>>* running_mean, Tensor<NormT<T>>* running_var, bool training = false,
                  double momentum = 0.1, double eps = 1e-5);

// F.layer_norm(x, normalized_shape, weight = gamma, bias = beta, eps): statistics
// over the trailing axes named by normalized_shape (x's last dims must equal it),
// one mean and biased variance per leading index; gamma and beta, optional, have
// shape normalized_shape. Errors (naming layer_norm): an empty normalized_shape; x's
// trailing dims not equal to it; gamma or beta of another shape; eps ≤ 0 or not
// finite. An empty x gives an empty output (and zero gradient to gamma, beta).
template <class T>
Var<T> layer_norm(const Var<T>& x, const Shape& normalized_shape, OptionalVar<NormT<T>> gamma = {},
                  OptionalVar<NormT<T>> beta = {}, double eps = 1e-5);

// The same functions built only from public tape ops (ops/norm_composed.cpp): the
// same arguments, checks (their Errors name batch_norm_composed / layer_norm_composed)
// and running-statistics update, the value and gradient agreeing with the fused
// op's to round-off. They allocate on every call (constants, intermediate records).
template <class T>
Var<T> batch_norm_composed(const Var<T>& x, OptionalVar<NormT<T>> gamma, OptionalVar<NormT<T>> beta,
                           Tensor<NormT<T>>* running_mean, Tensor<NormT<T>>* running_var,
                           bool training = false, double momentum = 0.1, double eps = 1e-5);
template <class T>
Var<T> layer_norm_composed(const Var<T>& x, const Shape& normalized_shape, OptionalVar<NormT<T>> gamma = {},
                           OptionalVar<NormT<T>> beta = {}, double eps = 1e-5);

}  // namespace tapegrad
