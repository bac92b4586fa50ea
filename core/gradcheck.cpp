#include <tapegrad/core/gradcheck.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace tapegrad {

namespace {

struct Evaluation {
  double value;
  std::uint64_t branches;
};

// The checked output of f: a one-element value, or any value with contraction.
void check_output(const Tensor<double>& v, const GradcheckOptions& options) {
  if (!options.contract_output && v.size() != 1)
    fail("gradcheck: f must return a scalar (one element), got shape ", shape_str(v.shape()),
         "; set GradcheckOptions::contract_output to check a non-scalar f");
}

// Fixed weights for contracting a non-scalar output: |w| in [0.5, 1.5], so that
// no element of the output is weighted (nearly) out of the check.
Tensor<double> contraction_weights(const Tensor<double>& like, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  Tensor<double> w(like.shape());
  for (auto& x : w) x = (rng() & 1) ? u(rng) : -u(rng);
  return w;
}

// L = f(params), contracted with w when w is given.
Evaluation evaluate(const TapeFunction& f, Tape<double>& tape, std::vector<Parameter<double>>& params,
                    const GradcheckOptions& options, const Tensor<double>* w) {
  tape.clear();
  tape.set_branch_tracking(true);
  std::vector<Var<double>> vars;
  for (auto& p : params) vars.push_back(tape.watch(p));
  NoGrad<double> no_grad(tape);
  Var<double> out = f(tape, vars);
  const Tensor<double>& v = tape.value(out);
  check_output(v, options);
  double value = 0;
  if (w) {
    if (v.shape() != w->shape())
      fail("gradcheck: f's output shape changed from ", shape_str(w->shape()), " to ",
           shape_str(v.shape()), " under a perturbation");
    for (std::size_t k = 0; k < v.size(); ++k) value += v.data()[k] * w->data()[k];
  } else {
    value = *v.begin();
  }
  Evaluation e{value, tape.branch_signature()};
  tape.set_branch_tracking(false);
  return e;
}

}  // namespace

std::string GradcheckReport::summary() const {
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "%s: max abs err %.3e, max rel err %.3e (worst: input %zu, element %zu: analytic "
                "%.9g, numeric %.9g), %zu checked, %zu skipped at kinks%s",
                outcome(), max_abs_error, max_rel_error, worst_input, worst_index,
                worst_analytic, worst_numeric, checked, skipped_kinks,
                inconclusive ? " (nothing was compared: no evidence either way)" : "");
  return buf;
}

GradcheckReport gradcheck(const TapeFunction& f, const std::vector<Tensor<double>>& inputs,
                          const GradcheckOptions& options) {
  if (!(options.step > 0)) fail("gradcheck: step must be positive, got ", options.step);
  if (!(options.atol >= 0) || !(options.rtol >= 0))
    fail("gradcheck: tolerances must be non-negative, got atol ", options.atol, ", rtol ", options.rtol);
  std::vector<Parameter<double>> params;
  params.reserve(inputs.size());  // the tape holds pointers to them
  for (const auto& x : inputs) params.emplace_back(x);

  // analytic gradients from one reverse sweep
  Tape<double> tape;
  Tensor<double> w;
  {
    std::vector<Var<double>> vars;
    for (auto& p : params) vars.push_back(tape.watch(p));
    Var<double> out = f(tape, vars);
    const Tensor<double>& v = tape.value(out);
    check_output(v, options);
    if (options.contract_output) {
      w = contraction_weights(v, options.weight_seed);
      tape.backward(out, w);
    } else {
      tape.backward(out);
    }
  }
  const Tensor<double>* wp = options.contract_output ? &w : nullptr;
  std::vector<Tensor<double>> analytic;
  for (auto& p : params) analytic.push_back(p.grad);

  GradcheckReport rep;
  bool failed = false;
  double worst_excess = -1;
  const std::uint64_t base = evaluate(f, tape, params, options, wp).branches;
  const double h = options.step;
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor<double>& x = params[i].value;
    for (std::size_t k = 0; k < x.size(); ++k) {
      const double x0 = x.data()[k];
      x.data()[k] = x0 + h;
      const Evaluation plus = evaluate(f, tape, params, options, wp);
      x.data()[k] = x0 - h;
      const Evaluation minus = evaluate(f, tape, params, options, wp);
      x.data()[k] = x0;
      if (plus.branches != base || minus.branches != base) {
        ++rep.skipped_kinks;
        continue;
      }
      const double n = (plus.value - minus.value) / (2 * h);
      const double a = analytic[i].data()[k];
      const double abs_err = std::abs(a - n);
      const double scale = std::max(std::abs(a), std::abs(n));
      // floor the scale at atol so that two round-off-sized numbers do not read as 100% apart
      const double rel_err = abs_err / std::max(scale, options.atol);
      const double tol = options.atol + options.rtol * std::abs(n);
      // abs_err/tol > 1 fails; NaN (a NaN gradient) fails and is the worst
      const double excess = std::isnan(abs_err) ? INFINITY : tol > 0 ? abs_err / tol : abs_err;
      ++rep.checked;
      if (!(abs_err <= tol)) failed = true;
      if (excess > worst_excess) {
        worst_excess = excess;
        rep.worst_input = i;
        rep.worst_index = k;
        rep.worst_analytic = a;
        rep.worst_numeric = n;
      }
      // a NaN error sticks (x > NaN is false), so the report shows it
      if (std::isnan(abs_err) || abs_err > rep.max_abs_error) rep.max_abs_error = abs_err;
      if (std::isnan(rel_err) || rel_err > rep.max_rel_error) rep.max_rel_error = rel_err;
    }
  }
  rep.passed = !failed && rep.checked > 0;
  rep.inconclusive = !failed && rep.checked == 0;
  return rep;
}

}  // namespace tapegrad
