#include <tapegrad/optim/adam.hpp>

#include <cmath>
#include <type_traits>

#include <xsimd/xsimd.hpp>

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

  // One update, on a batch of lanes or on one element: the same operations in the
  // same order for the vector body and the tail (scalar std::sqrt would keep the
  // compiler from vectorising the loop: it may set errno).
  const auto update = [&](auto pv, auto gv, auto& mv, auto& vv) {
    using V = std::decay_t<decltype(pv)>;
    if (decoupled_) pv = pv * V(shrink);
    const V d = l2 ? gv + V(wd) * pv : gv;
    mv = V(b1) * mv + V(1 - b1) * d;
    vv = V(b2) * vv + V(1 - b2) * d * d;
    return pv - V(lr) * (mv * V(inv_bc1)) / (xsimd::sqrt(vv * V(inv_bc2)) + V(eps));
  };
  using B = xsimd::batch<T>;
  for (std::size_t k = 0; k < this->params_.size(); ++k) {
    Parameter<T>& param = *this->params_[k];
    T* p = param.value.data();
    const T* g = param.grad.data();
    T* m = m_[k].data();
    T* v = v_[k].data();
    const std::size_t n = param.value.size();
    std::size_t i = 0;
    for (; i + B::size <= n; i += B::size) {
      B mv = B::load_unaligned(m + i), vv = B::load_unaligned(v + i);
      update(B::load_unaligned(p + i), B::load_unaligned(g + i), mv, vv).store_unaligned(p + i);
      mv.store_unaligned(m + i);
      vv.store_unaligned(v + i);
    }
    for (; i < n; ++i) p[i] = update(p[i], g[i], m[i], v[i]);
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
