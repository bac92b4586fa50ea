#include <tapegrad/nn/pool.hpp>

namespace tapegrad::nn {

namespace {

// PyTorch prints an int for a square size and a tuple otherwise.
std::string size_str(Pair2 p) { return p.h == p.w ? std::to_string(p.h) : pair_str(p); }

std::string pool_repr(Pair2 kernel, Pair2 stride, Pair2 padding) {
  return "kernel_size=" + size_str(kernel) + ", stride=" + size_str(stride) + ", padding=" + size_str(padding);
}

}  // namespace

template <class T>
MaxPool2d<T>::MaxPool2d(Pair2 kernel, std::optional<Pair2> stride, Pair2 padding)
    : Module<T>("MaxPool2d"), kernel_(kernel), stride_(stride ? *stride : kernel), padding_(padding) {
  detail::Window2d g{};
  detail::check_pool_params("MaxPool2d", g, kernel_, stride_, padding_);
}

template <class T>
Var<T> MaxPool2d<T>::forward(const Var<T>& x) {
  return max_pool2d(x, kernel_, stride_, padding_);
}

template <class T>
std::string MaxPool2d<T>::extra_repr() const {
  return pool_repr(kernel_, stride_, padding_);
}

template <class T>
AvgPool2d<T>::AvgPool2d(Pair2 kernel, std::optional<Pair2> stride, Pair2 padding)
    : Module<T>("AvgPool2d"), kernel_(kernel), stride_(stride ? *stride : kernel), padding_(padding) {
  detail::Window2d g{};
  detail::check_pool_params("AvgPool2d", g, kernel_, stride_, padding_);
}

template <class T>
Var<T> AvgPool2d<T>::forward(const Var<T>& x) {
  return avg_pool2d(x, kernel_, stride_, padding_);
}

template <class T>
std::string AvgPool2d<T>::extra_repr() const {
  return pool_repr(kernel_, stride_, padding_);
}

template class MaxPool2d<float>;
template class MaxPool2d<double>;
template class AvgPool2d<float>;
template class AvgPool2d<double>;

}  // namespace tapegrad::nn
