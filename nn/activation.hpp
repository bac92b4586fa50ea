#pragma once
// Activations as modules, for Sequential: each forward is the op of the same
// name in ops/activation.hpp (conventions there: relu'(0) = 0,
// leaky_relu'(0) = slope). They hold no parameters.
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
class ReLU : public Module<T> {
 public:
  ReLU() : Module<T>("ReLU") {}
  Var<T> forward(const Var<T>& x) override;
};

template <class T>
class LeakyReLU : public Module<T> {
 public:
  // A non-finite slope is an Error (here, not at the first forward).
  explicit LeakyReLU(double negative_slope = 0.01);
  Var<T> forward(const Var<T>& x) override;
  double negative_slope() const { return slope_; }
  std::string extra_repr() const override;

 private:
  double slope_;
};

template <class T>
class Tanh : public Module<T> {
 public:
  Tanh() : Module<T>("Tanh") {}
  Var<T> forward(const Var<T>& x) override;
};

template <class T>
class Sigmoid : public Module<T> {
 public:
  Sigmoid() : Module<T>("Sigmoid") {}
  Var<T> forward(const Var<T>& x) override;
};

extern template class ReLU<float>;
extern template class ReLU<double>;
extern template class LeakyReLU<float>;
extern template class LeakyReLU<double>;
extern template class Tanh<float>;
extern template class Tanh<double>;
extern template class Sigmoid<float>;
extern template class Sigmoid<double>;

}  // namespace tapegrad::nn
