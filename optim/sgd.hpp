#pragma once
// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight
// decay, following torch.optim.SGD's documented algorithm exactly.
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;      // μ
  double dampening = 0;     // τ
  double weight_decay = 0;  // λ (L2: added to the gradient)
  bool nesterov = false;    // needs momentum > 0 and dampening = 0, as in PyTorch
};

// Per step t = 1, 2, …, for every parameter θ with gradient g:
//   g ← g + λθ                                 (if λ ≠ 0)
//   b ← g at t = 1, else b ← μb + (1 − τ)g     (if μ ≠ 0)
//   g ← g + μb if Nesterov, else g ← b         (if μ ≠ 0)
//   θ ← θ − lr·g
template <class T>
class SGD : public Optimizer<T> {
 public:
  SGD(std::vector<Parameter<T>*> params, const SGDOptions& options);
  void step() override;

  const SGDOptions& options() const { return options_; }
  // b for parameter i (zeros before the first step; empty set when μ = 0).
  const Tensor<T>& momentum_buffer(std::size_t i) const { return this->buffer_at(momentum_, i); }

 private:
  SGDOptions options_;
  std::vector<Tensor<T>> momentum_;
};

extern template class SGD<float>;
extern template class SGD<double>;

}  // namespace tapegrad
