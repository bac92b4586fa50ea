#pragma once
// nn::Conv2d: y = conv2d(x, W, b) for x (N, in, H, W), W (out, in, KH, KW) and
// b (out), as torch.nn.Conv2d with groups = 1 (ops/conv.hpp has the op, its
// output size and errors). The layout is PyTorch's, so a saved weight loads into
// nn.Conv2d as it is (unlike nn::Linear's (in, out)).
//
// Initialisation (PyTorch's reset_parameters, from the Generator given): W ~
// kaiming_uniform(a = √5), i.e. U(−1/√fan_in, 1/√fan_in) with fan_in = in·KH·KW,
// then b ~ U(−1/√fan_in, 1/√fan_in).
//
// The constructor checks what the op would refuse at the first forward: zero
// channels, a kernel, stride or dilation < 1, padding < 0 (Errors naming Conv2d).
#include <cstddef>
#include <string>

#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/conv.hpp>

namespace tapegrad::nn {

template <class T>
class Conv2d : public Module<T> {
 public:
  // Draws W, then b, from gen.
  Conv2d(std::size_t in_channels, std::size_t out_channels, Pair2 kernel, Generator& gen,
         const Conv2dOptions& options = Conv2dOptions(), bool bias = true);

  // x must be (N, in, H, W) (an Error naming the layer otherwise).
  Var<T> forward(const Var<T>& x) override;

  Parameter<T>& weight() { return *weight_; }
  const Parameter<T>& weight() const { return *weight_; }
  Parameter<T>* bias() { return bias_; }  // nullptr without a bias
  const Parameter<T>* bias() const { return bias_; }
  std::size_t in_channels() const { return in_; }
  std::size_t out_channels() const { return out_; }
  Pair2 kernel_size() const { return kernel_; }
  const Conv2dOptions& options() const { return options_; }
  // "1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)", as PyTorch prints
  // (padding when not 0, dilation when not 1, bias=False without a bias).
  std::string extra_repr() const override;

 private:
  std::size_t in_, out_;
  Pair2 kernel_;
  Conv2dOptions options_;
  Parameter<T>* weight_;
  Parameter<T>* bias_ = nullptr;
};

extern template class Conv2d<float>;
extern template class Conv2d<double>;

}  // namespace tapegrad::nn
