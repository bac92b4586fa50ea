#pragma once
// Adam (L2 weight decay folded into the gradient) and AdamW (decoupled weight
// decay), following torch.optim.Adam / AdamW's documented algorithms exactly.
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // λ; AdamW's constructor defaults it to 1e-2 as PyTorch does
};

// Per step t = 1, 2, …, for every parameter θ with gradient g:
//   Adam:  g ← g + λθ (if λ ≠ 0)          AdamW:  θ ← θ − lr·λ·θ
//   m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
//   m̂ = m / (1 − β₁ᵗ),     v̂ = v / (1 − β₂ᵗ)
//   θ ← θ − lr·m̂ / (√v̂ + ε)
template <class T>
class Adam : public Optimizer<T> {
 public:
  Adam(std::vector<Parameter<T>*> params, const AdamOptions& options);
  void step() override;

  const AdamOptions& options() const { return options_; }
  // m and v for parameter i (zeros before the first step).
  const Tensor<T>& exp_avg(std::size_t i) const { return this->buffer_at(m_, i); }
  const Tensor<T>& exp_avg_sq(std::size_t i) const { return this->buffer_at(v_, i); }

 protected:
  Adam(const char* name, std::vector<Parameter<T>*> params, const AdamOptions& options, bool decoupled);

 private:
  AdamOptions options_;
  bool decoupled_;
  std::vector<Tensor<T>> m_;
  std::vector<Tensor<T>> v_;
};

template <class T>
class AdamW : public Adam<T> {
 public:
  static AdamOptions defaults() {
    AdamOptions o;
    o.weight_decay = 1e-2;
    return o;
  }
  explicit AdamW(std::vector<Parameter<T>*> params, const AdamOptions& options = defaults());
};

extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;

}  // namespace tapegrad
