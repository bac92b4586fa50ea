#include <tapegrad/nn/dropout.hpp>

#include <sstream>

#include <tapegrad/ops/dropout.hpp>

namespace tapegrad::nn {

template <class T>
Dropout<T>::Dropout(double p, std::uint64_t seed) : Module<T>("Dropout"), p_(p), gen_(seed) {
  if (!(p >= 0 && p < 1)) fail("Dropout: p must be in [0, 1), got ", p);
}

template <class T>
Var<T> Dropout<T>::forward(const Var<T>& x) {
  if (!this->is_training() || p_ == 0) {
    x.tape("Dropout").check(x, "Dropout");  // the same Errors for a bad Var in either mode
    return x;
  }
  return dropout(x, p_, gen_.next_u64());
}

template <class T>
std::string Dropout<T>::extra_repr() const {
  std::ostringstream os;
  os << "p=" << p_;
  return os.str();
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace tapegrad::nn
