// layer_norm, fused: per row (the leading indices) the mean and biased variance
// of its d = Π normalized_shape trailing values, in two passes, and the
// closed-form backward derived below. Its composed twin is ops/norm_composed.cpp.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include <tapegrad/ops/norm.hpp>
#include <tapegrad/ops/norm_check.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace detail {

template <class T>
LayerNormLayout check_layer_norm(const char* op, const Var<T>& x, const Shape& normalized_shape,
                                 const OptionalVar<T>& gamma, const OptionalVar<T>& beta, double eps) {
  Tape<T>& t = x.tape(op);
  t.check(x, op);
  if (gamma.has_value()) t.check(*gamma, op);
  if (beta.has_value()) t.check(*beta, op);
  if (!(eps > 0) || !std::isfinite(eps)) fail(op, ": eps must be positive and finite, got ", eps);
  if (normalized_shape.empty()) fail(op, ": normalized_shape must have at least one extent, got ()");
  const Tensor<T>& X = t.value_of(x.id());
  const std::size_t rank = X.dimension(), k = normalized_shape.size();
  if (rank < k || !std::equal(normalized_shape.begin(), normalized_shape.end(), X.shape().begin() + (rank - k)))
    fail(op, ": normalized_shape ", shape_str(normalized_shape), " is not the trailing extents of input ",
         shape_str(X.shape()));
  for (const auto* v : {&gamma, &beta}) {
    if (!v->has_value()) continue;
    const auto& s = t.value_of((**v).id()).shape();
    if (!std::equal(s.begin(), s.end(), normalized_shape.begin(), normalized_shape.end()))
      fail(op, ": ", v == &gamma ? "gamma" : "beta", " has shape ", shape_str(s), ", expected normalized_shape ",
           shape_str(normalized_shape));
  }
  LayerNormLayout l;
  l.d = checked_size(op, normalized_shape);
  // rows = Π of the leading extents, overflow-checked (with d = 0 it is not bounded by x's size)
  l.rows = 1;
  for (std::size_t a = 0; a < rank - k; ++a) {
    const std::size_t e = X.shape()[a];
    if (e != 0 && l.rows > std::numeric_limits<std::size_t>::max() / e)
      fail(op, ": input ", shape_str(X.shape()), " has more rows than fit in size_t");
    l.rows *= e;
  }
  return l;
}

}  // namespace detail

namespace {

// What layer_norm's backward needs beyond x, gamma and g: the layout, where gamma
// and beta sit among the inputs, and per row the μ and 1/σ (σ = √(var + ε)) the
// forward used, so x̂ = (x − μ)/σ is recomputed exactly as it was.
template <class T>
struct LayerNormSaved {
  detail::LayerNormLayout layout;
  std::int32_t gamma_at = -1, beta_at = -1;
  double eps = 0;  // for the replay
  Slot<Tensor<T>> mean, rstd;
};

// Backward, with x̂ = (x − μ)/σ over the d values of a row and y_j = γ_j·x̂_j + β_j:
//   dβ_j = Σ_rows g_j,   dγ_j = Σ_rows g_j·x̂_j,
//   dx̂ = γ·g, and as for batch norm (μ and σ depend on every x of the row)
//   dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), the means over the row.
// (Here γ varies along the row, so it stays inside the means.)
template <class T>
void layer_norm_backward(Tape<T>& t, Record<T>& r) {
  const LayerNormSaved<T>& s = r.template saved<LayerNormSaved<T>>();
  const std::size_t rows = s.layout.rows, d = s.layout.d;
  const T* x = t.value_of(r.inputs[0]).data();
  const T* g = r.grad.data();
  const T* mean = r.buffer(s.mean).data();
  const T* rstd = r.buffer(s.rstd).data();
  const T* gamma = s.gamma_at >= 0 ? t.value_of(r.inputs[s.gamma_at]).data() : nullptr;
  bool fresh = false;
  if (Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh)) {
    T* out = dx->data();
    for (std::size_t row = 0; row < rows; ++row) {
      const std::size_t base = row * d;
      double a = 0, b = 0;  // Σ dx̂, Σ dx̂·x̂
      for (std::size_t j = 0; j < d; ++j) {
        const double dxh = static_cast<double>(g[base + j]) * (gamma ? static_cast<double>(gamma[j]) : 1.0);
        a += dxh;
        b += dxh * static_cast<double>((x[base + j] - mean[row]) * rstd[row]);
      }
      const double ma = a / static_cast<double>(d), mb = b / static_cast<double>(d);
      for (std::size_t j = 0; j < d; ++j) {
        const double dxh = static_cast<double>(g[base + j]) * (gamma ? static_cast<double>(gamma[j]) : 1.0);
        const double xh = static_cast<double>((x[base + j] - mean[row]) * rstd[row]);
        const T v = static_cast<T>(static_cast<double>(rstd[row]) * (dxh - ma - xh * mb));
        out[base + j] = fresh ? v : out[base + j] + v;
      }
    }
  }
  // gamma's gradient is complete before beta's buffer is asked for, so one Var passed
  // as both (or as x and gamma) receives every contribution
  const std::int32_t at[2] = {s.gamma_at, s.beta_at};
  for (int k = 0; k < 2; ++k) {
    if (at[k] < 0) continue;
    Tensor<T>* db = t.grad_buffer(r.inputs[at[k]], fresh);
    if (!db) continue;
    T* out = db->data();
    for (std::size_t j = 0; j < d; ++j) {
      double acc = 0;  // dγ_j = Σ g·x̂ (k = 0), dβ_j = Σ g (k = 1)
      for (std::size_t row = 0; row < rows; ++row) {
        const std::size_t e = row * d + j;
        acc += k == 0 ? g[e] * static_cast<double>((x[e] - mean[row]) * rstd[row]) : static_cast<double>(g[e]);
      }
      out[j] = fresh ? static_cast<T>(acc) : static_cast<T>(out[j] + acc);
    }
  }
}

