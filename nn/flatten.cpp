#include <tapegrad/nn/flatten.hpp>

#include <string>

#include <tapegrad/ops/shape.hpp>

namespace tapegrad::nn {

template <class T>
Var<T> Flatten<T>::forward(const Var<T>& x) {
  return flatten(x, start_axis_);
}

template <class T>
std::string Flatten<T>::extra_repr() const {
  return "start_axis=" + std::to_string(start_axis_);
}

template class Flatten<float>;
template class Flatten<double>;

}  // namespace tapegrad::nn
