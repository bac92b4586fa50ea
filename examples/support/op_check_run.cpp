#include "support/op_check_run.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <tapegrad/tapegrad.hpp>

namespace examples::op_check_run {

using namespace tapegrad;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

Tensor<double> upstream(const Shape& shape, std::uint64_t seed) {
  OpRandom r(seed);
  Tensor<double> t = r.away_from_zero(shape, 0.5, 1.5);
  for (double& x : t) x = static_cast<double>(static_cast<float>(x));
  return t;
}

Tensor<double> integer_upstream(const Shape& shape, std::uint64_t seed) {
  OpRandom r(seed);
  Tensor<double> t(shape);
  for (double& x : t) x = (r.below(2) ? 1.0 : -1.0) * static_cast<double>(1 + r.below(2));
  return t;
}

template <class T>
Run<T> run(OpFn<T> f, const std::vector<Tensor<T>>& in, const OpArgs& args, std::uint64_t seed,
           const std::vector<Tensor<T>>* initial, bool twice) {
  std::vector<Parameter<T>> ps;
  ps.reserve(in.size());  // the tape holds pointers to them
  for (std::size_t i = 0; i < in.size(); ++i) {
    ps.emplace_back(in[i]);
    if (initial) ps.back().grad = (*initial)[i];
  }
  Tape<T> tape;
  std::vector<Var<T>> xs;
  for (auto& p : ps) xs.push_back(tape.watch(p));
  const Var<T> out = f(tape, xs, args);
  Run<T> r;
  r.value = tape.value(out);
  const Tensor<T> dout = xt::cast<T>(upstream(to_shape(r.value.shape()), seed));
  tape.backward(out, dout);
  for (auto& p : ps) r.grads.push_back(p.grad);
  if (twice) {
    for (auto& p : ps) p.grad.fill(T(0));
    tape.backward(out, dout);
    for (auto& p : ps) r.second.push_back(p.grad);
  }
  return r;
}

template <class T>
void compare(const Tensor<T>& got, const Tensor<T>& expected, Tolerance tol, CheckResult& r, const std::string& what) {
  if (got.shape() != expected.shape()) {
    r.status = CheckStatus::fail;
    r.worst = kInf;
    r.detail = what + ": shape " + shape_str(got.shape()) + ", expected " + shape_str(expected.shape());
    return;
  }
  const bool exact = tol.atol == 0 && tol.rtol == 0;
  double scale = 1;
  for (T e : expected)
    if (std::isfinite(e)) scale = std::max(scale, std::abs(static_cast<double>(e)));
  for (std::size_t k = 0; k < got.size(); ++k) {
    const double a = got.data()[k], e = expected.data()[k];
    double frac;
    if (exact)
      frac = (a == e || (std::isnan(a) && std::isnan(e))) ? 0 : kInf;
    else if (std::isnan(a) || std::isnan(e))
      frac = kInf;
    else
      frac = std::abs(a - e) / (tol.atol * scale + tol.rtol * std::abs(e));
    if (std::isnan(frac)) frac = a == e ? 0 : kInf;  // inf − inf, or 0/0 with a zero tolerance
    ++r.compared;
    if (frac > r.worst) r.worst = frac;
    if (frac > 1 && r.status != CheckStatus::fail) {
      r.status = CheckStatus::fail;
      char buf[160];
      std::snprintf(buf, sizeof buf, ": element %zu is %.9g, expected %.9g", k, a, e);
      r.detail = what + buf;
    }
  }
}

CheckResult finish(CheckResult r) {
  if (r.status != CheckStatus::fail) r.status = r.compared ? CheckStatus::pass : CheckStatus::inconclusive;
  if (r.status == CheckStatus::inconclusive && r.detail.empty()) r.detail = "no gradient element";
  return r;
}

CheckResult guarded(const std::function<CheckResult()>& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    CheckResult r;
    r.status = CheckStatus::fail;
    r.worst = kInf;
    r.detail = std::string("threw: ") + e.what();
    return r;
  }
}

