#include <tapegrad/optim/sgd.hpp>

namespace tapegrad {

template <class T>
SGD<T>::SGD(std::vector<Parameter<T>*> params, const SGDOptions& options)
    : SGD(ParamGroups<T>({ParamGroup<T>(std::move(params))}), options) {}

template <class T>
SGD<T>::SGD(std::initializer_list<ParamGroup<T>> groups, const SGDOptions& options)
    : SGD(ParamGroups<T>(groups), options) {}

template <class T>
SGD<T>::SGD(const ParamGroups<T>& groups, const SGDOptions& options)
    : Optimizer<T>("SGD", groups.groups, options.lr), options_(options) {
  std::vector<bool> with_momentum;
  for (std::size_t g = 0; g < this->num_groups(); ++g) {
    const GroupOptions& set = this->group(g).options;
    const char* has = "lr, momentum, dampening, weight_decay, nesterov";
    this->refuse_option(g, "betas", set.beta1().has_value(), has);
    this->refuse_option(g, "eps", set.eps().has_value(), has);
    SGDOptions o = options;
    o.lr = this->initial_lr(g);
    o.momentum = set.momentum().value_or(o.momentum);
    o.dampening = set.dampening().value_or(o.dampening);
    o.weight_decay = set.weight_decay().value_or(o.weight_decay);
    o.nesterov = set.nesterov().value_or(o.nesterov);
    this->check_nonnegative(g, "momentum", o.momentum);
    this->check_nonnegative(g, "dampening", o.dampening);
    this->check_nonnegative(g, "weight_decay", o.weight_decay);
    if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
      fail(this->who(g), "Nesterov momentum requires momentum > 0 and dampening = 0 (got momentum ", o.momentum,
           ", dampening ", o.dampening, ")");
    group_options_.push_back(o);
    with_momentum.push_back(o.momentum != 0);
  }
  // Momentum-free SGD keeps no state, as in PyTorch: only groups with μ ≠ 0 have buffers.
  this->register_buffers("momentum_buffer", momentum_, with_momentum);
}

template <class T>
void SGD<T>::step() {
  this->check_grads();
  const bool first = this->steps_ == 0;
  for (std::size_t gi = 0; gi < this->groups_.size(); ++gi) {
    const typename Optimizer<T>::Group& group = this->groups_[gi];
    const SGDOptions& o = group_options_[gi];
    const T lr = static_cast<T>(group.lr);
    const T mu = static_cast<T>(o.momentum);
    const T keep = static_cast<T>(1 - o.dampening);  // 1 − τ
    const T wd = static_cast<T>(o.weight_decay);
    const bool decay = o.weight_decay != 0;
    const bool use_momentum = o.momentum != 0;
    const bool nesterov = o.nesterov;

    for (std::size_t k = group.begin; k < group.end; ++k) {
      Parameter<T>& param = *this->params_[k];
      param.mark_modified();  // a tape that recorded it can no longer run backward through it
      T* p = param.value.data();
      const T* g = param.grad.data();
      const std::size_t n = param.value.size();
      if (!use_momentum) {
        for (std::size_t i = 0; i < n; ++i) p[i] -= lr * (decay ? g[i] + wd * p[i] : g[i]);
        continue;
      }
      T* b = momentum_[k].data();
      for (std::size_t i = 0; i < n; ++i) {
        const T d = decay ? g[i] + wd * p[i] : g[i];
        b[i] = first ? d : mu * b[i] + keep * d;
        p[i] -= lr * (nesterov ? d + mu * b[i] : b[i]);
      }
    }
  }
  ++this->steps_;
}

template class SGD<float>;
template class SGD<double>;

}  // namespace tapegrad
