#include "core/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tapegrad {

namespace {

struct Evaluation {
  double value;
  std::uint64_t branches;
};

Evaluation evaluate(const TapeFunction& f, Tape<double>& tape, std::vector<Parameter<double>>& params) {
  tape.clear();
  tape.set_branch_tracking(true);
  std::vector<Var<double>> vars;
  for (auto& p : params) vars.push_back(tape.watch(p));
  NoGrad<double> no_grad(tape);
  Var<double> out = f(tape, vars);
  const Tensor<double>& v = tape.value(out);
  if (v.size() != 1) fail("gradcheck: f must return a scalar, got shape ", shape_str(v.shape()));
  Evaluation e{*v.begin(), tape.branch_signature()};
  tape.set_branch_tracking(false);
  return e;
}

}  // namespace

std::string GradcheckReport::summary() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s: max abs err %.3e, max rel err %.3e (input %zu, element %zu: analytic %.9g, "
                "numeric %.9g), %zu checked, %zu skipped at kinks",
                passed ? "passed" : "FAILED", max_abs_error, max_rel_error, worst_input, worst_index,
                worst_analytic, worst_numeric, checked, skipped_kinks);
  return buf;
}

GradcheckReport gradcheck(const TapeFunction& f, const std::vector<Tensor<double>>& inputs,
                          const GradcheckOptions& options) {
  if (!(options.step > 0)) fail("gradcheck: step must be positive, got ", options.step);
  std::vector<Parameter<double>> params;
  params.reserve(inputs.size());
  for (const auto& x : inputs) params.emplace_back(x);

  // analytic gradients from one reverse sweep
  Tape<double> tape;
  {
    std::vector<Var<double>> vars;
    for (auto& p : params) vars.push_back(tape.watch(p));
    Var<double> out = f(tape, vars);
    if (tape.value(out).size() != 1)
      fail("gradcheck: f must return a scalar, got shape ", shape_str(tape.value(out).shape()));
    tape.backward(out);
  }
  std::vector<Tensor<double>> analytic;
  for (auto& p : params) analytic.push_back(p.grad);

  GradcheckReport rep;
  const std::uint64_t base = evaluate(f, tape, params).branches;
  const double h = options.step;
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor<double>& x = params[i].value;
    for (std::size_t k = 0; k < x.size(); ++k) {
      const double x0 = x.data()[k];
      x.data()[k] = x0 + h;
      const Evaluation plus = evaluate(f, tape, params);
      x.data()[k] = x0 - h;
      const Evaluation minus = evaluate(f, tape, params);
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
      ++rep.checked;
      if (abs_err > options.atol + options.rtol * std::abs(n)) rep.passed = false;
      if (abs_err > rep.max_abs_error || rep.checked == 1) {
        rep.max_abs_error = std::max(rep.max_abs_error, abs_err);
        rep.worst_input = i;
        rep.worst_index = k;
        rep.worst_analytic = a;
        rep.worst_numeric = n;
      }
      rep.max_rel_error = std::max(rep.max_rel_error, rel_err);
    }
  }
  return rep;
}

}  // namespace tapegrad
