#pragma once
// nn::Flatten: merges axes start_axis.. into one (torch.nn.Flatten(start_dim),
// whose default 1 keeps the batch axis): (N, 28, 28) -> (N, 784). The forward is
// ops/shape.hpp's flatten; a start_axis outside the input's axes is its Error.
#include <cstddef>

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

extern template class Flatten<float>;
extern template class Flatten<double>;

}  // namespace tapegrad::nn
