#pragma once
// Internal to ops/: the argument checks and the running-statistics update that
// the fused norms (ops/batch_norm.cpp, ops/layer_norm.cpp) share with their
// composed forms (ops/norm_composed.cpp), so both refuse the same calls with the
// same messages (under their own names) and move the running statistics alike.
#include <cstddef>

#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/norm.hpp>

namespace tapegrad::detail {

// x seen as N × C × inner (inner = d1·d2·…, 1 for (N, C)); m = N·inner values per channel.
struct BatchNormLayout {
  AxisLayout layout;
  std::size_t m = 0;
};

// Every check of batch_norm's documented Errors, before anything is pushed; `op`
// names the caller ("batch_norm", "batch_norm_composed"). Returns x's layout.
template <class T>
BatchNormLayout check_batch_norm(const char* op, const Var<T>& x, const OptionalVar<T>& gamma,
                                 const OptionalVar<T>& beta, const Tensor<T>* running_mean,
                                 const Tensor<T>* running_var, bool training, double momentum, double eps);

// running = (1 − momentum)·running + momentum·stat for channel c, as PyTorch's CPU
// kernel computes it (momentum·stat + (1 − momentum)·running, in double), with
// the unbiased variance var_sum / (m − 1). No-op when the tensors are null.
template <class T>
void update_running_stats(Tensor<T>* running_mean, Tensor<T>* running_var, std::size_t c, double mean,
                          double unbiased_var, double momentum);

// x seen as rows × d, d = the product of normalized_shape.
struct LayerNormLayout {
  std::size_t rows = 0, d = 0;
};

template <class T>
LayerNormLayout check_layer_norm(const char* op, const Var<T>& x, const Shape& normalized_shape,
                                 const OptionalVar<T>& gamma, const OptionalVar<T>& beta, double eps);

}  // namespace tapegrad::detail
