#pragma once
// nn::Linear: y = x·W + b for x (N, in), W (in, out), b (out).
//
// Layout: W is stored (in, out), the transpose of libtorch's (out, in) weight.
// The forward is then one matmul(x, W) with no transpose at all, and its
// backward dx = dy·Wᵀ, dW = xᵀ·dy are gemm transpose flags (ops/linalg.hpp).
// Storing (out, in) would need x·Wᵀ, which ops/ has no op for without
// materialising the transpose every step (transpose copies), and it would miss
// linalg's narrow-output AVX-512 kernels, which take an untransposed B (a
// 784×10 weight: measured 2× faster than OpenBLAS). A state saved here holds
// "weight" as (in, out): transpose it to load into PyTorch's nn.Linear.
//
// Initialisation (PyTorch's reset_parameters, from the Generator given):
// W ~ kaiming_uniform(a = √5), which is U(−1/√in, 1/√in); b ~ U(−1/√in, 1/√in);
// in = 0 leaves W empty and b zero. PyTorch's default keeps the outputs'
// variance near the inputs' for any width without a choice of nonlinearity,
// and matching it lets results be compared with PyTorch's; use nn::init to
// choose another (e.g. kaiming_normal for a ReLU network), drawing from the
// same Generator for reproducibility.
#include <cstddef>

#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
class Linear : public Module<T> {
 public:
  // Draws W, then b, from gen (so consecutive layers get different values and a
  // whole model is reproducible from one seed).
  Linear(std::size_t in_features, std::size_t out_features, Generator& gen, bool bias = true);

  // x must be (N, in) (an Error naming the layer otherwise); returns (N, out).
  Var<T> forward(const Var<T>& x) override;

  Parameter<T>& weight() { return *weight_; }
  const Parameter<T>& weight() const { return *weight_; }
  Parameter<T>* bias() { return bias_; }  // nullptr without a bias
  const Parameter<T>* bias() const { return bias_; }
  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }
  std::string extra_repr() const override;

 private:
  std::size_t in_, out_;
  Parameter<T>* weight_;
  Parameter<T>* bias_ = nullptr;
};

extern template class Linear<float>;
extern template class Linear<double>;

}  // namespace tapegrad::nn
