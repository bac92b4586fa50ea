#include <tapegrad/nn/linear.hpp>

#include <cmath>
#include <new>
#include <utility>

#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/linalg.hpp>

namespace tapegrad::nn {

namespace {

// Sizes an (in, out) weight can have: an Error naming the layer for an extent of
// 2⁶³ or more (a negative int converted to size_t), or a product whose bytes do
// not fit in size_t (the allocator would wrap it and hand out a short buffer).
template <class T>
void check_sizes(std::size_t in, std::size_t out) {
  constexpr std::size_t kHalf = std::size_t(1) << 63;
  for (const auto& [what, n] : {std::pair<const char*, std::size_t>{"in_features", in}, {"out_features", out}})
    if (n >= kHalf)
      fail("Linear(", in, " -> ", out, "): ", what, " ", n, " is 2^63 or more (a negative size converted to size_t?)");
  const std::size_t elements = checked_size("Linear", Shape{in, out});
  if (elements > static_cast<std::size_t>(-1) / sizeof(T) / 2)
    fail("Linear(", in, " -> ", out, "): a weight of shape (", in, ", ", out, ") has more bytes than memory can hold");
}

}  // namespace

template <class T>
Linear<T>::Linear(std::size_t in_features, std::size_t out_features, Generator& gen, bool bias)
    : Module<T>("Linear"), in_(in_features), out_(out_features) {
  check_sizes<T>(in_, out_);
  try {
    weight_ = &this->register_parameter("weight", Tensor<T>::from_shape({in_, out_}));
  } catch (const std::bad_alloc&) {
    fail("Linear(", in_, " -> ", out_, "): cannot allocate a weight of shape (", in_, ", ", out_, "): ",
         static_cast<double>(in_) * static_cast<double>(out_) * sizeof(T), " bytes");
  }
  // kaiming_uniform(a = √5): gain √(2 / (1 + 5)) = 1/√3, bound √3·gain/√in = 1/√in
  init::kaiming_uniform(weight_->value, gen, std::sqrt(5.0));
  if (bias) {
    bias_ = &this->register_parameter("bias", Tensor<T>::from_shape({out_}));
    const double bound = in_ > 0 ? 1 / std::sqrt(static_cast<double>(in_)) : 0;
    init::uniform(bias_->value, gen, -bound, bound);
  }
}

template <class T>
Var<T> Linear<T>::forward(const Var<T>& x) {
  Tape<T>& t = x.tape("Linear");
  t.check(x, "Linear");
  const Tensor<T>& X = t.value_of(x.id());
  if (X.dimension() != 2 || X.shape()[1] != in_)
    fail("Linear(", in_, " -> ", out_, "): expected an input of shape (N, ", in_, "), got ",
         shape_str(X.shape()));
  const Var<T> y = matmul(x, t.watch(*weight_));
  return bias_ ? add(y, t.watch(*bias_)) : y;
}

template <class T>
std::string Linear<T>::extra_repr() const {
  return "in=" + std::to_string(in_) + ", out=" + std::to_string(out_) + ", bias=" + (bias_ ? "true" : "false");
}

template class Linear<float>;
template class Linear<double>;

}  // namespace tapegrad::nn
