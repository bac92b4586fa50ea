#pragma once
// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight
// decay, following torch.optim.SGD's documented algorithm exactly, per
// parameter group.
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;      // μ
  double dampening = 0;     // τ
  double weight_decay = 0;  // λ (L2: added to the gradient)
  bool nesterov = false;    // needs momentum > 0 and dampening = 0, as in PyTorch
};

// Per step t = 1, 2, …, for every parameter θ with gradient g, with its group's
// lr, μ, τ, λ and Nesterov flag:
//   g ← g + λθ                                 (if λ ≠ 0)
//   b ← g at t = 1, else b ← μb + (1 − τ)g     (if μ ≠ 0)
//   g ← g + μb if Nesterov, else g ← b         (if μ ≠ 0)
//   θ ← θ − lr·g
// A group may set lr, momentum, dampening, weight_decay and nesterov.
template <class T>
class SGD : public Optimizer<T> {
 public:
  // One group: every parameter with `options`.
  SGD(std::vector<Parameter<T>*> params, const SGDOptions& options);
  // Groups; what a group does not set comes from `options`.
  SGD(std::initializer_list<ParamGroup<T>> groups, const SGDOptions& options);
  SGD(const ParamGroups<T>& groups, const SGDOptions& options);
  void step() override;

  // The options given (every group's defaults).
  const SGDOptions& options() const { return options_; }
  // Group g's options: the defaults with what the group set; lr is its initial lr.
  const SGDOptions& group_options(std::size_t g) const {
    this->group(g);  // range check
    return group_options_[g];
  }
  // b for parameter i (zeros before the first step); an Error when its group has μ = 0.
  const Tensor<T>& momentum_buffer(std::size_t i) const { return this->buffer_at(momentum_, i, "momentum_buffer"); }

 private:
  SGDOptions options_;
  std::vector<SGDOptions> group_options_;
  std::vector<Tensor<T>> momentum_;
};

extern template class SGD<float>;
extern template class SGD<double>;

}  // namespace tapegrad
