#include <tapegrad/nn/flatten.hpp>

#include <string>
#include <utility>
#include <vector>

#include <tapegrad/core/error.hpp>
#include <tapegrad/core/tensor.hpp>

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

template <class T>
Unflatten<T>::Unflatten(std::ptrdiff_t axis, Shape sizes)
    : Module<T>("Unflatten"), axis_(axis), sizes_(std::move(sizes)) {
  if (sizes_.empty()) fail("Unflatten: sizes must not be empty");
  for (std::size_t s : sizes_)
    if (s == 0) fail("Unflatten: sizes ", shape_str(sizes_), " hold a 0");
  checked_size("Unflatten", sizes_);
}

template <class T>
Var<T> Unflatten<T>::forward(const Var<T>& x) {
  const auto& in = x.value().shape();
  const auto rank = static_cast<std::ptrdiff_t>(in.size());
  const std::ptrdiff_t a = axis_ < 0 ? axis_ + rank : axis_;
  if (a < 0 || a >= rank) fail("Unflatten: axis ", axis_, " is outside the axes of an input of shape ", shape_str(in));
  if (checked_size("Unflatten", sizes_) != in[static_cast<std::size_t>(a)])
    fail("Unflatten: sizes ", shape_str(sizes_), " do not multiply to axis ", axis_, "'s length ",
         in[static_cast<std::size_t>(a)], " of an input of shape ", shape_str(in));
  // The target shape goes into a member, whose capacity stays across steps: a
  // warm training step allocates nothing.
  shape_.assign(in.begin(), in.begin() + a);
  for (std::size_t s : sizes_) shape_.push_back(static_cast<std::ptrdiff_t>(s));
  shape_.insert(shape_.end(), in.begin() + a + 1, in.end());
  return reshape(x, shape_);
}

template <class T>
std::string Unflatten<T>::extra_repr() const {
  return "axis=" + std::to_string(axis_) + ", sizes=" + shape_str(sizes_);
}

template class Flatten<float>;
template class Flatten<double>;
template class Unflatten<float>;
template class Unflatten<double>;

}  // namespace tapegrad::nn