// The replay: layer_norm again on the rows × d view, γ and β flattened to (d).
template <class T>
Var<double> layer_norm_replay(const Record<T>& r, Tape<double>&, const Var<double>* x) {
  const LayerNormSaved<T>& s = r.template saved<LayerNormSaved<T>>();
  const auto d = static_cast<std::ptrdiff_t>(s.layout.d);
  const auto flat = [&](std::int32_t at) {
    return at >= 0 ? OptionalVar<double>(reshape(x[at], {d})) : OptionalVar<double>(nullptr);
  };
  const Var<double> rows = reshape(x[0], {static_cast<std::ptrdiff_t>(s.layout.rows), d});
  return detail::replay_reshape(layer_norm(rows, Shape{s.layout.d}, flat(s.gamma_at), flat(s.beta_at), s.eps),
                                r.value.shape());
}

}  // namespace

template <class T>
Var<T> layer_norm(const Var<T>& x, const Shape& normalized_shape, OptionalVar<NormT<T>> gamma,
                  OptionalVar<NormT<T>> beta, double eps) {
  const detail::LayerNormLayout l = detail::check_layer_norm<T>("layer_norm", x, normalized_shape, gamma, beta, eps);
  Tape<T>& t = x.tape();
  const Tensor<T>& X = t.value_of(x.id());
  Var<T> inputs[3] = {x};
  std::size_t count = 1;
  LayerNormSaved<T> s;
  s.layout = l;
  s.eps = eps;
  if (gamma.has_value()) {
    s.gamma_at = static_cast<std::int32_t>(count);
    inputs[count++] = *gamma;
  }
  if (beta.has_value()) {
    s.beta_at = static_cast<std::int32_t>(count);
    inputs[count++] = *beta;
  }
  Record<T>& r = t.push("layer_norm", inputs, count, &layer_norm_backward<T>, &layer_norm_replay<T>);
  s.mean = r.template claim<Tensor<T>>();
  s.rstd = r.template claim<Tensor<T>>();
  Tensor<T>& mean = r.buffer(s.mean);
  Tensor<T>& rstd = r.buffer(s.rstd);
  mean.resize(std::array<std::size_t, 1>{l.rows});  // keeps the allocation on a reused record
  rstd.resize(std::array<std::size_t, 1>{l.rows});
  r.value.resize(X.shape());
  const T* px = X.data();
  T* y = r.value.data();
  const T* gam = gamma.has_value() ? t.value_of((*gamma).id()).data() : nullptr;
  const T* bet = beta.has_value() ? t.value_of((*beta).id()).data() : nullptr;
  const double d = static_cast<double>(l.d);
  for (std::size_t row = 0; row < l.rows; ++row) {
    const T* p = px + row * l.d;
    // μ = Σ x / d, then var = Σ (x − μ)² / d (biased), two passes
    double sum = 0, sq = 0;
    for (std::size_t j = 0; j < l.d; ++j) sum += p[j];
    const double mu = sum / d;
    for (std::size_t j = 0; j < l.d; ++j) sq += (p[j] - mu) * (p[j] - mu);
    const T m = static_cast<T>(mu), rs = static_cast<T>(1 / std::sqrt(sq / d + eps));
    mean.data()[row] = m;
    rstd.data()[row] = rs;
    // y = (x − μ)·(1/σ)·γ + β, unfolded so that a large offset cancels exactly
    for (std::size_t j = 0; j < l.d; ++j)
      y[row * l.d + j] = (p[j] - m) * rs * (gam ? gam[j] : T(1)) + (bet ? bet[j] : T(0));
  }
  if (r.requires_grad) r.save(s);
  return t.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                             \
  template Var<T> layer_norm<T>(const Var<T>&, const Shape&, OptionalVar<T>, OptionalVar<T>, double);      \
  template detail::LayerNormLayout detail::check_layer_norm<T>(const char*, const Var<T>&, const Shape&,   \
                                                               const OptionalVar<T>&, const OptionalVar<T>&, \
                                                               double);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
