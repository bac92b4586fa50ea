#include "optim/adam.hpp"

#include <cmath>

namespace tapegrad {

template <class T>
Adam<T>::Adam(std::vector<Parameter<T>*> params, const AdamOptions& options)
    : Adam("Adam", std::move(params), options, false) {}

template <class T>
Adam<T>::Adam(const char* name, std::vector<Parameter<T>*> params, const AdamOptions& options, bool decoupled)
    : Optimizer<T>(name, std::move(params), options.lr), options_(options), decoupled_(decoupled) {
  const double betas[2] = {options.beta1, options.beta2};
  for (int k = 0; k < 2; ++k)
    if (!(betas[k] >= 0 && betas[k] < 1))
      fail(name, ": invalid beta", k + 1, " ", betas[k], " (must be in [0, 1))");
  this->check_nonnegative("eps", options.eps);
  this->check_nonnegative("weight_decay", options.weight_decay);
  this->register_buffers("exp_avg", m_);
  this->register_buffers("exp_avg_sq", v_);
}

template <class T>
void Adam<T>::step() {
  this->check_grads();
  const double t = static_cast<double>(this->steps_ + 1);
  const T lr = static_cast<T>(this->lr_);
  const T b1 = static_cast<T>(options_.beta1), b2 = static_cast<T>(options_.beta2);
  const T inv_bc1 = static_cast<T>(1 / (1 - std::pow(options_.beta1, t)));
  const T inv_bc2 = static_cast<T>(1 / (1 - std::pow(options_.beta2, t)));
  const T eps = static_cast<T>(options_.eps);
  const T wd = static_cast<T>(options_.weight_decay);
  const bool l2 = !decoupled_ && options_.weight_decay != 0;
  const T shrink = static_cast<T>(1 - this->lr_ * options_.weight_decay);  // AdamW: θ ← θ − lr·λ·θ

  for (std::size_t k = 0; k < this->params_.size(); ++k) {
    Parameter<T>& param = *this->params_[k];
    T* p = param.value.data();
    const T* g = param.grad.data();
    T* m = m_[k].data();
    T* v = v_[k].data();
    const std::size_t n = param.value.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (decoupled_) p[i] *= shrink;
      const T d = l2 ? g[i] + wd * p[i] : g[i];
      m[i] = b1 * m[i] + (1 - b1) * d;
      v[i] = b2 * v[i] + (1 - b2) * d * d;
      p[i] -= lr * (m[i] * inv_bc1) / (std::sqrt(v[i] * inv_bc2) + eps);
    }
  }
  ++this->steps_;
}

template <class T>
AdamW<T>::AdamW(std::vector<Parameter<T>*> params, const AdamOptions& options)
    : Adam<T>("AdamW", std::move(params), options, true) {}

template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace tapegrad
