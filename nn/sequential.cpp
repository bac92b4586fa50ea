#include <tapegrad/nn/sequential.hpp>

#include <string>

namespace tapegrad::nn {

template <class T>
Sequential<T>::Sequential() : Module<T>("Sequential") {}

template <class T>
Module<T>& Sequential<T>::push_back(std::unique_ptr<Module<T>> layer) {
  if (!layer) fail("Sequential: push_back of a null layer (at position ", size(), ")");
  return this->add_child(std::to_string(size()), std::move(layer));
}

template <class T>
Var<T> Sequential<T>::forward(const Var<T>& x) {
  Var<T> y = x;
  for (std::size_t i = 0; i < size(); ++i) y = this->child_at(i).forward(y);
  return y;
}

template <class T>
Module<T>& Sequential<T>::operator[](std::size_t i) {
  if (i >= size()) fail("Sequential: index ", i, " is out of range for ", size(), " layers");
  return this->child_at(i);
}

template <class T>
const Module<T>& Sequential<T>::operator[](std::size_t i) const {
  return const_cast<Sequential&>(*this)[i];
}

template <class T>
void Sequential<T>::fail_type(std::size_t i, const Module<T>& m) const {
  fail("Sequential: layer ", i, " is a ", m.kind(), ", not the type asked for");
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace tapegrad::nn
