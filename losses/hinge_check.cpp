// check_hinge_gradient: the subdifferential of the multiclass hinge at the given
// scores (hinge_check.hpp derives it) and the candidate's verdict. The fit of the
// kinks' coefficients is in losses/hinge_check_fit.cpp, the causes of a wrong
// gradient in losses/hinge_check_diagnose.cpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include <tapegrad/losses/check_inputs.hpp>
#include <tapegrad/losses/hinge_check.hpp>
#include <tapegrad/losses/hinge_check_impl.hpp>

namespace tapegrad {
namespace hinge_check_impl {

namespace {

constexpr const char* kOp = "check_hinge_gradient";

}  // namespace

template <class T>
Subdifferential subdifferential(const Tensor<T>& scores, const IndexTensor& labels, const HingeOptions& o,
                                const Tensor<T>* weights) {
  Subdifferential sd;
  sd.n = scores.shape()[0];
  sd.c = scores.shape()[1];
  sd.options = o;
  sd.fixed = xt::zeros<double>({sd.n, sd.c});
  sd.margin = xt::zeros<double>({sd.n, sd.c});
  const T delta = static_cast<T>(o.margin), eps = std::numeric_limits<T>::epsilon();
  const double per_row = o.reduction == Reduction::mean ? 1.0 / static_cast<double>(sd.n) : 1.0;
  // |z| within round-off of the operands counts as a margin exactly 0
  const auto near0 = [&](T z, T a, T b) { return std::abs(z) <= T(4) * eps * (std::abs(a) + std::abs(b) + std::abs(delta)); };
  const auto group = [&](bool capped, std::size_t count) {
    sd.groups.push_back({sd.params.size() - count, count, capped});
  };
  for (std::size_t i = 0; i < sd.n; ++i) {
    const T* s = scores.data() + i * sd.c;
    const std::size_t y = static_cast<std::size_t>(labels(i));
    const double c = per_row * (weights ? static_cast<double>((*weights)(y)) : 1.0);
    sd.factor.push_back(c);
    sd.label.push_back(y);
    for (std::size_t j = 0; j < sd.c; ++j) sd.margin(i, j) = j == y ? 0.0 : static_cast<double>((s[j] - s[y]) + delta);
    if (o.kind == HingeKind::weston_watkins) {
      double sum = 0;
      for (std::size_t j = 0; j < sd.c; ++j) {
        if (j == y) continue;
        const T z = (s[j] - s[y]) + delta;
        if (o.p == 1 && near0(z, s[j], s[y])) {  // α ∈ [0, 1]: a box
          if (c != 0) {
            sd.params.push_back({i, j, y, c, z > T(0) ? 1.0 : 0.0, false, true});
            group(true, 1);
          }
          continue;
        }
        const double d = z > T(0) ? c * (o.p == 1 ? 1.0 : 2.0 * static_cast<double>(z)) : 0.0;
        sd.fixed(i, j) = d;
        sum += d;
      }
      sd.fixed(i, y) = -sum;
      continue;
    }
    if (sd.c == 1) continue;  // no wrong class: no loss
    T m = -std::numeric_limits<T>::infinity();
    for (std::size_t j = 0; j < sd.c; ++j)
      if (j != y && s[j] > m) m = s[j];
    std::vector<std::size_t> tied;  // within round-off of the maximum
    std::size_t exact = 0;
    for (std::size_t j = 0; j < sd.c; ++j) {
      if (j == y) continue;
      if (s[j] == m || m - s[j] <= T(4) * eps * (std::abs(m) + std::abs(s[j]))) tied.push_back(j);
      exact += s[j] == m;
    }
    const T z = (m - s[y]) + delta;
    const bool zero = o.p == 1 && near0(z, m, s[y]);
    if (!zero && !(z > T(0))) continue;
    const double g = c * (o.p == 1 ? 1.0 : 2.0 * static_cast<double>(z));
    if (!zero && tied.size() == 1) {
      sd.fixed(i, tied[0]) = g;
      sd.fixed(i, y) = -g;
      continue;
    }
    if (g == 0) continue;
    for (std::size_t j : tied)  // tapegrad: an even split among the exact ties, none at z ≤ 0
      sd.params.push_back({i, j, y, g, z > T(0) && s[j] == m ? 1.0 / static_cast<double>(exact) : 0.0,
                           tied.size() > 1, zero});
    group(zero, tied.size());
  }
  return sd;
}

Tensor<double> Space::map(const Tensor<double>& g) const {
  if (!x) return g;
  const std::size_t n = x->shape()[0], d = x->shape()[1], c = g.shape()[1];
  Tensor<double> w = xt::zeros<double>({d, c});
  for (std::size_t i = 0; i < n; ++i)  // W = Xᵀ·g, i outer (rows of both are contiguous)
    for (std::size_t k = 0; k < d; ++k) {
      const double xv = (*x)(i, k);
      if (xv != 0)
        for (std::size_t j = 0; j < c; ++j) w(k, j) += xv * g(i, j);
    }
  return w;
}

Tensor<double> gradient_at(const Subdifferential& s, const std::vector<double>& theta) {
  Tensor<double> g = s.fixed;
  const Space scores;
  for (std::size_t k = 0; k < s.params.size(); ++k) add_param(scores, s.params[k], theta[k], g);
  return g;
}

std::vector<double> convention(const Subdifferential& s) {
  std::vector<double> theta;
  for (const Param& p : s.params) theta.push_back(p.conv);
  return theta;
}

}  // namespace hinge_check_impl

namespace {

using namespace hinge_check_impl;

// Fills right/wrong/accepted/findings for a candidate of the right shape.
void check_candidate(HingeCheckReport& rep, const Subdifferential& sd, const Space& space, const Tensor<double>& g,
                     HingeCheckTolerance tol) {
  rep.checked = g.size();
  std::vector<std::size_t> bad;
  for (std::size_t e = 0; e < g.size(); ++e)
    if (!std::isfinite(g.data()[e])) bad.push_back(e);
  const std::vector<double> conv = convention(sd);
  Tensor<double> nearest = space.map(gradient_at(sd, conv));
  const Comparison c0 = compare(g, nearest, tol);
  rep.max_abs_error = c0.max_abs;
  if (c0.ok()) {
    rep.right = true;
    return;
  }
  std::vector<double> theta = conv;
  if (!sd.params.empty() && bad.empty()) theta = fit(sd, space, g, tol, nearest);
  const Comparison c = compare(g, nearest, tol);
  rep.wrong = c.wrong;
  rep.max_abs_error = c.max_abs;
  if (c.ok()) {
    rep.right = true;
    for (std::size_t k = 0; k < sd.params.size(); ++k) {
      const Param& p = sd.params[k];
      double xs = 1;
      if (space.x)
        for (std::size_t d = 0; d < space.x->shape()[1]; ++d) xs = std::max(xs, std::abs((*space.x)(p.row, d)));
      if (std::abs(theta[k] - p.conv) * std::abs(p.a) * xs <= tol.atol) continue;
      rep.accepted.push_back({p.row, p.col, p.label, p.tie, p.zero, p.a, p.conv, theta[k], std::min(0.0, p.a),
                              std::max(0.0, p.a)});
    }
    return;
  }
  if (!bad.empty()) {
    HingeCheckFinding f;
    f.what = std::to_string(bad.size()) + " entries are not finite (nan or inf): no gradient of a finite loss has them";
    f.count = bad.size();
    const std::size_t cols = g.shape()[1];
    for (std::size_t k = 0; k < bad.size() && k < 5; ++k)
      f.entries.push_back({bad[k] / cols, bad[k] % cols, g.data()[bad[k]], nearest.data()[bad[k]]});
    rep.findings.push_back(f);
    return;
  }
  rep.findings = diagnose(sd, space, g, nearest, tol);
}

}  // namespace

template <class T>
HingeCheckReport check_hinge_gradient(const Tensor<T>& scores, const IndexTensor& labels,
                                      const typename detail::NonDeduced<Tensor<T>>::type& gradient,
                                      const HingeOptions& options,
                                      const typename detail::NonDeduced<Tensor<T>>::type* weights,
                                      const typename detail::NonDeduced<Tensor<T>>::type* x, HingeCheckTolerance tol) {
  const detail::ClassDims dims = detail::check_hinge_inputs(kOp, scores, labels, options, weights);
  if (options.reduction == Reduction::none)
    fail(kOp, ": reduction none gives one loss per row, not a scalar: check the gradient of the mean or the sum");
  if (!(tol.atol >= 0) || !(tol.rtol >= 0) || !std::isfinite(tol.atol) || !std::isfinite(tol.rtol))
    fail(kOp, ": tolerances must be finite and >= 0, got atol ", tol.atol, " and rtol ", tol.rtol);
  Tensor<double> xd;
  if (x) {
    if (x->dimension() != 2 || x->shape()[0] != dims.rows)
      fail(kOp, ": X must be 2-D with the scores' ", dims.rows, " rows (N x D), got shape ", shape_str(x->shape()));
    for (std::size_t k = 0; k < x->size(); ++k)
      if (!std::isfinite(x->data()[k]))
        fail(kOp, ": non-finite X entry ", x->data()[k], " at [", k / x->shape()[1], ", ", k % x->shape()[1], "]");
    xd = xt::cast<double>(*x);
  }
  HingeCheckReport rep;
  rep.tolerance = tol;
  rep.wrt_weights = x != nullptr;
  rep.expected_shape = {x ? x->shape()[1] : dims.rows, dims.classes};
  rep.got_shape = to_shape(gradient.shape());
  const Shape& e = rep.expected_shape;
  const Shape& got = rep.got_shape;
  const bool same = got == e, swapped = got.size() == 2 && got[0] == e[1] && got[1] == e[0];
  const std::string name = x ? "dL/dW" : "dL/dscores";
  if (!same && !swapped) {
    HingeCheckFinding f;
    f.cause = HingeCheckCause::shape;
    if (x && got == to_shape(x->shape()))
      f.what = name + " has W's shape " + shape_str(e) + " (D x C), but this has X's shape " + shape_str(got) +
               " (N x D): a gradient has one entry per weight, dL/dW = X^T . dL/dscores";
    else
      f.what = name + " has " + (x ? "W's" : "the scores'") + " shape " + shape_str(e) + ", but this has shape " +
               shape_str(got);
    rep.findings.push_back(f);
    return rep;
  }
  const Space space{x ? &xd : nullptr};
  const Subdifferential sd = subdifferential(scores, labels, options, weights);
  rep.kinks = sd.params.size();
  Tensor<double> g = xt::cast<double>(gradient);
  if (!same) g = Tensor<double>(xt::transpose(g));
  check_candidate(rep, sd, space, g, tol);
  if (same && !rep.right && swapped && in_subdifferential(sd, space, Tensor<double>(xt::transpose(g)), tol)) {
    rep.findings.assign(1, HingeCheckFinding{});  // square: the transpose is right
    rep.findings[0].cause = HingeCheckCause::transposed;
    rep.findings[0].what = "this is the transpose of a right " + name + " (its rows are classes)";
  } else if (!same) {
    HingeCheckFinding f;
    f.cause = HingeCheckCause::transposed;
    f.what = "this has shape " + shape_str(got) + ", the transpose of " + name + "'s " + shape_str(e) +
             (rep.right ? ", and its transpose is right" : "; its transpose is checked below");
    rep.findings.insert(rep.findings.begin(), f);
    rep.right = false;
  }
  return rep;
}

#define TAPEGRAD_INSTANTIATE(T)                                                                               \
  template hinge_check_impl::Subdifferential hinge_check_impl::subdifferential(                              \
      const Tensor<T>&, const IndexTensor&, const HingeOptions&, const Tensor<T>*);                          \
  template HingeCheckReport check_hinge_gradient<T>(const Tensor<T>&, const IndexTensor&, const Tensor<T>&,  \
                                                 const HingeOptions&, const Tensor<T>*, const Tensor<T>*,    \
                                                 HingeCheckTolerance);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
