#include <tapegrad/nn/activation.hpp>

#include <cmath>
#include <sstream>

#include <tapegrad/ops/activation.hpp>

namespace tapegrad::nn {

template <class T>
Var<T> ReLU<T>::forward(const Var<T>& x) {
  return relu(x);
}

template <class T>
LeakyReLU<T>::LeakyReLU(double negative_slope) : Module<T>("LeakyReLU"), slope_(negative_slope) {
  if (!std::isfinite(negative_slope)) fail("LeakyReLU: negative_slope must be finite, got ", negative_slope);
}

template <class T>
Var<T> LeakyReLU<T>::forward(const Var<T>& x) {
  return leaky_relu(x, static_cast<T>(slope_));
}

template <class T>
std::string LeakyReLU<T>::extra_repr() const {
  std::ostringstream os;
  os << "negative_slope=" << slope_;
  return os.str();
}

template <class T>
Var<T> Tanh<T>::forward(const Var<T>& x) {
  return tapegrad::tanh(x);
}

template <class T>
Var<T> Sigmoid<T>::forward(const Var<T>& x) {
  return sigmoid(x);
}

template class ReLU<float>;
template class ReLU<double>;
template class LeakyReLU<float>;
template class LeakyReLU<double>;
template class Tanh<float>;
template class Tanh<double>;
template class Sigmoid<float>;
template class Sigmoid<double>;

}  // namespace tapegrad::nn
