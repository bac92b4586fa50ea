#pragma once
// nn::MaxPool2d and nn::AvgPool2d: the ops of ops/pool.hpp as layers (no
// parameters), as torch.nn.MaxPool2d / AvgPool2d with dilation 1, ceil_mode =
// false and (AvgPool2d) count_include_pad = true. The stride defaults to the
// kernel. The constructor checks the kernel, stride and padding (Errors naming
// the layer); the input's shape is checked by the op at forward.
#include <optional>
#include <string>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/pool.hpp>

namespace tapegrad::nn {

template <class T>
class MaxPool2d : public Module<T> {
 public:
  explicit MaxPool2d(Pair2 kernel, std::optional<Pair2> stride = std::nullopt, Pair2 padding = 0);
  Var<T> forward(const Var<T>& x) override;
  Pair2 kernel_size() const { return kernel_; }
  Pair2 stride() const { return stride_; }
  Pair2 padding() const { return padding_; }
  // "kernel_size=2, stride=2, padding=0" (a pair prints as (h, w) when h ≠ w)
  std::string extra_repr() const override;

 private:
  Pair2 kernel_, stride_, padding_;
};

template <class T>
class AvgPool2d : public Module<T> {
 public:
  explicit AvgPool2d(Pair2 kernel, std::optional<Pair2> stride = std::nullopt, Pair2 padding = 0);
  Var<T> forward(const Var<T>& x) override;
  Pair2 kernel_size() const { return kernel_; }
  Pair2 stride() const { return stride_; }
  Pair2 padding() const { return padding_; }
  std::string extra_repr() const override;

 private:
  Pair2 kernel_, stride_, padding_;
};

extern template class MaxPool2d<float>;
extern template class MaxPool2d<double>;
extern template class AvgPool2d<float>;
extern template class AvgPool2d<double>;

}  // namespace tapegrad::nn
