#pragma once
// Test-only reference implementations: the naive per-row, per-class double loops
// of cs231n's svm_loss_naive and softmax_loss_naive, written independently of
// both the fused and the composed losses (no tape, no SIMD, no shared helpers).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/losses/hinge.hpp>

namespace tapegrad::testing::reference {

struct Result {
  Tensor<double> rows;   // L_i · w[y_i], shape (N)
  double total = 0;      // the reduced loss (for Reduction::none: Σ_i rows_i)
  Tensor<double> grad;   // d total / d scores, shape (N, C)
};

inline Result hinge(const Tensor<double>& s, const IndexTensor& y, const HingeOptions& o,
                    const Tensor<double>* w = nullptr) {
  const std::size_t n = s.shape()[0], c = s.shape()[1];
  Result r;
  r.rows = Tensor<double>::from_shape({n});
  r.grad = Tensor<double>::from_shape({n, c});
  r.grad.fill(0.0);
  const double scale = o.reduction == Reduction::mean ? 1.0 / static_cast<double>(n) : 1.0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t yi = static_cast<std::size_t>(y(i));
    const double wi = w ? (*w)(yi) : 1.0;
    double li = 0;
    if (o.kind == HingeKind::weston_watkins) {
      for (std::size_t j = 0; j < c; ++j) {
        if (j == yi) continue;
        const double margin = s(i, j) - s(i, yi) + o.margin;
        if (margin > 0) {
          li += o.p == 1 ? margin : margin * margin;
          const double d = (o.p == 1 ? 1.0 : 2.0 * margin) * wi * scale;
          r.grad(i, j) += d;
          r.grad(i, yi) -= d;
        }
      }
    } else {
      double best = -std::numeric_limits<double>::infinity();
      for (std::size_t j = 0; j < c; ++j)
        if (j != yi) best = std::max(best, s(i, j));
      std::size_t ties = 0;
      for (std::size_t j = 0; j < c; ++j)
        if (j != yi && s(i, j) == best) ++ties;
      const double margin = best - s(i, yi) + o.margin;
      if (margin > 0) {
        li = o.p == 1 ? margin : margin * margin;
        const double d = (o.p == 1 ? 1.0 : 2.0 * margin) * wi * scale;
        for (std::size_t j = 0; j < c; ++j)
          if (j != yi && s(i, j) == best) r.grad(i, j) += d / static_cast<double>(ties);
        r.grad(i, yi) -= d;
      }
    }
    r.rows(i) = li * wi;
    r.total += li * wi;
  }
  r.total *= scale;
  return r;
}

// Mean reduction divides by Σ_i w[y_i] (PyTorch's cross_entropy).
inline Result softmax_ce(const Tensor<double>& s, const IndexTensor& y, Reduction reduction,
                         const Tensor<double>* w = nullptr) {
  const std::size_t n = s.shape()[0], c = s.shape()[1];
  Result r;
  r.rows = Tensor<double>::from_shape({n});
  r.grad = Tensor<double>::from_shape({n, c});
  double divisor = 0;
  for (std::size_t i = 0; i < n; ++i) divisor += w ? (*w)(static_cast<std::size_t>(y(i))) : 1.0;
  const double scale = reduction == Reduction::mean ? 1.0 / divisor : 1.0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t yi = static_cast<std::size_t>(y(i));
    const double wi = w ? (*w)(yi) : 1.0;
    double m = s(i, 0);
    for (std::size_t j = 1; j < c; ++j) m = std::max(m, s(i, j));
    double z = 0;
    for (std::size_t j = 0; j < c; ++j) z += std::exp(s(i, j) - m);
    r.rows(i) = wi * (m + std::log(z) - s(i, yi));
    r.total += r.rows(i);
    for (std::size_t j = 0; j < c; ++j)
      r.grad(i, j) = wi * scale * (std::exp(s(i, j) - m) / z - (j == yi ? 1.0 : 0.0));
  }
  r.total *= scale;
  return r;
}

// cs231n's svm_loss_naive without regularisation: scores = X·W, Δ = 1, mean over
// rows; returns the loss and dW (D × C).
struct LossAndDW {
  double loss = 0;
  Tensor<double> dW;
};
inline LossAndDW svm_loss_naive(const Tensor<double>& W, const Tensor<double>& X, const IndexTensor& y) {
  const std::size_t n = X.shape()[0], d = X.shape()[1], c = W.shape()[1];
  LossAndDW out;
  out.dW = Tensor<double>::from_shape({d, c});
  out.dW.fill(0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t yi = static_cast<std::size_t>(y(i));
    double correct = 0;
    for (std::size_t k = 0; k < d; ++k) correct += X(i, k) * W(k, yi);
    for (std::size_t j = 0; j < c; ++j) {
      if (j == yi) continue;
      double sj = 0;
      for (std::size_t k = 0; k < d; ++k) sj += X(i, k) * W(k, j);
      const double margin = sj - correct + 1.0;
      if (margin > 0) {
        out.loss += margin;
        for (std::size_t k = 0; k < d; ++k) {
          out.dW(k, j) += X(i, k);
          out.dW(k, yi) -= X(i, k);
        }
      }
    }
  }
  out.loss /= static_cast<double>(n);
  out.dW /= static_cast<double>(n);
  return out;
}

}  // namespace tapegrad::testing::reference
