// The fit behind check_hinge_gradient (losses/hinge_check.hpp): the valid gradient
// nearest to a candidate, in least squares over the free coefficients of the kinks,
// by projected gradient (FISTA with backtracking and adaptive restart), stopping as
// soon as every entry is within the tolerance (or after 4000 iterations, fewer for
// big problems: about 3e8 multiply-adds at most); and the per-element comparison.
#include <algorithm>
#include <cmath>

#include <tapegrad/losses/hinge_check_impl.hpp>

namespace tapegrad {
namespace hinge_check_impl {

namespace {

constexpr int kMaxIterations = 4000;
constexpr double kWorkBudget = 3e8;  // multiply-adds per fit: a few seconds for any input

// Σθ = 1 (or ≤ 1 when capped) and θ ≥ 0: the Euclidean projection of v (sort and
// threshold; for the capped set, clamping at 0 is the projection when Σ stays ≤ 1).
void project(double* v, std::size_t n, bool capped) {
  if (capped) {
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) sum += std::max(v[k], 0.0);
    if (sum <= 1) {
      for (std::size_t k = 0; k < n; ++k) v[k] = std::max(v[k], 0.0);
      return;
    }
  }
  std::vector<double> u(v, v + n);
  std::sort(u.begin(), u.end(), [](double a, double b) { return a > b; });
  double run = 0, tau = 0;
  for (std::size_t k = 0; k < n; ++k) {
    run += u[k];
    const double t = (run - 1) / static_cast<double>(k + 1);
    if (u[k] - t > 0) tau = t;
  }
  for (std::size_t k = 0; k < n; ++k) v[k] = std::max(v[k] - tau, 0.0);
}

}  // namespace

void add_param(const Space& sp, const Param& p, double value, Tensor<double>& m) {
  const double v = value * p.a;
  if (!sp.x) {
    m(p.row, p.col) += v;
    m(p.row, p.label) -= v;
    return;
  }
  for (std::size_t d = 0; d < sp.x->shape()[1]; ++d) {
    const double xv = (*sp.x)(p.row, d) * v;
    m(d, p.col) += xv;
    m(d, p.label) -= xv;
  }
}

namespace {

// d/dθ_k of ⟨m, contribution⟩
double dot_param(const Space& sp, const Param& p, const Tensor<double>& m) {
  if (!sp.x) return p.a * (m(p.row, p.col) - m(p.row, p.label));
  double s = 0;
  for (std::size_t d = 0; d < sp.x->shape()[1]; ++d) s += (*sp.x)(p.row, d) * (m(d, p.col) - m(d, p.label));
  return p.a * s;
}

double half_square(const Tensor<double>& r) {
  double f = 0;
  for (double v : r) f += v * v;
  return f / 2;
}

}  // namespace

Comparison compare(const Tensor<double>& target, const Tensor<double>& ref, HingeCheckTolerance tol) {
  Comparison c;
  for (std::size_t e = 0; e < target.size(); ++e) {
    const double r = ref.data()[e], diff = std::abs(target.data()[e] - r);
    if (!(diff <= tol.atol + tol.rtol * std::abs(r))) ++c.wrong;
    c.max_abs = std::isnan(diff) ? diff : std::max(c.max_abs, diff);
  }
  return c;
}

std::vector<double> fit(const Subdifferential& s, const Space& sp, const Tensor<double>& target,
                        HingeCheckTolerance tol, Tensor<double>& ref) {
  const std::size_t k_count = s.params.size();
  const Tensor<double> base = target - sp.map(s.fixed);
  // R(θ) = target − map(fixed + Aθ), f = ½‖R‖², ∇f = −Aᵀ·R
  const auto residual = [&](const std::vector<double>& th, Tensor<double>& r) {
    r = base;
    for (std::size_t k = 0; k < k_count; ++k)
      if (th[k] != 0) add_param(sp, s.params[k], -th[k], r);
  };
  const auto inside = [&](const Tensor<double>& r) {
    for (std::size_t e = 0; e < r.size(); ++e)
      if (!(std::abs(r.data()[e]) <= tol.atol + tol.rtol * std::abs(target.data()[e] - r.data()[e]))) return false;
    return true;
  };
  std::vector<double> theta = convention(s), y = theta, next(k_count), grad(k_count);
  Tensor<double> r, ry;
  residual(theta, r);
  double lip = 1e-300;  // a lower bound of ‖A‖² (the largest diagonal of AᵀA); backtracking raises it
  for (const Param& p : s.params) {
    double xx = 1;
    if (sp.x) {
      xx = 0;
      for (std::size_t d = 0; d < sp.x->shape()[1]; ++d) xx += (*sp.x)(p.row, d) * (*sp.x)(p.row, d);
    }
    lip = std::max(lip, 2 * p.a * p.a * xx);
  }
  double f = half_square(r), t = 1;
  // each iteration computes about three residuals: O(K·D + D·C) with D = 1 for dL/dscores
  const double width = sp.x ? static_cast<double>(sp.x->shape()[1]) : 1.0;
  const double per_iteration = 3 * (static_cast<double>(k_count) * width + static_cast<double>(target.size())) + 1;
  const int iterations = static_cast<int>(std::clamp(kWorkBudget / per_iteration, 50.0, double(kMaxIterations)));
  for (int it = 0; it < iterations && k_count > 0 && !inside(r); ++it) {
    residual(y, ry);
    const double fy = half_square(ry);
    for (std::size_t k = 0; k < k_count; ++k) grad[k] = -dot_param(sp, s.params[k], ry);
    Tensor<double> rn;
    double fn = 0;
    for (;;) {  // backtracking: f(next) ≤ f(y) + ∇·d + L/2·‖d‖²
      for (std::size_t k = 0; k < k_count; ++k) next[k] = y[k] - grad[k] / lip;
      for (const Group& g : s.groups) project(next.data() + g.first, g.count, g.capped);
      residual(next, rn);
      fn = half_square(rn);
      double bound = fy;
      for (std::size_t k = 0; k < k_count; ++k) {
        const double d = next[k] - y[k];
        bound += grad[k] * d + lip / 2 * d * d;
      }
      if (fn <= bound + 1e-14 * fy + 1e-300 || lip > 1e300) break;
      lip *= 2;
    }
    if (fn > f) {  // adaptive restart: momentum went uphill
      y = theta;
      t = 1;
      continue;
    }
    double step = 0;
    for (std::size_t k = 0; k < k_count; ++k) step = std::max(step, std::abs(next[k] - theta[k]));
    const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
    for (std::size_t k = 0; k < k_count; ++k) y[k] = next[k] + (t - 1) / t_next * (next[k] - theta[k]);
    theta = next;
    r = rn;
    f = fn;
    t = t_next;
    if (step < 1e-15) break;
  }
  ref = target - r;
  return theta;
}

bool in_subdifferential(const Subdifferential& s, const Space& space, const Tensor<double>& target,
                        HingeCheckTolerance tol) {
  if (compare(target, space.map(gradient_at(s, convention(s))), tol).ok()) return true;
  if (s.params.empty()) return false;
  Tensor<double> ref;
  fit(s, space, target, tol, ref);
  return compare(target, ref, tol).ok();
}


}  // namespace hinge_check_impl
}  // namespace tapegrad
