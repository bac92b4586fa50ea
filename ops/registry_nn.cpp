// Registry entries of conv2d, the pools and the norms (core/op_registry.hpp). The
// norms are fused ops: each names its composed form as its reference, and their
// kinky cases are integer-valued inputs with ties (no kink, but every path must
// agree on them exactly as on any other input).
#include <tapegrad/ops/registry.hpp>

#include <tapegrad/ops/conv.hpp>
#include <tapegrad/ops/norm.hpp>
#include <tapegrad/ops/pool.hpp>

namespace tapegrad {

namespace {

using namespace registry_detail;

struct ConvCase {
  Shape x, w;
  std::vector<std::int64_t> ints;  // stride h, w, padding h, w, dilation h, w
};
const std::vector<ConvCase> kConv = {{{1, 1, 4, 4}, {2, 1, 3, 3}, {1, 1, 0, 0, 1, 1}},
                                     {{2, 2, 5, 5}, {3, 2, 3, 3}, {2, 2, 1, 1, 1, 1}},
                                     {{1, 2, 5, 6}, {2, 2, 2, 3}, {1, 2, 0, 1, 2, 1}},
                                     {{2, 3, 3, 3}, {2, 3, 1, 1}, {1, 1, 0, 0, 1, 1}},
                                     {{0, 2, 4, 4}, {2, 2, 3, 3}, {1, 1, 1, 1, 1, 1}}};
std::string conv_note(const std::vector<std::int64_t>& i) {
  return "stride (" + std::to_string(i[0]) + ", " + std::to_string(i[1]) + "), padding (" + std::to_string(i[2]) +
         ", " + std::to_string(i[3]) + "), dilation (" + std::to_string(i[4]) + ", " + std::to_string(i[5]) + ")";
}
// conv2d(x, w, b): ints as ConvCase's.
std::vector<OpCase> conv_bias(std::uint64_t seed, CaseStyle) {
  OpRandom r(seed);
  std::vector<OpCase> cases;
  for (const ConvCase& c : kConv) {
    OpArgs a;
    a.ints = c.ints;
    cases.push_back(make_case({r.uniform(c.x, -1, 1), r.uniform(c.w, -1, 1), r.uniform({c.w[0]}, -1, 1)}, a,
                              conv_note(c.ints)));
  }
  return cases;
}
std::vector<OpCase> conv_no_bias(std::uint64_t seed, CaseStyle style) {
  std::vector<OpCase> cases = conv_bias(seed, style);
  for (OpCase& c : cases) {
    c.inputs.pop_back();
    c.label = shapes_label(c.inputs) + ", " + conv_note(c.args.ints);
  }
  return cases;
}

// ints: kernel h, w, stride h, w, padding h, w; distinct values (no tied maxima).
std::vector<OpCase> pool_cases(std::uint64_t seed, CaseStyle) {
  OpRandom r(seed);
  const std::vector<std::pair<Shape, std::vector<std::int64_t>>> list = {{{1, 2, 4, 4}, {2, 2, 2, 2, 0, 0}},
                                                                         {{2, 1, 5, 5}, {3, 3, 2, 2, 1, 1}},
                                                                         {{1, 1, 3, 4}, {2, 3, 1, 1, 0, 1}},
                                                                         {{0, 1, 4, 4}, {2, 2, 2, 2, 0, 0}}};
  std::vector<OpCase> cases;
  for (const auto& [x, ints] : list) {
    OpArgs a;
    a.ints = ints;
    cases.push_back(make_case({r.distinct(x, 0.05)}, a,
                              "kernel (" + std::to_string(ints[0]) + ", " + std::to_string(ints[1]) + "), stride (" +
                                  std::to_string(ints[2]) + ", " + std::to_string(ints[3]) + "), padding (" +
                                  std::to_string(ints[4]) + ", " + std::to_string(ints[5]) + ")"));
  }
  return cases;
}

Tensor<double> norm_input(OpRandom& r, const Shape& s, CaseStyle style) {
  return style == CaseStyle::kinky ? r.integers(s, -2, 2) : r.uniform(s, -1.5, 1.5);
}
// batch_norm(x, gamma, beta): ints {training, running statistics given}.
std::vector<OpCase> batch_norm_cases(std::uint64_t seed, CaseStyle style) {
  OpRandom r(seed);
  const std::vector<std::pair<Shape, std::vector<std::int64_t>>> list = {
      {{4, 3}, {1, 1}}, {{2, 3, 2, 2}, {1, 0}}, {{3, 2}, {0, 1}}, {{2, 2, 3}, {1, 1}}, {{0, 3}, {1, 0}}};
  std::vector<OpCase> cases;
  for (const auto& [x, ints] : list) {
    OpArgs a;
    a.ints = ints;
    const std::size_t c = x[1];
    cases.push_back(make_case({norm_input(r, x, style), r.uniform({c}, 0.5, 1.5), r.uniform({c}, -1, 1)}, a,
                              std::string(ints[0] ? "training" : "eval") + (ints[1] ? ", running stats" : "")));
  }
  return cases;
}
// layer_norm(x, normalized_shape = ints, gamma, beta).
std::vector<OpCase> layer_norm_cases(std::uint64_t seed, CaseStyle style) {
  OpRandom r(seed);
  const std::vector<std::pair<Shape, Shape>> list = {{{2, 3}, {3}}, {{2, 2, 3}, {2, 3}}, {{3, 2}, {2}}, {{0, 4}, {4}}};
  std::vector<OpCase> cases;
  for (const auto& [x, ns] : list) {
    OpArgs a;
    a.ints.assign(ns.begin(), ns.end());
    Tensor<double> xv = norm_input(r, x, style);
    // Two values per row: dx is ε/σ² of its terms (γ·g/σ), which cancel, so float's
    // error grows as 1/σ (measured: 1.7e-5 against double at σ ≈ 0.1, on the fused
    // and the composed op alike). The pair is kept at least 1 apart (σ >= 0.5).
    if (ns == Shape{2} && style == CaseStyle::smooth)
      for (std::size_t i = 0; i < x[0]; ++i) xv(i, 1) = xv(i, 0) + (xv(i, 0) > 0 ? -1 : 1) * r.uniform(1.0, 1.5);
    cases.push_back(make_case({xv, r.uniform(ns, 0.5, 1.5), r.uniform(ns, -1, 1)}, a, "over " + shape_str(ns)));
  }
  return cases;
}

Conv2dOptions conv_options(const OpArgs& a) {
  const auto& i = a.ints;
  return Conv2dOptions()
      .stride({static_cast<std::int64_t>(i[0]), static_cast<std::int64_t>(i[1])})
      .padding({static_cast<std::int64_t>(i[2]), static_cast<std::int64_t>(i[3])})
      .dilation({static_cast<std::int64_t>(i[4]), static_cast<std::int64_t>(i[5])});
}

// The norms' running statistics are fresh per call (the op updates them in place),
// so every evaluation of the case is the same function.
template <bool Composed, class T>
Var<T> batch_norm_op(Tape<T>&, const std::vector<Var<T>>& x, const OpArgs& a) {
  const std::size_t c = x[0].value().shape()[1];
  Tensor<T> mean(Shape{c}), var(Shape{c});
  for (std::size_t k = 0; k < c; ++k) {
    mean(k) = T(0.1) * T(k);
    var(k) = T(1) + T(0.2) * T(k);
  }
  Tensor<T>* rm = a.ints[1] ? &mean : nullptr;
  Tensor<T>* rv = a.ints[1] ? &var : nullptr;
  if constexpr (Composed)
    return batch_norm_composed(x[0], x[1], x[2], rm, rv, a.ints[0] != 0);
  else
    return batch_norm(x[0], x[1], x[2], rm, rv, a.ints[0] != 0);
}
template <bool Composed, class T>
Var<T> layer_norm_op(Tape<T>&, const std::vector<Var<T>>& x, const OpArgs& a) {
  Shape ns(a.ints.begin(), a.ints.end());
  if constexpr (Composed)
    return layer_norm_composed(x[0], ns, x[1], x[2]);
  else
    return layer_norm(x[0], ns, x[1], x[2]);
}

template <class T>
Pair2 pair(const OpArgs& a, std::size_t k) {
  return {static_cast<std::int64_t>(a.ints[k]), static_cast<std::int64_t>(a.ints[k + 1])};
}

OpEntry norm_entry(const char* name, OpCaseGenerator g, OpFn<float> f, OpFn<double> d, const char* ref) {
  OpEntry e;
  e.name = name;
  e.arity = 3;
  e.cases = g;
  e.f32 = f;
  e.f64 = d;
  e.fused_reference = ref;
  e.domain = "inputs x, gamma, beta; no kink (sigma^2 + eps > 0)";
  return e;
}

}  // namespace

std::vector<OpEntry> network_op_entries() {
  std::vector<OpEntry> v;
  v.push_back(make_entry("conv2d", 3, conv_bias, [](auto&, const auto& x, const OpArgs& a) {
    return conv2d(x[0], x[1], x[2], conv_options(a));
  }, "x, weight, bias"));
  v.push_back(make_entry("conv2d.no_bias", 2, conv_no_bias, [](auto&, const auto& x, const OpArgs& a) {
    return conv2d(x[0], x[1], conv_options(a));
  }, "x, weight"));
  OpEntry mp = make_entry("max_pool2d", 1, pool_cases, [](auto&, const auto& x, const OpArgs& a) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    return max_pool2d(x[0], pair<T>(a, 0), pair<T>(a, 2), pair<T>(a, 4));
  }, "distinct values (tied maxima are kinks)");
  mp.kinks = mp.ties = true;
  v.push_back(mp);
  v.push_back(make_entry("avg_pool2d", 1, pool_cases, [](auto&, const auto& x, const OpArgs& a) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    return avg_pool2d(x[0], pair<T>(a, 0), pair<T>(a, 2), pair<T>(a, 4));
  }));
  v.push_back(norm_entry("batch_norm", batch_norm_cases, batch_norm_op<false, float>, batch_norm_op<false, double>,
                         "batch_norm_composed"));
  v.push_back(norm_entry("batch_norm_composed", batch_norm_cases, batch_norm_op<true, float>,
                         batch_norm_op<true, double>, ""));
  v.push_back(norm_entry("layer_norm", layer_norm_cases, layer_norm_op<false, float>, layer_norm_op<false, double>,
                         "layer_norm_composed"));
  v.push_back(norm_entry("layer_norm_composed", layer_norm_cases, layer_norm_op<true, float>,
                         layer_norm_op<true, double>, ""));
  return v;
}

}  // namespace tapegrad
