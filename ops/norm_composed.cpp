// batch_norm and layer_norm built only from public tape ops: the references the
// fused ops (ops/batch_norm.cpp, ops/layer_norm.cpp) are checked against. Every
// gradient here comes from the tape (mean, sub, square, sqrt, div, mul, add,
// reshape and their broadcasting); nothing is derived by hand.
#include <vector>

#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/norm.hpp>
#include <tapegrad/ops/norm_check.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

// The mean of v over every axis but 1 (the channels), kept as (1, C, 1, …) so it
// broadcasts against x: nested means over the axes, each of the same length, are
// the mean over all m values.
template <class T>
Var<T> channel_mean(const Var<T>& v, std::size_t rank) {
  Var<T> m = v;
  for (std::size_t ax = rank; ax-- > 0;)
    if (ax != 1) m = mean(m, static_cast<std::ptrdiff_t>(ax), true);
  return m;
}

// A (C) running statistic as a constant of shape (1, C, 1, …).
template <class T>
Var<T> channel_constant(Tape<T>& t, const Tensor<T>& v, std::size_t rank) {
  Shape s(rank, 1);
  s[1] = v.size();
  Tensor<T> c = v;
  c.reshape(s);
  return t.constant(c);
}

}  // namespace

template <class T>
Var<T> batch_norm_composed(const Var<T>& x, OptionalVar<NormT<T>> gamma, OptionalVar<NormT<T>> beta,
                           Tensor<NormT<T>>* running_mean, Tensor<NormT<T>>* running_var, bool training,
                           double momentum, double eps) {
  const detail::BatchNormLayout bl = detail::check_batch_norm<T>(
      "batch_norm_composed", x, gamma, beta, running_mean, running_var, training, momentum, eps);
  Tape<T>& t = x.tape();
  const std::size_t rank = t.value_of(x.id()).dimension(), C = bl.layout.len;
  Var<T> d, var;
  if (training) {
    const Var<T> mu = channel_mean(x, rank);
    d = x - mu;                            // x − μ
    var = channel_mean(square(d), rank);   // biased: mean((x − μ)²)
    if (bl.m > 0) {
      // the same update as the fused op, the unbiased variance as var·m/(m − 1)
      const double m = static_cast<double>(bl.m);
      const Tensor<T>& mu_v = t.value_of(mu.id());
      const Tensor<T>& var_v = t.value_of(var.id());
      for (std::size_t c = 0; c < C; ++c)
        detail::update_running_stats(running_mean, running_var, c, static_cast<double>(mu_v.data()[c]),
                                     static_cast<double>(var_v.data()[c]) * m / (m - 1), momentum);
    }
  } else {
    d = x - channel_constant(t, *running_mean, rank);
    var = channel_constant(t, *running_var, rank);
  }
  Var<T> y = d / sqrt(var + static_cast<T>(eps));  // x̂
  std::vector<std::ptrdiff_t> cshape(rank, 1);
  cshape[1] = static_cast<std::ptrdiff_t>(C);
  if (gamma.has_value()) y = y * reshape(*gamma, cshape);
  if (beta.has_value()) y = y + reshape(*beta, cshape);
  return y;
}

template <class T>
Var<T> layer_norm_composed(const Var<T>& x, const Shape& normalized_shape, OptionalVar<NormT<T>> gamma,
                           OptionalVar<NormT<T>> beta, double eps) {
  const detail::LayerNormLayout l =
      detail::check_layer_norm<T>("layer_norm_composed", x, normalized_shape, gamma, beta, eps);
  const Shape shape = to_shape(x.value().shape());
  const Var<T> rows = reshape(x, {static_cast<std::ptrdiff_t>(l.rows), static_cast<std::ptrdiff_t>(l.d)});
  const Var<T> d = rows - mean(rows, 1, true);              // x − μ per row
  const Var<T> var = mean(square(d), 1, true);               // biased
  Var<T> y = reshape(d / sqrt(var + static_cast<T>(eps)), std::vector<std::ptrdiff_t>(shape.begin(), shape.end()));
  if (gamma.has_value()) y = y * *gamma;  // broadcast over the leading axes
  if (beta.has_value()) y = y + *beta;
  return y;
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                \
  template Var<T> batch_norm_composed<T>(const Var<T>&, OptionalVar<T>, OptionalVar<T>, Tensor<T>*, Tensor<T>*, \
                                         bool, double, double);                                                \
  template Var<T> layer_norm_composed<T>(const Var<T>&, const Shape&, OptionalVar<T>, OptionalVar<T>, double);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
