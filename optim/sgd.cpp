#include <tapegrad/optim/sgd.hpp>

namespace tapegrad {

template <class T>
SGD<T>::SGD(std::vector<Parameter<T>*> params, const SGDOptions& options)
    : Optimizer<T>("SGD", std::move(params), options.lr), options_(options) {
  this->check_nonnegative("momentum", options.momentum);
  this->check_nonnegative("dampening", options.dampening);
  this->check_nonnegative("weight_decay", options.weight_decay);
  if (options.nesterov && (options.momentum <= 0 || options.dampening != 0))
    fail("SGD: Nesterov momentum requires momentum > 0 and dampening = 0 (got momentum ", options.momentum,
         ", dampening ", options.dampening, ")");
  // Momentum-free SGD keeps no state, as in PyTorch.
  if (options.momentum != 0) this->register_buffers("momentum_buffer", momentum_);
}

template <class T>
void SGD<T>::step() {
  this->check_grads();
  const T lr = static_cast<T>(this->lr_);
  const T mu = static_cast<T>(options_.momentum);
  const T keep = static_cast<T>(1 - options_.dampening);  // 1 − τ
  const T wd = static_cast<T>(options_.weight_decay);
  const bool decay = options_.weight_decay != 0;
  const bool use_momentum = options_.momentum != 0;
  const bool first = this->steps_ == 0;
  const bool nesterov = options_.nesterov;

  for (std::size_t k = 0; k < this->params_.size(); ++k) {
    Parameter<T>& param = *this->params_[k];
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
  ++this->steps_;
}

template class SGD<float>;
template class SGD<double>;

}  // namespace tapegrad
