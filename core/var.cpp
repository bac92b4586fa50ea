#include <tapegrad/core/var.hpp>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

template <class T>
void Parameter<T>::zero_grad() {
  if (grad.shape() != value.shape()) grad.resize(value.shape());
  grad.fill(T(0));
}

template <class T>
Tape<T>& Var<T>::tape() const {
  if (!tape_) throw Error("Var: used before being recorded on a tape (default-constructed)");
  if (!token_->alive) fail("Var: Var #", id_, " outlived its tape (the tape was destroyed)");
  return *tape_;
}

template <class T>
Tape<T>& Var<T>::tape(const char* op) const {
  if (!tape_) fail(op, ": Var is empty (default-constructed, never recorded)");
  if (!token_->alive) fail(op, ": Var #", id_, " outlived its tape (the tape was destroyed)");
  return *tape_;
}

template <class T>
const Tensor<T>& Var<T>::value() const {
  return tape().value(*this);
}

template struct Parameter<float>;
template struct Parameter<double>;
template class Var<float>;
template class Var<double>;

}  // namespace tapegrad
