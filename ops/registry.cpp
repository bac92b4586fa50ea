// Registry entries of the elementwise ops and activations (core/op_registry.hpp):
// every case set covers a plain 2-D shape, a size-1 axis, a 0-d scalar, a
// zero-length axis and a rank-3 shape; binary ops add NumPy broadcasting in both
// directions. Values stay inside each op's domain and at least 0.05 from its kinks,
// far more than gradcheck's step of 1e-6.
#include <tapegrad/ops/registry.hpp>

#include <cmath>

#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/dropout.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/indexing.hpp>

namespace tapegrad {

namespace registry_detail {

std::string shapes_label(const std::vector<Tensor<double>>& inputs) {
  std::string s;
  for (std::size_t i = 0; i < inputs.size(); ++i) s += (i ? " with " : "") + shape_str(inputs[i].shape());
  return s;
}

OpCase make_case(std::vector<Tensor<double>> inputs, OpArgs args, const std::string& note) {
  OpCase c;
  c.label = shapes_label(inputs) + (note.empty() ? "" : ", " + note);
  c.inputs = std::move(inputs);
  c.args = std::move(args);
  return c;
}

void keep_away(Tensor<double>& t, const std::vector<double>& points, double gap) {
  for (double& x : t)
    for (double p : points)
      if (std::abs(x - p) < gap) x = x < p ? p - gap : p + gap;
}

}  // namespace registry_detail

namespace {

using namespace registry_detail;

const std::vector<Shape> kShapes = {{2, 3}, {1}, {}, {0, 3}, {2, 1, 3}};

// Pairs that broadcast: equal, trailing, both ways, a size-1 axis, empty, 0-d.
const std::vector<std::pair<Shape, Shape>> kPairs = {
    {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}, {{1}, {2, 2}}, {{0, 3}, {3}}, {{}, {2, 2}}};

// One case per shape; `draw` fills the input, `reals` cycle over the cases.
template <class Draw>
std::vector<OpCase> unary(std::uint64_t seed, Draw draw, const std::vector<double>& reals = {}) {
  OpRandom r(seed);
  std::vector<OpCase> cases;
  for (std::size_t k = 0; k < kShapes.size(); ++k) {
    OpArgs a;
    if (!reals.empty()) a.reals = {reals[k % reals.size()]};
    cases.push_back(make_case({draw(r, kShapes[k])}, a, reals.empty() ? "" : "s = " + std::to_string(a.reals[0])));
  }
  return cases;
}

std::vector<OpCase> any_values(std::uint64_t seed, CaseStyle) {
  return unary(seed, [](OpRandom& r, const Shape& s) { return r.uniform(s, -1.5, 1.5); });
}
std::vector<OpCase> positive(std::uint64_t seed, CaseStyle) {
  return unary(seed, [](OpRandom& r, const Shape& s) { return r.uniform(s, 0.5, 2.0); });
}
std::vector<OpCase> away_from_zero(std::uint64_t seed, CaseStyle) {
  return unary(seed, [](OpRandom& r, const Shape& s) { return r.away_from_zero(s, 0.05, 1.5); });
}
std::vector<OpCase> with_scalar(std::uint64_t seed, CaseStyle) {
  return unary(seed, [](OpRandom& r, const Shape& s) { return r.uniform(s, -1.5, 1.5); }, {0.7, -2.5, 1.0, 3.0});
}
// rdiv: s / a with a away from 0.
std::vector<OpCase> rdiv_cases(std::uint64_t seed, CaseStyle) {
  return unary(seed, [](OpRandom& r, const Shape& s) { return r.away_from_zero(s, 0.3, 1.5); }, {0.7, -2.5, 1.0});
}
std::vector<OpCase> leaky_cases(std::uint64_t seed, CaseStyle) {
  return unary(seed, [](OpRandom& r, const Shape& s) { return r.away_from_zero(s, 0.05, 1.5); }, {0.01, 0.2, -0.5});
}
// pow(x, p) on x > 0 (a real power of a negative is NaN); p = 0 has gradient 0.
std::vector<OpCase> pow_cases(std::uint64_t seed, CaseStyle) {
  return unary(seed, [](OpRandom& r, const Shape& s) { return r.uniform(s, 0.5, 2.0); }, {2.5, -1.5, 0.0, 3.0, 1.0});
}
// clamp(x, -0.5, 0.5) with x away from both bounds.
std::vector<OpCase> clamp_cases(std::uint64_t seed, CaseStyle) {
  return unary(seed, [](OpRandom& r, const Shape& s) {
    Tensor<double> t = r.uniform(s, -1.5, 1.5);
    keep_away(t, {-0.5, 0.5}, 0.05);
    return t;
  });
}
// dropout(x, p, seed): p in reals[0], the mask's seed in ints[0].
std::vector<OpCase> dropout_cases(std::uint64_t seed, CaseStyle) {
  std::vector<OpCase> cases = unary(seed, [](OpRandom& r, const Shape& s) { return r.uniform(s, -1.5, 1.5); },
                                    {0.3, 0.0, 0.5});
  for (OpCase& c : cases) c.args.ints = {static_cast<std::int64_t>(seed % 1000) + 7};
  return cases;
}

// Each pair both ways round: a drawn any, b drawn by draw_b.
template <class Draw>
std::vector<OpCase> binary(std::uint64_t seed, Draw draw_b) {
  OpRandom r(seed);
  std::vector<OpCase> cases;
  for (const auto& [sa, sb] : kPairs) {
    cases.push_back(make_case({r.uniform(sa, -1.5, 1.5), draw_b(r, sb)}));
    if (sa != sb) cases.push_back(make_case({r.uniform(sb, -1.5, 1.5), draw_b(r, sa)}));
  }
  return cases;
}
std::vector<OpCase> binary_any(std::uint64_t seed, CaseStyle) {
  return binary(seed, [](OpRandom& r, const Shape& s) { return r.uniform(s, -1.5, 1.5); });
}
// div: the denominator away from 0.
std::vector<OpCase> binary_div(std::uint64_t seed, CaseStyle) {
  return binary(seed, [](OpRandom& r, const Shape& s) { return r.away_from_zero(s, 0.3, 1.5); });
}
// maximum/minimum: a and b at least 0.05 apart everywhere (no ties).
std::vector<OpCase> binary_untied(std::uint64_t seed, CaseStyle) {
  OpRandom r(seed);
  std::vector<OpCase> cases;
  for (const auto& [sa, sb] : kPairs) {
    Tensor<double> a = r.uniform(sa, -1.5, 1.5), b = r.uniform(sb, -1.5, 1.5);
    // b's values differ from every a they meet by >= 0.05: snap a away from each of b's values
    std::vector<double> bs(b.begin(), b.end());
    keep_away(a, bs, 0.05);
    Tensor<double> d = xt::abs(Tensor<double>(a - b));
    if (d.size() && xt::amin(d)() < 0.049) continue;  // the snapping met another b: drop the case
    cases.push_back(make_case({a, b}));
  }
  return cases;
}
// where(c, a, b): the condition (a constant of the broadcast shape) in args.constant.
std::vector<OpCase> where_cases(std::uint64_t seed, CaseStyle) {
  OpRandom r(seed);
  std::vector<OpCase> cases;
  const std::vector<std::tuple<Shape, Shape, Shape>> shapes = {
      {{2, 3}, {2, 3}, {2, 3}}, {{2, 3}, {3}, {2, 1}}, {{3}, {2, 3}, {}}, {{0, 3}, {3}, {0, 3}}};
  for (const auto& [sc, sa, sb] : shapes) {
    OpArgs args;
    args.constant = r.integers(sc, 0, 1);
    args.has_constant = true;
    cases.push_back(make_case({r.uniform(sa, -1.5, 1.5), r.uniform(sb, -1.5, 1.5)}, args,
                              "condition " + shape_str(sc)));
  }
  return cases;
}

template <class T>
T real(const OpArgs& a) {
  return static_cast<T>(a.reals.at(0));
}

}  // namespace

std::vector<OpEntry> elementwise_op_entries() {
  std::vector<OpEntry> v;
  auto add1 = [&](OpEntry e, bool kinks = false) {
    e.kinks = kinks;
    v.push_back(std::move(e));
  };
  // binary, with broadcasting
  add1(make_entry("add", 2, binary_any, [](auto&, const auto& x, const OpArgs&) { return add(x[0], x[1]); }));
  add1(make_entry("sub", 2, binary_any, [](auto&, const auto& x, const OpArgs&) { return sub(x[0], x[1]); }));
  add1(make_entry("mul", 2, binary_any, [](auto&, const auto& x, const OpArgs&) { return mul(x[0], x[1]); }));
  add1(make_entry("div", 2, binary_div, [](auto&, const auto& x, const OpArgs&) { return div(x[0], x[1]); },
                  "denominator |b| in [0.3, 1.5]"));
  add1(make_entry("maximum", 2, binary_untied,
                  [](auto&, const auto& x, const OpArgs&) { return maximum(x[0], x[1]); }, "a, b >= 0.05 apart"),
       true);
  add1(make_entry("minimum", 2, binary_untied,
                  [](auto&, const auto& x, const OpArgs&) { return minimum(x[0], x[1]); }, "a, b >= 0.05 apart"),
       true);
  add1(make_entry("where", 2, where_cases, [](auto& t, const auto& x, const OpArgs& a) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    return where(t.constant(xt::cast<T>(a.constant)), x[0], x[1]);
  }, "condition: a 0/1 constant"));
  // scalar forms: s in reals[0]
  add1(make_entry("add_scalar", 1, with_scalar, [](auto&, const auto& x, const OpArgs& a) {
    return add_scalar(x[0], real<typename std::decay_t<decltype(x[0])>::value_type>(a));
  }));
  add1(make_entry("mul_scalar", 1, with_scalar, [](auto&, const auto& x, const OpArgs& a) {
    return mul_scalar(x[0], real<typename std::decay_t<decltype(x[0])>::value_type>(a));
  }));
  add1(make_entry("div_scalar", 1, with_scalar, [](auto&, const auto& x, const OpArgs& a) {
    return div_scalar(x[0], real<typename std::decay_t<decltype(x[0])>::value_type>(a));
  }, "s != 0"));
  add1(make_entry("rsub_scalar", 1, with_scalar, [](auto&, const auto& x, const OpArgs& a) {
    return rsub_scalar(real<typename std::decay_t<decltype(x[0])>::value_type>(a), x[0]);
  }));
  add1(make_entry("rdiv_scalar", 1, rdiv_cases, [](auto&, const auto& x, const OpArgs& a) {
    return rdiv_scalar(real<typename std::decay_t<decltype(x[0])>::value_type>(a), x[0]);
  }, "|a| in [0.3, 1.5]"));
  // unary
  add1(make_entry("neg", 1, any_values, [](auto&, const auto& x, const OpArgs&) { return neg(x[0]); }));
  add1(make_entry("exp", 1, any_values, [](auto&, const auto& x, const OpArgs&) { return exp(x[0]); }));
  add1(make_entry("log", 1, positive, [](auto&, const auto& x, const OpArgs&) { return log(x[0]); },
                  "x in [0.5, 2]"));
  add1(make_entry("square", 1, any_values, [](auto&, const auto& x, const OpArgs&) { return square(x[0]); }));
  add1(make_entry("abs", 1, away_from_zero, [](auto&, const auto& x, const OpArgs&) { return abs(x[0]); },
                  "|x| in [0.05, 1.5] (kink at 0)"),
       true);
  add1(make_entry("sqrt", 1, positive, [](auto&, const auto& x, const OpArgs&) { return sqrt(x[0]); },
                  "x in [0.5, 2]"));
  add1(make_entry("pow", 1, pow_cases, [](auto&, const auto& x, const OpArgs& a) {
    return pow(x[0], real<typename std::decay_t<decltype(x[0])>::value_type>(a));
  }, "base in [0.5, 2], p in {2.5, -1.5, 0, 3, 1}"));
  add1(make_entry("clamp", 1, clamp_cases, [](auto&, const auto& x, const OpArgs&) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    return clamp(x[0], T(-0.5), T(0.5));
  }, "[-0.5, 0.5], x >= 0.05 from both bounds"), true);
  // activations
  add1(make_entry("relu", 1, away_from_zero, [](auto&, const auto& x, const OpArgs&) { return relu(x[0]); },
                  "|x| >= 0.05 (kink at 0)"),
       true);
  add1(make_entry("leaky_relu", 1, leaky_cases, [](auto&, const auto& x, const OpArgs& a) {
    return leaky_relu(x[0], real<typename std::decay_t<decltype(x[0])>::value_type>(a));
  }, "|x| >= 0.05, slope in {0.01, 0.2, -0.5}"), true);
  add1(make_entry("tanh", 1, any_values, [](auto&, const auto& x, const OpArgs&) { return tanh(x[0]); }));
  add1(make_entry("sigmoid", 1, any_values, [](auto&, const auto& x, const OpArgs&) { return sigmoid(x[0]); }));
  add1(make_entry("dropout", 1, dropout_cases, [](auto&, const auto& x, const OpArgs& a) {
    return dropout(x[0], a.reals.at(0), static_cast<std::uint64_t>(a.ints.at(0)));
  }, "p in {0.3, 0, 0.5}, a fixed mask seed"));
  return v;
}

std::vector<NonDifferentiableOp> ops_non_differentiable() {
  return {{"one_hot", "a constant (N x C) built from labels"},
          {"mask", "a constant 0/1 tensor built from booleans"}};
}

}  // namespace tapegrad
