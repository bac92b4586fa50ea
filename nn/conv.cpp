#include <tapegrad/nn/conv.hpp>

#include <cmath>

namespace tapegrad::nn {

template <class T>
Conv2d<T>::Conv2d(std::size_t in_channels, std::size_t out_channels, Pair2 kernel, Generator& gen,
                  const Conv2dOptions& options, bool bias)
    : Module<T>("Conv2d"), in_(in_channels), out_(out_channels), kernel_(kernel), options_(options) {
  if (in_ == 0 || out_ == 0)
    fail("Conv2d: in_channels and out_channels must be positive, got ", in_, " and ", out_);
  if (in_ >= std::size_t(detail::kMaxWindowParam) || out_ >= std::size_t(detail::kMaxWindowParam))
    fail("Conv2d: in_channels ", in_, " or out_channels ", out_, " is 2^62 or more (a negative size converted to size_t?)");
  if (kernel.h <= 0 || kernel.w <= 0) fail("Conv2d: kernel size must be positive, got ", pair_str(kernel));
  if (kernel.h >= detail::kMaxWindowParam || kernel.w >= detail::kMaxWindowParam)
    fail("Conv2d: kernel size ", pair_str(kernel), " is too large (at least 2^62)");
  detail::Window2d g{};
  detail::check_window_params("Conv2d", g, options.stride(), options.padding(), options.dilation());
  const Shape shape{out_, in_, std::size_t(kernel.h), std::size_t(kernel.w)};
  if (checked_size("Conv2d", shape) > std::size_t(-1) / sizeof(T))
    fail("Conv2d: a weight of shape ", shape_str(shape), " has more bytes than memory can hold");
  weight_ = &this->register_parameter("weight", Tensor<T>::from_shape(shape));
  // kaiming_uniform(a = √5): gain √(2 / (1 + 5)) = 1/√3, bound √3·gain/√fan_in = 1/√fan_in
  init::kaiming_uniform(weight_->value, gen, std::sqrt(5.0));
  if (bias) {
    bias_ = &this->register_parameter("bias", Tensor<T>::from_shape({out_}));
    const double bound = 1 / std::sqrt(static_cast<double>(init::fans_of(shape).in));
    init::uniform(bias_->value, gen, -bound, bound);
  }
}

template <class T>
Var<T> Conv2d<T>::forward(const Var<T>& x) {
  Tape<T>& t = x.tape("Conv2d");
  t.check(x, "Conv2d");
  const Tensor<T>& X = t.value_of(x.id());
  if (X.dimension() != 4 || X.shape()[1] != in_)
    fail("Conv2d(", in_, " -> ", out_, ", kernel ", pair_str(kernel_), "): expected an input of shape (N, ", in_,
         ", H, W), got ", shape_str(X.shape()));
  return bias_ ? conv2d(x, t.watch(*weight_), t.watch(*bias_), options_) : conv2d(x, t.watch(*weight_), options_);
}

template <class T>
std::string Conv2d<T>::extra_repr() const {
  std::string s = std::to_string(in_) + ", " + std::to_string(out_) + ", kernel_size=" + pair_str(kernel_) +
                  ", stride=" + pair_str(options_.stride());
  const Pair2 p = options_.padding(), d = options_.dilation();
  if (p.h != 0 || p.w != 0) s += ", padding=" + pair_str(p);
  if (d.h != 1 || d.w != 1) s += ", dilation=" + pair_str(d);
  if (!bias_) s += ", bias=False";
  return s;
}

template class Conv2d<float>;
template class Conv2d<double>;

}  // namespace tapegrad::nn
