// batch_norm, fused: the statistics per channel in two passes (the mean, then
// Σ(x − μ)², so data with a large offset loses nothing to cancellation), and the
// closed-form backward derived below. Its composed twin is ops/norm_composed.cpp.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include <tapegrad/ops/norm.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/norm_check.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace detail {

namespace {
template <class T>
void check_channel_vector(const char* op, const char* what, const Tensor<T>& v, const Tensor<T>& x) {
  const std::size_t c = x.shape()[1];
  if (v.dimension() != 1 || v.shape()[0] != c)
    fail(op, ": ", what, " has shape ", shape_str(v.shape()), ", expected (", c, ") for input ",
         shape_str(x.shape()));
}
}  // namespace

template <class T>
BatchNormLayout check_batch_norm(const char* op, const Var<T>& x, const OptionalVar<T>& gamma,
                                 const OptionalVar<T>& beta, const Tensor<T>* running_mean,
                                 const Tensor<T>* running_var, bool training, double momentum, double eps) {
  Tape<T>& t = x.tape(op);
  t.check(x, op);
  if (gamma.has_value()) t.check(*gamma, op);
  if (beta.has_value()) t.check(*beta, op);
  if (!(eps > 0) || !std::isfinite(eps)) fail(op, ": eps must be positive and finite, got ", eps);
  if (!(momentum >= 0 && momentum <= 1)) fail(op, ": momentum must be in [0, 1], got ", momentum);
  const Tensor<T>& X = t.value_of(x.id());
  if (X.dimension() < 2)
    fail(op, ": expected an input of rank 2 or more, (N, C) or (N, C, H, W), got ", shape_str(X.shape()));
  if (gamma.has_value()) check_channel_vector(op, "gamma", t.value_of((*gamma).id()), X);
  if (beta.has_value()) check_channel_vector(op, "beta", t.value_of((*beta).id()), X);
  if ((running_mean == nullptr) != (running_var == nullptr))
    fail(op, ": running_mean and running_var must both be given or both be null, got only ",
         running_mean ? "running_mean" : "running_var");
  if (running_mean) {
    check_channel_vector(op, "running_mean", *running_mean, X);
    check_channel_vector(op, "running_var", *running_var, X);
  } else if (!training) {
    fail(op, ": running_mean and running_var are required when not training (input ", shape_str(X.shape()), ")");
  }
  BatchNormLayout l;
  l.layout = axis_layout(X.shape(), 1);
  // m = N·d1·…, overflow-checked: with C = 0 it is not bounded by the tensor's size
  std::size_t m = X.shape()[0];
  for (std::size_t k = 2; k < X.dimension(); ++k) {
    const std::size_t e = X.shape()[k];
    if (e != 0 && m > std::numeric_limits<std::size_t>::max() / e)
      fail(op, ": input ", shape_str(X.shape()), " has more values per channel than fit in size_t");
    m *= e;
  }
  l.m = m;
  if (training && m == 1)
    fail(op, ": expected more than 1 value per channel when training, got input ", shape_str(X.shape()));
  return l;
}

template <class T>
void update_running_stats(Tensor<T>* running_mean, Tensor<T>* running_var, std::size_t c, double mean,
                          double unbiased_var, double momentum) {
  if (!running_mean) return;
  T& rm = running_mean->data()[c];
  T& rv = running_var->data()[c];
  rm = static_cast<T>(momentum * mean + (1 - momentum) * static_cast<double>(rm));
  rv = static_cast<T>(momentum * unbiased_var + (1 - momentum) * static_cast<double>(rv));
}

}  // namespace detail

