#include <tapegrad/optim/optimizer.hpp>

#include <algorithm>
#include <cmath>

#include <xtensor/xbuilder.hpp>

namespace tapegrad {

template <class T>
Optimizer<T>::Optimizer(const char* name, std::vector<Parameter<T>*> params, double lr)
    : params_(std::move(params)), name_(name) {
  if (params_.empty()) fail(name_, ": got an empty parameter list");
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i]) fail(name_, ": parameter ", i, " is a null pointer");
    for (std::size_t j = 0; j < i; ++j)
      if (params_[j] == params_[i])
        fail(name_, ": parameter ", i, " ('", params_[i]->name, "') is the same as parameter ", j,
             " (it would be updated twice per step)");
  }
  set_lr(lr);
}

template <class T>
void Optimizer<T>::zero_grad() {
  for (Parameter<T>* p : params_) p->zero_grad();
}

template <class T>
void Optimizer<T>::set_lr(double lr) {
  if (!std::isfinite(lr) || lr < 0) fail(name_, ": invalid learning rate ", lr, " (must be finite and >= 0)");
  lr_ = lr;
}

template <class T>
void Optimizer<T>::check_nonnegative(const char* what, double v) const {
  if (!std::isfinite(v) || v < 0) fail(name_, ": invalid ", what, " ", v, " (must be finite and >= 0)");
}

template <class T>
void Optimizer<T>::register_buffers(const char* buffer_name, std::vector<Tensor<T>>& buffers) {
  buffers.clear();
  buffers.reserve(params_.size());
  for (Parameter<T>* p : params_) buffers.push_back(xt::zeros<T>(p->value.shape()));
  buffers_.push_back({buffer_name, &buffers});
}

template <class T>
void Optimizer<T>::check_grads() const {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Parameter<T>& p = *params_[i];
    if (p.grad.shape() != p.value.shape())
      fail(name_, ": parameter ", i, " ('", p.name, "') has value ", shape_str(p.value.shape()), " but grad ",
           shape_str(p.grad.shape()));
    // State buffers were shaped at construction; a parameter resized since then
    // would make the fused loops read past a buffer.
    for (const BufferSet& b : buffers_)
      if ((*b.tensors)[i].shape() != p.value.shape())
        fail(name_, ": parameter ", i, " ('", p.name, "') changed shape to ", shape_str(p.value.shape()),
             " after the optimizer was built (", b.name, " is ", shape_str((*b.tensors)[i].shape()), ")");
  }
}

template <class T>
const Tensor<T>& Optimizer<T>::buffer_at(const std::vector<Tensor<T>>& buffers, std::size_t i) const {
  if (i >= buffers.size()) fail(name_, ": parameter index ", i, " out of range [0, ", buffers.size(), ")");
  return buffers[i];
}

template <class T>
OptimizerState<T> Optimizer<T>::state() const {
  OptimizerState<T> s;
  s.steps = steps_;
  s.lr = lr_;
  for (const BufferSet& b : buffers_)
    for (std::size_t i = 0; i < b.tensors->size(); ++i)
      s.tensors.push_back({std::string(b.name) + "." + std::to_string(i), (*b.tensors)[i]});
  return s;
}

template <class T>
void Optimizer<T>::load_state(const OptimizerState<T>& s) {
  if (s.steps < 0) fail(name_, ": load_state: negative step count ", s.steps);
  if (!std::isfinite(s.lr) || s.lr < 0) fail(name_, ": load_state: invalid learning rate ", s.lr);
  std::vector<const Tensor<T>*> found;
  std::size_t expected = 0;
  for (const BufferSet& b : buffers_) {
    for (std::size_t i = 0; i < b.tensors->size(); ++i, ++expected) {
      const std::string key = std::string(b.name) + "." + std::to_string(i);
      auto it = std::find_if(s.tensors.begin(), s.tensors.end(), [&](const NamedTensor<T>& n) { return n.name == key; });
      if (it == s.tensors.end()) fail(name_, ": load_state: missing state tensor '", key, "'");
      if (it->value.shape() != (*b.tensors)[i].shape())
        fail(name_, ": load_state: '", key, "' has shape ", shape_str(it->value.shape()), " but parameter ", i,
             " has ", shape_str((*b.tensors)[i].shape()));
      found.push_back(&it->value);
    }
  }
  if (s.tensors.size() != expected)
    fail(name_, ": load_state: got ", s.tensors.size(), " state tensors, expected ", expected,
         " (unknown or duplicate names)");
  std::size_t k = 0;
  for (const BufferSet& b : buffers_)
    for (Tensor<T>& t : *b.tensors) {
      std::copy(found[k]->cbegin(), found[k]->cend(), t.begin());
      ++k;
    }
  steps_ = s.steps;
  lr_ = s.lr;
}

template struct NamedTensor<float>;
template struct NamedTensor<double>;
template struct OptimizerState<float>;
template struct OptimizerState<double>;
template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace tapegrad