CheckResult gradcheck_case(OpFn<double> f, const OpCase& c, std::uint64_t seed) {
  GradcheckOptions o;
  o.contract_output = true;  // L = Σ w ⊙ out, w a random upstream gradient
  o.weight_seed = seed;
  const OpArgs& args = c.args;
  const GradcheckReport g =
      gradcheck([f, &args](Tape<double>& t, const std::vector<Var<double>>& v) { return f(t, v, args); }, c.inputs, o);
  CheckResult r;
  r.compared = g.checked;
  const double err = std::abs(g.worst_analytic - g.worst_numeric);
  r.worst = g.checked == 0 ? 0 : std::isnan(err) ? kInf : err / (o.atol + o.rtol * std::abs(g.worst_numeric));
  r.status = g.passed ? CheckStatus::pass : g.inconclusive ? CheckStatus::inconclusive : CheckStatus::fail;
  if (g.inconclusive) r.detail = g.checked + g.skipped_kinks ? "every element skipped at a kink" : "no elements";
  else if (!g.passed) r.detail = g.summary();
  else if (g.skipped_kinks) r.detail = std::to_string(g.skipped_kinks) + " skipped at kinks";
  return r;
}

CheckResult float_vs_double(OpFn<float> f, OpFn<double> d, const OpCase& c, std::uint64_t seed) {
  const std::vector<Tensor<float>> xf = cast_all<float>(c.inputs);
  std::vector<Tensor<double>> xd;
  for (const auto& x : xf) xd.push_back(xt::cast<double>(x));
  const Run<float> rf = run(f, xf, c.args, seed);
  const Run<double> rd = run(d, xd, c.args, seed);
  const Tolerance tol{1e-5, 1e-4};
  CheckResult r;
  compare(Tensor<double>(xt::cast<double>(rf.value)), rd.value, tol, r, "value");
  for (std::size_t i = 0; i < xd.size(); ++i)
    compare(Tensor<double>(xt::cast<double>(rf.grads[i])), rd.grads[i], tol, r, "input " + std::to_string(i));
  return finish(r);
}

namespace {
template <class T>
CheckResult fused_in(OpFn<T> fa, OpFn<T> fb, const OpCase& c, std::uint64_t seed) {
  const OpArgs& args = c.args;
  auto wrap = [&args, seed](OpFn<T> f) {
    return TapeFn<T>([f, &args, seed](Tape<T>& t, const std::vector<Var<T>>& v) {
      const Var<T> out = f(t, v, args);  // Σ out·w, w integers: every element of out weighs in
      const Tensor<T> w = xt::cast<T>(integer_upstream(to_shape(t.value(out).shape()), seed));
      return sum(mul(out, t.constant(w)));
    });
  };
  const CompareOptions o = default_compare_options<T>();
  const CompareReport rep = compare_gradients(wrap(fa), wrap(fb), cast_all<T>(c.inputs), o);
  auto frac = [&](double a, double b) {
    const double d = std::abs(a - b);
    if (d == 0) return 0.0;
    const double lim = o.atol + o.rtol * std::max(std::abs(a), std::abs(b));
    return std::isnan(d) ? kInf : lim > 0 ? d / lim : kInf;
  };
  CheckResult r;
  r.compared = rep.compared;
  r.worst = std::max(frac(rep.value_a, rep.value_b), frac(rep.worst_a, rep.worst_b));
  r.status = rep.passed ? CheckStatus::pass : rep.inconclusive ? CheckStatus::inconclusive : CheckStatus::fail;
  if (rep.inconclusive) r.detail = "no gradient element";
  else if (!rep.passed) r.detail = rep.summary();
  return r;
}
}  // namespace

CheckResult fused_vs_reference(const OpEntry& e, const OpEntry& ref, const OpCase& c, std::uint64_t seed) {
  if (e.f64 && ref.f64) return fused_in<double>(e.f64, ref.f64, c, seed);
  if (e.f32 && ref.f32) return fused_in<float>(e.f32, ref.f32, c, seed);
  CheckResult r;
  r.detail = "no common dtype with " + ref.name;
  return r;
}

template Run<float> run(OpFn<float>, const std::vector<Tensor<float>>&, const OpArgs&, std::uint64_t,
                        const std::vector<Tensor<float>>*, bool);
template Run<double> run(OpFn<double>, const std::vector<Tensor<double>>&, const OpArgs&, std::uint64_t,
                         const std::vector<Tensor<double>>*, bool);
template void compare(const Tensor<float>&, const Tensor<float>&, Tolerance, CheckResult&, const std::string&);
template void compare(const Tensor<double>&, const Tensor<double>&, Tolerance, CheckResult&, const std::string&);

}  // namespace examples::op_check_run
