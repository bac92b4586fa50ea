#include <tapegrad/core/compare.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tapegrad {

namespace {

// Records f on a fresh tape over parameters holding the inputs and sweeps back
// from its value; returns the value, and the gradients are left in params.
template <class T>
double run(const TapeFn<T>& f, const char* which, std::vector<Parameter<T>>& params) {
  Tape<T> tape;
  std::vector<Var<T>> vars;
  vars.reserve(params.size());
  for (auto& p : params) vars.push_back(tape.watch(p));
  const Var<T> out = f(tape, vars);
  const Tensor<T>& v = tape.value(out);
  if (v.size() != 1)
    fail("compare_gradients: function ", which, " must return a scalar, got shape ", shape_str(v.shape()));
  tape.backward(out);
  return static_cast<double>(*v.begin());
}

// x is a larger difference than current; a NaN is worse than any number, and stays.
bool worse(double x, double current) {
  if (std::isnan(current)) return false;
  return std::isnan(x) || x > current;
}

}  // namespace

std::string CompareReport::summary() const {
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "%s: values %.12g vs %.12g (abs diff %.3e, rel %.3e); gradients: max abs diff %.3e, "
                "max rel diff %.3e (input %zu, element %zu: %.12g vs %.12g), %zu elements compared%s",
                outcome(), value_a, value_b, value_abs_diff, value_rel_diff, max_abs_diff,
                max_rel_diff, worst_input, worst_index, worst_a, worst_b, compared,
                inconclusive ? " (no gradient element: no evidence either way)" : "");
  return buf;
}

template <class T>
CompareReport compare_gradients(const TapeFn<T>& f_a, const TapeFn<T>& f_b, const std::vector<Tensor<T>>& inputs,
                                const CompareOptions& options) {
  if (!(options.rtol >= 0) || !(options.atol >= 0))
    fail("compare_gradients: tolerances must be non-negative, got rtol ", options.rtol, ", atol ",
         options.atol);
  std::vector<Parameter<T>> pa, pb;
  pa.reserve(inputs.size());
  pb.reserve(inputs.size());
  for (const auto& x : inputs) {
    pa.emplace_back(x);
    pb.emplace_back(x);
  }
  CompareReport rep;
  rep.value_a = run(f_a, "a", pa);
  rep.value_b = run(f_b, "b", pb);

  auto agree = [&](double a, double b) {
    return std::abs(a - b) <= options.atol + options.rtol * std::max(std::abs(a), std::abs(b));
  };
  auto relative = [&](double a, double b) {
    return std::abs(a - b) / std::max({std::abs(a), std::abs(b), options.atol});
  };
  rep.value_abs_diff = std::abs(rep.value_a - rep.value_b);
  rep.value_rel_diff = rep.value_a == rep.value_b ? 0.0 : relative(rep.value_a, rep.value_b);
  bool failed = !agree(rep.value_a, rep.value_b);

  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor<T>& ga = pa[i].grad;
    const Tensor<T>& gb = pb[i].grad;
    for (std::size_t k = 0; k < ga.size(); ++k) {
      const double a = ga.data()[k], b = gb.data()[k];
      const double abs_diff = std::abs(a - b);
      const double rel = a == b ? 0.0 : relative(a, b);  // also 0 for two zeros with atol = 0
      if (!agree(a, b)) failed = true;
      if (worse(abs_diff, rep.max_abs_diff)) rep.max_abs_diff = abs_diff;
      if (worse(rel, rep.max_rel_diff) || rep.compared == 0) {
        rep.max_rel_diff = rel;
        rep.worst_input = i;
        rep.worst_index = k;
        rep.worst_a = a;
        rep.worst_b = b;
      }
      ++rep.compared;
    }
  }
  rep.passed = !failed && rep.compared > 0;
  rep.inconclusive = !failed && rep.compared == 0;
  return rep;
}

template CompareReport compare_gradients<float>(const TapeFn<float>&, const TapeFn<float>&,
                                                const std::vector<Tensor<float>>&, const CompareOptions&);
template CompareReport compare_gradients<double>(const TapeFn<double>&, const TapeFn<double>&,
                                                 const std::vector<Tensor<double>>&, const CompareOptions&);

}  // namespace tapegrad