namespace {

using detail::AxisLayout;

// What batch_norm's backward needs beyond x, gamma and g: the layout, where gamma
// and beta sit among the record's inputs, which statistics normalised x, and per
// channel c the μ_c and 1/σ_c (σ_c = √(var_c + ε)) they gave, so x̂ = (x − μ)/σ is
// recomputed exactly as the forward computed it.
template <class T>
struct BatchNormSaved {
  AxisLayout layout;  // N × C × inner
  std::int32_t gamma_at = -1, beta_at = -1;
  bool training = true;
  double eps = 0;  // for the replay
  Slot<Tensor<T>> mean, rstd;
};

// Backward. With x̂ = (x − μ)/σ, y = γ·x̂ + β and means over the m values of a channel:
//   dβ = Σ g,   dγ = Σ g·x̂,
//   training (μ, σ depend on x):
//     dx̂ = γ·g;  dσ² = Σ dx̂·(x − μ)·(−½)σ⁻³;  dμ = −Σ dx̂/σ  (the dσ² term's share
//     Σ(x − μ) is 0), and dx = dx̂/σ + dσ²·2(x − μ)/m + dμ/m, which simplifies to
//     dx = (γ/σ)·(g − mean(g) − x̂·mean(g·x̂))
//   not training (running statistics are constants): dx = (γ/σ)·g.
template <class T>
void batch_norm_backward(Tape<T>& t, Record<T>& r) {
  const BatchNormSaved<T>& s = r.template saved<BatchNormSaved<T>>();
  const AxisLayout l = s.layout;
  const std::size_t n_rows = l.outer, C = l.len, inner = l.inner;
  const double m = static_cast<double>(n_rows * inner);
  const T* x = t.value_of(r.inputs[0]).data();
  const T* g = r.grad.data();
  const T* mean = r.buffer(s.mean).data();
  const T* rstd = r.buffer(s.rstd).data();
  const T* gamma = s.gamma_at >= 0 ? t.value_of(r.inputs[s.gamma_at]).data() : nullptr;
  // per channel: Σ g into scratch[c], Σ g·x̂ into scratch[C + c]
  r.scratch.resize(std::array<std::size_t, 1>{2 * C});
  T* sums = r.scratch.data();
  for (std::size_t c = 0; c < C; ++c) {
    double sg = 0, sgx = 0;
    for (std::size_t n = 0; n < n_rows; ++n) {
      const std::size_t base = (n * C + c) * inner;
      for (std::size_t i = 0; i < inner; ++i) {
        const double xh = static_cast<double>((x[base + i] - mean[c]) * rstd[c]);
        sg += g[base + i];
        sgx += g[base + i] * xh;
      }
    }
    sums[c] = static_cast<T>(sg);
    sums[C + c] = static_cast<T>(sgx);
  }
  bool fresh = false;
  if (Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh)) {
    T* d = dx->data();
    for (std::size_t c = 0; c < C; ++c) {
      const double k = static_cast<double>(rstd[c]) * (gamma ? static_cast<double>(gamma[c]) : 1.0);
      const double mg = s.training ? sums[c] / m : 0, mgx = s.training ? sums[C + c] / m : 0;
      for (std::size_t n = 0; n < n_rows; ++n) {
        const std::size_t base = (n * C + c) * inner;
        for (std::size_t i = 0; i < inner; ++i) {
          const double xh = static_cast<double>((x[base + i] - mean[c]) * rstd[c]);
          const T v = static_cast<T>(k * (g[base + i] - mg - xh * mgx));
          d[base + i] = fresh ? v : d[base + i] + v;
        }
      }
    }
  }
  // gamma's gradient is written before beta's buffer is asked for, so one Var passed
  // as both receives both (the second sees a buffer that is no longer fresh)
  const std::int32_t at[2] = {s.gamma_at, s.beta_at};
  const std::size_t offset[2] = {C, 0};  // dγ = Σ g·x̂, dβ = Σ g
  for (int k = 0; k < 2; ++k) {
    if (at[k] < 0) continue;
    if (Tensor<T>* db = t.grad_buffer(r.inputs[at[k]], fresh)) {
      T* d = db->data();
      for (std::size_t c = 0; c < C; ++c) d[c] = fresh ? sums[offset[k] + c] : d[c] + sums[offset[k] + c];
    }
  }
}

// The replay. Training: batch_norm again without running statistics, so the user's
// buffers are never touched. Not training: (x − μ)·(1/σ)·γ + β with the μ and 1/σ
// the record used as constants, on the N × C × inner view.
template <class T>
Var<double> batch_norm_replay(const Record<T>& r, Tape<double>& t, const Var<double>* x) {
  const BatchNormSaved<T>& s = r.template saved<BatchNormSaved<T>>();
  const OptionalVar<double> gamma = s.gamma_at >= 0 ? OptionalVar<double>(x[s.gamma_at]) : nullptr;
  const OptionalVar<double> beta = s.beta_at >= 0 ? OptionalVar<double>(x[s.beta_at]) : nullptr;
  if (s.training) return batch_norm(x[0], gamma, beta, nullptr, nullptr, true, 0.1, s.eps);
  const std::size_t C = s.layout.len;
  const auto per_channel = [&](const Var<double>& v) { return detail::replay_view(v, 1, C, 1); };
  const auto constant = [&](Slot<Tensor<T>> slot) { return per_channel(t.constant(detail::replay_tensor(r.buffer(slot)))); };
  Var<double> y = (detail::replay_view(x[0], s.layout.outer, C, s.layout.inner) - constant(s.mean)) * constant(s.rstd);
  if (gamma.has_value()) y = y * per_channel(*gamma);
  if (beta.has_value()) y = y + per_channel(*beta);
  return detail::replay_reshape(y, r.value.shape());
}

}  // namespace

