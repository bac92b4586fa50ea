#pragma once
// nn::Flatten: merges axes start_axis.. into one (torch.nn.Flatten(start_dim),
// whose default 1 keeps the batch axis): (N, 28, 28) -> (N, 784). The forward is
// ops/shape.hpp's flatten; a start_axis outside the input's axes is its Error.
#include <cstddef>
#include <vector>

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
class Flatten : public Module<T> {
 public:
  explicit Flatten(std::ptrdiff_t start_axis = 1) : Module<T>("Flatten"), start_axis_(start_axis) {}
  Var<T> forward(const Var<T>& x) override;
  std::ptrdiff_t start_axis() const { return start_axis_; }
  std::string extra_repr() const override;

 private:
  std::ptrdiff_t start_axis_;
};

// nn::Unflatten: splits axis `axis` into `sizes` (torch.nn.Unflatten(dim,
// unflattened_size)): Unflatten(1, {1, 28, 28}) maps (N, 784) to (N, 1, 28, 28),
// the image layout conv2d takes. A negative axis counts from the end. An axis
// outside the input's, no sizes, a size of 0 or sizes whose product is not the
// axis's length is an Error naming Unflatten and the shapes.
template <class T>
class Unflatten : public Module<T> {
 public:
  Unflatten(std::ptrdiff_t axis, Shape sizes);
  Var<T> forward(const Var<T>& x) override;
  std::ptrdiff_t axis() const { return axis_; }
  const Shape& sizes() const { return sizes_; }
  std::string extra_repr() const override;

 private:
  std::ptrdiff_t axis_;
  Shape sizes_;
  std::vector<std::ptrdiff_t> shape_;  // forward's target shape, reused
};

extern template class Flatten<float>;
extern template class Flatten<double>;
extern template class Unflatten<float>;
extern template class Unflatten<double>;

}  // namespace tapegrad::nn
