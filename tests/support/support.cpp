#include "support/support.hpp"

#include <cmath>
#include <random>
#include <sstream>

namespace tapegrad::testing {

Tensor<double> random_tensor(const Shape& shape, std::uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor<double> t(shape);
  for (auto& v : t) v = u(rng);
  return t;
}

Tensor<double> random_away_from_zero(const Shape& shape, std::uint64_t seed, double gap) {
  Tensor<double> t = random_tensor(shape, seed);
  for (auto& v : t) v = v >= 0 ? v + gap : v - gap;
  return t;
}

IndexTensor random_labels(std::size_t n, std::size_t c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  IndexTensor y = IndexTensor::from_shape({n});
  for (auto& v : y) v = static_cast<std::int64_t>(rng() % c);
  return y;
}

Tensor<double> iota(const Shape& shape, double start) {
  Tensor<double> t(shape);
  double v = start;
  for (auto& x : t) x = v++;
  return t;
}

Var<double> weighted_sum(const Var<double>& y, std::uint64_t seed) {
  const Tensor<double> w = random_tensor({y.value().size(), 1}, seed);
  return matmul(reshape(y, {1, -1}), y.tape().constant(w));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return kNoError;
}

::testing::AssertionResult gradcheck_passes(const TapeFunction& f, const std::vector<Tensor<double>>& inputs,
                                            const GradcheckOptions& options) {
  GradcheckReport rep = gradcheck(f, inputs, options);
  if (rep.passed) return ::testing::AssertionSuccess() << rep.summary();
  return ::testing::AssertionFailure() << rep.summary();
}

template <class T>
static ::testing::AssertionResult close_impl(const Tensor<T>& a, const Tensor<T>& e, double atol, double rtol) {
  if (a.shape() != e.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(a.shape()) << " != expected "
                                         << shape_str(e.shape());
  for (std::size_t k = 0; k < a.size(); ++k) {
    const double x = a.data()[k], y = e.data()[k];
    if (!(std::abs(x - y) <= atol + rtol * std::abs(y)))
      return ::testing::AssertionFailure() << "element " << k << ": " << x << " != expected " << y
                                           << " (diff " << std::abs(x - y) << ")";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult all_close(const Tensor<double>& a, const Tensor<double>& e, double atol, double rtol) {
  return close_impl(a, e, atol, rtol);
}
::testing::AssertionResult all_close(const Tensor<float>& a, const Tensor<float>& e, double atol, double rtol) {
  return close_impl(a, e, atol, rtol);
}

GradcheckOptions contracted() {
  GradcheckOptions o;
  o.contract_output = true;
  return o;
}

}  // namespace tapegrad::testing
