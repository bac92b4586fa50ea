#include <tapegrad/nn/init.hpp>

#include <cmath>
#include <limits>

namespace tapegrad::nn {

Generator::Generator(std::uint64_t seed) : engine_(seed), seed_(seed) {}

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2 * uniform() - 1;
    v = 2 * uniform() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  const double f = std::sqrt(-2 * std::log(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return u * f;
}

namespace init {

namespace {

void check_finite(const char* who, const char* what, double v) {
  if (!std::isfinite(v)) fail(who, ": ", what, " must be finite, got ", v);
}

// As PyTorch's uniform_: both bounds within T's range and hi − lo too (else the
// draws would be inf or all one value).
template <class T>
void check_uniform_range(const char* who, double lo, double hi) {
  const double top = static_cast<double>(std::numeric_limits<T>::max());
  const char* type = sizeof(T) == 4 ? "float" : "double";
  for (double v : {lo, hi})
    if (std::abs(v) > top) fail(who, ": bound ", v, " is out of range for ", type);
  if (hi - lo > top) fail(who, ": hi - lo = ", hi - lo, " exceeds the largest ", type, " (", top, ")");
}

// U(lo, hi) into w; the caller has checked lo <= hi, both finite.
template <class T>
void fill_uniform(Tensor<T>& w, Generator& gen, double lo, double hi) {
  const T top = static_cast<T>(hi);
  const T below_top = std::nextafter(top, static_cast<T>(lo));
  T* p = w.data();
  for (std::size_t k = 0; k < w.size(); ++k) {
    T v = static_cast<T>(lo + (hi - lo) * gen.uniform());
    // rounding to T (or lo + (hi − lo)·u itself) can land on hi: keep [lo, hi)
    if (v >= top && hi > lo) v = below_top;
    p[k] = v;
  }
}

template <class T>
void fill_normal(Tensor<T>& w, Generator& gen, double mean, double std) {
  T* p = w.data();
  for (std::size_t k = 0; k < w.size(); ++k) p[k] = static_cast<T>(mean + std * gen.normal());
}

// σ = gain / √fan for kaiming_*; 0 when there is nothing to fill.
template <class T>
double kaiming_std(const Tensor<T>& w, const char* who, double a, FanMode mode, Nonlinearity nl) {
  check_finite(who, "a", a);
  if (mode != FanMode::fan_in && mode != FanMode::fan_out) fail(who, ": unknown fan mode ", static_cast<int>(mode));
  const Fans f = fans_of(to_shape(w.shape()), who);
  const std::size_t fan = mode == FanMode::fan_in ? f.in : f.out;
  if (fan == 0) return 0;
  return calculate_gain(nl, a) / std::sqrt(static_cast<double>(fan));
}

template <class T>
double xavier_scale(const Tensor<T>& w, const char* who, double gain, double numerator) {
  check_finite(who, "gain", gain);
  const Fans f = fans_of(to_shape(w.shape()), who);
  if (f.in + f.out == 0) return 0;
  return gain * std::sqrt(numerator / static_cast<double>(f.in + f.out));
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::sigmoid: return 1;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu:
      check_finite("calculate_gain", "the leaky_relu slope", param);
      return std::sqrt(2.0 / (1 + param * param));
    case Nonlinearity::selu: return 0.75;
  }
  fail("calculate_gain: unknown nonlinearity ", static_cast<int>(nonlinearity));
}

Fans fans_of(const Shape& shape, const char* who) {
  if (shape.size() < 2)
    fail(who, ": fan in and fan out need a tensor of rank >= 2, got shape ", shape_str(shape));
  if (shape.size() == 2) return {shape[0], shape[1]};  // (in, out), as nn::Linear
  std::size_t receptive = 1;
  for (std::size_t k = 2; k < shape.size(); ++k) receptive *= shape[k];
  return {shape[1] * receptive, shape[0] * receptive};  // (out, in, k1, ...), as PyTorch's conv
}

template <class T>
void uniform(Tensor<T>& w, Generator& gen, double lo, double hi) {
  check_finite("uniform", "lo", lo);
  check_finite("uniform", "hi", hi);
  if (lo > hi) fail("uniform: need lo <= hi, got [", lo, ", ", hi, ")");
  check_uniform_range<T>("uniform", lo, hi);
  fill_uniform(w, gen, lo, hi);
}

template <class T>
void normal(Tensor<T>& w, Generator& gen, double mean, double std) {
  check_finite("normal", "mean", mean);
  check_finite("normal", "std", std);
  if (std < 0) fail("normal: std must be >= 0, got ", std);
  fill_normal(w, gen, mean, std);
}

template <class T>
void constant(Tensor<T>& w, double value) {
  w.fill(static_cast<T>(value));
}

template <class T>
void zeros(Tensor<T>& w) {
  w.fill(T(0));
}

template <class T>
void xavier_uniform(Tensor<T>& w, Generator& gen, double gain) {
  const double a = xavier_scale(w, "xavier_uniform", gain, 6.0);
  if (a < 0) fail("xavier_uniform: gain must be >= 0, got ", gain);
  check_uniform_range<T>("xavier_uniform", -a, a);
  fill_uniform(w, gen, -a, a);
}

template <class T>
void xavier_normal(Tensor<T>& w, Generator& gen, double gain) {
  const double s = xavier_scale(w, "xavier_normal", gain, 2.0);
  if (s < 0) fail("xavier_normal: gain must be >= 0, got ", gain);
  fill_normal(w, gen, 0, s);
}

template <class T>
void kaiming_uniform(Tensor<T>& w, Generator& gen, double a, FanMode mode, Nonlinearity nonlinearity) {
  const double s = kaiming_std(w, "kaiming_uniform", a, mode, nonlinearity);
  if (s == 0) return;
  const double bound = std::sqrt(3.0) * s;
  check_uniform_range<T>("kaiming_uniform", -bound, bound);
  fill_uniform(w, gen, -bound, bound);
}

template <class T>
void kaiming_normal(Tensor<T>& w, Generator& gen, double a, FanMode mode, Nonlinearity nonlinearity) {
  const double s = kaiming_std(w, "kaiming_normal", a, mode, nonlinearity);
  if (s == 0) return;
  fill_normal(w, gen, 0, s);
}

// On a Parameter: the tensor's function, then the version bump (after a throw
// nothing was written, so nothing is marked).
template <class T>
void uniform(Parameter<T>& p, Generator& gen, double lo, double hi) {
  uniform(p.value, gen, lo, hi);
  p.mark_modified();
}
template <class T>
void normal(Parameter<T>& p, Generator& gen, double mean, double std) {
  normal(p.value, gen, mean, std);
  p.mark_modified();
}
template <class T>
void constant(Parameter<T>& p, double value) {
  constant(p.value, value);
  p.mark_modified();
}
template <class T>
void zeros(Parameter<T>& p) {
  zeros(p.value);
  p.mark_modified();
}
template <class T>
void xavier_uniform(Parameter<T>& p, Generator& gen, double gain) {
  xavier_uniform(p.value, gen, gain);
  p.mark_modified();
}
template <class T>
void xavier_normal(Parameter<T>& p, Generator& gen, double gain) {
  xavier_normal(p.value, gen, gain);
  p.mark_modified();
}
template <class T>
void kaiming_uniform(Parameter<T>& p, Generator& gen, double a, FanMode mode, Nonlinearity nonlinearity) {
  kaiming_uniform(p.value, gen, a, mode, nonlinearity);
  p.mark_modified();
}
template <class T>
void kaiming_normal(Parameter<T>& p, Generator& gen, double a, FanMode mode, Nonlinearity nonlinearity) {
  kaiming_normal(p.value, gen, a, mode, nonlinearity);
  p.mark_modified();
}

#define TAPEGRAD_INSTANTIATE(T)                                                            \
  template void uniform(Parameter<T>&, Generator&, double, double);                       \
  template void normal(Parameter<T>&, Generator&, double, double);                        \
  template void constant(Parameter<T>&, double);                                          \
  template void zeros(Parameter<T>&);                                                     \
  template void xavier_uniform(Parameter<T>&, Generator&, double);                        \
  template void xavier_normal(Parameter<T>&, Generator&, double);                         \
  template void kaiming_uniform(Parameter<T>&, Generator&, double, FanMode, Nonlinearity); \
  template void kaiming_normal(Parameter<T>&, Generator&, double, FanMode, Nonlinearity); \
  template void uniform(Tensor<T>&, Generator&, double, double);                          \
  template void normal(Tensor<T>&, Generator&, double, double);                           \
  template void constant(Tensor<T>&, double);                                             \
  template void zeros(Tensor<T>&);                                                        \
  template void xavier_uniform(Tensor<T>&, Generator&, double);                           \
  template void xavier_normal(Tensor<T>&, Generator&, double);                            \
  template void kaiming_uniform(Tensor<T>&, Generator&, double, FanMode, Nonlinearity);   \
  template void kaiming_normal(Tensor<T>&, Generator&, double, FanMode, Nonlinearity);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace init
}  // namespace tapegrad::nn
