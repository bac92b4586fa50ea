#pragma once
// Adam (L2 weight decay folded into the gradient) and AdamW (decoupled weight
// decay), following torch.optim.Adam / AdamW's documented algorithms exactly,
// per parameter group.
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // λ; AdamW's constructor defaults it to 1e-2 as PyTorch does
};

// Per step t = 1, 2, …, for every parameter θ with gradient g, with its group's
// lr, β₁, β₂, ε and λ:
//   Adam:  g ← g + λθ (if λ ≠ 0)          AdamW:  θ ← θ − lr·λ·θ
//   m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
//   m̂ = m / (1 − β₁ᵗ),     v̂ = v / (1 − β₂ᵗ)
//   θ ← θ − lr·m̂ / (√v̂ + ε)
// A group may set lr, betas, eps and weight_decay.
template <class T>
class Adam : public Optimizer<T> {
 public:
  Adam(std::vector<Parameter<T>*> params, const AdamOptions& options);
  // Groups; what a group does not set comes from `options`.
  Adam(std::initializer_list<ParamGroup<T>> groups, const AdamOptions& options);
  Adam(const ParamGroups<T>& groups, const AdamOptions& options);
  void step() override;

  // The options given (every group's defaults).
  const AdamOptions& options() const { return options_; }
  // Group g's options: the defaults with what the group set; lr is its initial lr.
  const AdamOptions& group_options(std::size_t g) const {
    this->group(g);  // range check
    return group_options_[g];
  }
  // m and v for parameter i (zeros before the first step).
  const Tensor<T>& exp_avg(std::size_t i) const { return this->buffer_at(m_, i, "exp_avg"); }
  const Tensor<T>& exp_avg_sq(std::size_t i) const { return this->buffer_at(v_, i, "exp_avg_sq"); }

 protected:
  Adam(const char* name, const std::vector<ParamGroup<T>>& groups, const AdamOptions& options, bool decoupled);

 private:
  AdamOptions options_;
  std::vector<AdamOptions> group_options_;
  bool decoupled_;
  std::vector<Tensor<T>> m_;
  std::vector<Tensor<T>> v_;
};

// Decoupled weight decay (Loshchilov & Hutter), torch.optim.AdamW: each group's
// parameters shrink by lr·λ of that group before the Adam update; a group with
// weight_decay 0 (biases, norms) is plain Adam.
template <class T>
class AdamW : public Adam<T> {
 public:
  static AdamOptions defaults() {
    AdamOptions o;
    o.weight_decay = 1e-2;
    return o;
  }
  explicit AdamW(std::vector<Parameter<T>*> params, const AdamOptions& options = defaults());
  explicit AdamW(std::initializer_list<ParamGroup<T>> groups, const AdamOptions& options = defaults());
  explicit AdamW(const ParamGroups<T>& groups, const AdamOptions& options = defaults());
};

extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;

}  // namespace tapegrad
