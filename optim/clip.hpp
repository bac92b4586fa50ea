#pragma once
// Gradient clipping by the total norm, as torch.nn.utils.clip_grad_norm_.
#include <vector>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

// The norm of all the parameters' gradients taken together, as if concatenated
// into one vector: (Σ|g|^p)^(1/p) for norm_type p > 0, max |g| for p = inf
// (accumulated in double). When it exceeds max_norm, every gradient is scaled
// in place by max_norm / (total + 1e-6) — PyTorch's coefficient, applied only
// when below 1 — so the clipped total is just under max_norm. Returns the total
// norm before clipping. Allocates nothing.
//
// A non-finite total norm (a NaN or Inf gradient) is not an Error, as PyTorch
// 1.13's default error_if_nonfinite=False: the same coefficient is applied, so
// a NaN total makes every gradient NaN, and an infinite one makes the finite
// entries 0 and the infinite ones NaN (0·inf). The return value tells: check
// std::isfinite on it to skip such a step.
//
// An empty list returns 0. Errors (naming clip_grad_norm): a null or repeated
// parameter, max_norm negative or NaN, norm_type not > 0 (NaN, 0, -inf, ...).
// max_norm = inf never clips a finite total. For the max norm pass
// std::numeric_limits<double>::infinity() (or INFINITY) as norm_type.
template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& parameters, double max_norm, double norm_type = 2);

extern template double clip_grad_norm<float>(const std::vector<Parameter<float>*>&, double, double);
extern template double clip_grad_norm<double>(const std::vector<Parameter<double>*>&, double, double);

}  // namespace tapegrad
