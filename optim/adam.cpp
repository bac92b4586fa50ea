#include <tapegrad/optim/adam.hpp>

#include <cmath>
#include <type_traits>

#include <xsimd/xsimd.hpp>

namespace tapegrad {

template <class T>
Adam<T>::Adam(std::vector<Parameter<T>*> params, const AdamOptions& options)
    : Adam("Adam", {ParamGroup<T>(std::move(params))}, options, false) {}

template <class T>
Adam<T>::Adam(std::initializer_list<ParamGroup<T>> groups, const AdamOptions& options)
    : Adam("Adam", std::vector<ParamGroup<T>>(groups), options, false) {}

template <class T>
Adam<T>::Adam(const ParamGroups<T>& groups, const AdamOptions& options)
    : Adam("Adam", groups.groups, options, false) {}

template <class T>
Adam<T>::Adam(const char* name, const std::vector<ParamGroup<T>>& groups, const AdamOptions& options, bool decoupled)
    : Optimizer<T>(name, groups, options.lr), options_(options), decoupled_(decoupled) {
  for (std::size_t g = 0; g < this->num_groups(); ++g) {
    const GroupOptions& set = this->group(g).options;
    const char* has = "lr, betas, eps, weight_decay";
    this->refuse_option(g, "momentum", set.momentum().has_value(), has);
    this->refuse_option(g, "dampening", set.dampening().has_value(), has);
    this->refuse_option(g, "nesterov", set.nesterov().has_value(), has);
    AdamOptions o = options;
    o.lr = this->initial_lr(g);
    o.beta1 = set.beta1().value_or(o.beta1);
    o.beta2 = set.beta2().value_or(o.beta2);
    o.eps = set.eps().value_or(o.eps);
    o.weight_decay = set.weight_decay().value_or(o.weight_decay);
    const double betas[2] = {o.beta1, o.beta2};
    for (int k = 0; k < 2; ++k)
      if (!(betas[k] >= 0 && betas[k] < 1))
        fail(this->who(g), "invalid beta", k + 1, " ", betas[k], " (must be in [0, 1))");
    this->check_nonnegative(g, "eps", o.eps);
    this->check_nonnegative(g, "weight_decay", o.weight_decay);
    group_options_.push_back(o);
  }
  this->register_buffers("exp_avg", m_);
  this->register_buffers("exp_avg_sq", v_);
}

template <class T>
void Adam<T>::step() {
  this->check_grads();
  const double t = static_cast<double>(this->steps_ + 1);
  using B = xsimd::batch<T>;
  for (std::size_t gi = 0; gi < this->groups_.size(); ++gi) {
    const typename Optimizer<T>::Group& group = this->groups_[gi];
    const AdamOptions& o = group_options_[gi];
    const T lr = static_cast<T>(group.lr);
    const T b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2);
    const T inv_bc1 = static_cast<T>(1 / (1 - std::pow(o.beta1, t)));
    const T inv_bc2 = static_cast<T>(1 / (1 - std::pow(o.beta2, t)));
    const T eps = static_cast<T>(o.eps);
    const T wd = static_cast<T>(o.weight_decay);
    const bool l2 = !decoupled_ && o.weight_decay != 0;
    const bool shrinks = decoupled_ && o.weight_decay != 0;
    const T shrink = static_cast<T>(1 - group.lr * o.weight_decay);  // AdamW: θ ← θ − lr·λ·θ

    // One update, on a batch of lanes or on one element: the same operations in the
    // same order for the vector body and the tail (scalar std::sqrt would keep the
    // compiler from vectorising the loop: it may set errno).
    const auto update = [&](auto pv, auto gv, auto& mv, auto& vv) {
      using V = std::decay_t<decltype(pv)>;
      const V d = l2 ? gv + V(wd) * pv : gv;
      mv = V(b1) * mv + V(1 - b1) * d;
      vv = V(b2) * vv + V(1 - b2) * d * d;
      return pv - V(lr) * (mv * V(inv_bc1)) / (xsimd::sqrt(vv * V(inv_bc2)) + V(eps));
    };
    for (std::size_t k = group.begin; k < group.end; ++k) {
      Parameter<T>& param = *this->params_[k];
      param.mark_modified();  // a tape that recorded it can no longer run backward through it
      T* p = param.value.data();
      const T* g = param.grad.data();
      T* m = m_[k].data();
      T* v = v_[k].data();
      const std::size_t n = param.value.size();
      // AdamW's decay is a pass of its own, rounded to T before the update as
      // PyTorch's param.mul_(1 − lr·λ) is (fused into the update's last
      // subtraction, the compiler would make one fused multiply-add of it).
      if (shrinks)
        for (std::size_t j = 0; j < n; ++j) p[j] *= shrink;
      std::size_t i = 0;
      for (; i + B::size <= n; i += B::size) {
        B mv = B::load_unaligned(m + i), vv = B::load_unaligned(v + i);
        update(B::load_unaligned(p + i), B::load_unaligned(g + i), mv, vv).store_unaligned(p + i);
        mv.store_unaligned(m + i);
        vv.store_unaligned(v + i);
      }
      for (; i < n; ++i) p[i] = update(p[i], g[i], m[i], v[i]);
    }
  }
  ++this->steps_;
}

template <class T>
AdamW<T>::AdamW(std::vector<Parameter<T>*> params, const AdamOptions& options)
    : Adam<T>("AdamW", {ParamGroup<T>(std::move(params))}, options, true) {}

template <class T>
AdamW<T>::AdamW(std::initializer_list<ParamGroup<T>> groups, const AdamOptions& options)
    : Adam<T>("AdamW", std::vector<ParamGroup<T>>(groups), options, true) {}

template <class T>
AdamW<T>::AdamW(const ParamGroups<T>& groups, const AdamOptions& options)
    : Adam<T>("AdamW", groups.groups, options, true) {}

template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace tapegrad