template <class T>
Var<T> batch_norm(const Var<T>& x, OptionalVar<NormT<T>> gamma, OptionalVar<NormT<T>> beta,
                  Tensor<NormT<T>>* running_mean, Tensor<NormT<T>>* running_var, bool training, double momentum,
                  double eps) {
  const detail::BatchNormLayout bl = detail::check_batch_norm<T>("batch_norm", x, gamma, beta, running_mean,
                                                                 running_var, training, momentum, eps);
  Tape<T>& t = x.tape();
  const Tensor<T>& X = t.value_of(x.id());
  Var<T> inputs[3] = {x};
  std::size_t count = 1;
  BatchNormSaved<T> s;
  s.layout = bl.layout;
  s.training = training;
  s.eps = eps;
  if (gamma.has_value()) {
    s.gamma_at = static_cast<std::int32_t>(count);
    inputs[count++] = *gamma;
  }
  if (beta.has_value()) {
    s.beta_at = static_cast<std::int32_t>(count);
    inputs[count++] = *beta;
  }
  Record<T>& r = t.push("batch_norm", inputs, count, &batch_norm_backward<T>, &batch_norm_replay<T>);
  const std::size_t n_rows = bl.layout.outer, C = bl.layout.len, inner = bl.layout.inner;
  const double m = static_cast<double>(bl.m);
  s.mean = r.template claim<Tensor<T>>();
  s.rstd = r.template claim<Tensor<T>>();
  Tensor<T>& mean = r.buffer(s.mean);
  Tensor<T>& rstd = r.buffer(s.rstd);
  mean.resize(std::array<std::size_t, 1>{C});  // keeps the allocation on a reused record
  rstd.resize(std::array<std::size_t, 1>{C});
  const T* px = X.data();
  const bool update = training && bl.m > 0;  // an empty batch leaves the running statistics (as PyTorch)
  for (std::size_t c = 0; c < C; ++c) {
    double mu = 0, var = 0;
    if (training) {
      // μ = Σ x / m, then var = Σ (x − μ)² / m (biased: it normalises)
      double sum = 0, sq = 0;
      for (std::size_t n = 0; n < n_rows; ++n)
        for (std::size_t i = 0; i < inner; ++i) sum += px[(n * C + c) * inner + i];
      mu = bl.m ? sum / m : 0;
      for (std::size_t n = 0; n < n_rows; ++n)
        for (std::size_t i = 0; i < inner; ++i) {
          const double d = px[(n * C + c) * inner + i] - mu;
          sq += d * d;
        }
      var = bl.m ? sq / m : 0;
      // the running variance tracks the unbiased Σ (x − μ)² / (m − 1) (m ≥ 2 here)
      if (update) detail::update_running_stats(running_mean, running_var, c, mu, sq / (m - 1), momentum);
    } else {
      mu = running_mean->data()[c];
      var = running_var->data()[c];
    }
    mean.data()[c] = static_cast<T>(mu);
    rstd.data()[c] = static_cast<T>(1 / std::sqrt(var + eps));
  }
  // y = (x − μ)·(1/σ)·γ + β, unfolded: x − μ first, so a large offset cancels exactly
  r.value.resize(X.shape());
  T* y = r.value.data();
  const T* gam = gamma.has_value() ? t.value_of((*gamma).id()).data() : nullptr;
  const T* bet = beta.has_value() ? t.value_of((*beta).id()).data() : nullptr;
  for (std::size_t n = 0; n < n_rows; ++n)
    for (std::size_t c = 0; c < C; ++c) {
      const T mu = mean.data()[c], rs = rstd.data()[c];
      const T ga = gam ? gam[c] : T(1), be = bet ? bet[c] : T(0);
      const std::size_t base = (n * C + c) * inner;
      for (std::size_t i = 0; i < inner; ++i) y[base + i] = (px[base + i] - mu) * rs * ga + be;
    }
  if (r.requires_grad) r.save(s);
  return t.commit(r);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                              \
  template Var<T> batch_norm<T>(const Var<T>&, OptionalVar<T>, OptionalVar<T>, Tensor<T>*, Tensor<T>*, bool, \
                                double, double);                                                             \
  template detail::BatchNormLayout detail::check_batch_norm<T>(const char*, const Var<T>&,                   \
                                                               const OptionalVar<T>&, const OptionalVar<T>&, \
                                                               const Tensor<T>*, const Tensor<T>*, bool,     \
                                                               double, double);                              \
  template void detail::update_running_stats<T>(Tensor<T>*, Tensor<T>*, std::size_t, double, double, double);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
