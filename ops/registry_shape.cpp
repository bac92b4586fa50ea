// Registry entries of the reductions, shape ops, joins, gather, matmul and the
// softmaxes (core/op_registry.hpp). Axes and shapes are in OpArgs::ints, as each
// generator's comment says; max and min draw distinct values (no ties).
#include <tapegrad/ops/registry.hpp>

#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/indexing.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

using namespace registry_detail;

struct ShapeArgs {
  Shape shape;
  std::vector<std::int64_t> ints;
  std::string note;
};

template <class Draw>
std::vector<OpCase> cases_of(std::uint64_t seed, const std::vector<ShapeArgs>& list, Draw draw) {
  OpRandom r(seed);
  std::vector<OpCase> cases;
  for (const ShapeArgs& s : list) {
    OpArgs a;
    a.ints = s.ints;
    cases.push_back(make_case({draw(r, s.shape)}, a, s.note));
  }
  return cases;
}
Tensor<double> any(OpRandom& r, const Shape& s) { return r.uniform(s, -1.5, 1.5); }
Tensor<double> untied(OpRandom& r, const Shape& s) { return r.distinct(s, 0.05); }

// ints: {} over all elements, or {axis, keepdims}.
const std::vector<ShapeArgs> kReduce = {{{2, 3}, {}, "all"},         {{2, 3}, {1, 0}, "axis 1"},
                                        {{2, 3}, {-2, 1}, "axis -2 keepdims"}, {{1}, {}, "all"},
                                        {{}, {}, "all"},              {{2, 1, 3}, {1, 0}, "axis 1"},
                                        {{0, 3}, {1, 0}, "axis 1"}};
std::vector<OpCase> reduce_sum(std::uint64_t seed, CaseStyle) {
  std::vector<ShapeArgs> l = kReduce;
  l.push_back({{0, 3}, {0, 1}, "axis 0 keepdims (sums of nothing)"});
  return cases_of(seed, l, any);
}
std::vector<OpCase> reduce_any(std::uint64_t seed, CaseStyle) { return cases_of(seed, kReduce, any); }
std::vector<OpCase> reduce_untied(std::uint64_t seed, CaseStyle) { return cases_of(seed, kReduce, untied); }
// ints: {axis, keepdims} (logsumexp), {axis} (softmax, log_softmax).
std::vector<OpCase> along_axis(std::uint64_t seed, CaseStyle) {
  return cases_of(seed,
                  {{{2, 3}, {1, 0}, "axis 1"}, {{2, 3}, {0, 1}, "axis 0 keepdims"}, {{1, 4}, {-1, 0}, "axis -1"},
                   {{2, 1, 3}, {2, 1}, "axis 2 keepdims"}, {{0, 3}, {1, 0}, "axis 1"}, {{3}, {0, 0}, "axis 0"}},
                  any);
}
// ints: the target shape (-1 inferred).
std::vector<OpCase> reshape_cases(std::uint64_t seed, CaseStyle) {
  return cases_of(seed,
                  {{{2, 3}, {3, 2}, "to (3, 2)"}, {{2, 3}, {-1}, "to (-1)"}, {{2, 1, 3}, {2, 3}, "to (2, 3)"},
                   {{0, 3}, {3, 0}, "to (3, 0)"}, {{1}, {1, 1}, "to (1, 1)"}},
                  any);
}
// ints: {} reverses the axes, else the permutation.
std::vector<OpCase> transpose_cases(std::uint64_t seed, CaseStyle) {
  return cases_of(seed,
                  {{{2, 3}, {}, "reversed"}, {{2, 1, 3}, {1, 2, 0}, "perm (1, 2, 0)"}, {{0, 3}, {}, "reversed"},
                   {{4}, {}, "reversed"}, {{2, 3, 2}, {0, 2, 1}, "perm (0, 2, 1)"}},
                  any);
}
// ints: {start_axis}.
std::vector<OpCase> flatten_cases(std::uint64_t seed, CaseStyle) {
  return cases_of(seed,
                  {{{2, 1, 3}, {1}, "from 1"}, {{2, 3}, {0}, "from 0"}, {{}, {0}, "a scalar"},
                   {{0, 3}, {0}, "from 0"}, {{2, 2, 2}, {-2}, "from -2"}},
                  any);
}
// ints: {axis}.
std::vector<OpCase> unsqueeze_cases(std::uint64_t seed, CaseStyle) {
  return cases_of(seed,
                  {{{2, 3}, {0}, "axis 0"}, {{2, 3}, {-1}, "axis -1"}, {{}, {0}, "axis 0"}, {{0, 3}, {1}, "axis 1"}},
                  any);
}
// ints: {} every axis of extent 1, or {axis}.
std::vector<OpCase> squeeze_cases(std::uint64_t seed, CaseStyle) {
  return cases_of(seed,
                  {{{2, 1, 3}, {}, "all"}, {{2, 1, 3}, {1}, "axis 1"}, {{1}, {}, "all"}, {{1, 0, 1}, {0}, "axis 0"},
                   {{2, 3}, {}, "nothing to squeeze"}},
                  any);
}
// ints: the target shape.
std::vector<OpCase> broadcast_cases(std::uint64_t seed, CaseStyle) {
  return cases_of(seed,
                  {{{3}, {2, 3}, "to (2, 3)"}, {{2, 1}, {2, 3}, "to (2, 3)"}, {{}, {2, 2}, "to (2, 2)"},
                   {{1, 3}, {0, 3}, "to (0, 3)"}, {{2, 3}, {2, 3}, "to itself"}},
                  any);
}
// ints: {axis, start, stop}.
std::vector<OpCase> slice_cases(std::uint64_t seed, CaseStyle) {
  return cases_of(seed,
                  {{{4, 3}, {0, 1, 3}, "axis 0 [1, 3)"}, {{2, 5}, {-1, -3, 5}, "axis -1 [-3, 5)"},
                   {{2, 3}, {1, 2, 2}, "axis 1 [2, 2), empty"}, {{0, 3}, {1, 0, 2}, "axis 1 [0, 2)"},
                   {{3}, {0, -10, 10}, "axis 0 [-10, 10), clamped"}},
                  any);
}
// Variable arity; ints: {axis}.
std::vector<OpCase> concat_cases(std::uint64_t seed, CaseStyle) {
  OpRandom r(seed);
  const std::vector<std::pair<std::vector<Shape>, std::int64_t>> list = {
      {{{2, 3}, {1, 3}}, 0}, {{{2, 1}, {2, 2}, {2, 0}}, 1}, {{{3}}, 0}, {{{0, 3}, {2, 3}}, 0}, {{{2, 2}, {2, 1}}, -1}};
  std::vector<OpCase> cases;
  for (const auto& [shapes, axis] : list) {
    std::vector<Tensor<double>> in;
    for (const Shape& s : shapes) in.push_back(any(r, s));
    OpArgs a;
    a.ints = {axis};
    cases.push_back(make_case(in, a, "axis " + std::to_string(axis)));
  }
  return cases;
}
// ints: {axis}; index in args.index, with repeated entries (the backward scatter-adds).
std::vector<OpCase> gather_cases(std::uint64_t seed, CaseStyle) {
  OpRandom r(seed);
  struct G {
    Shape x, index;
    std::int64_t axis;
  };
  std::vector<OpCase> cases;
  for (const G& g : {G{{3, 4}, {5, 4}, 0}, G{{3, 4}, {3, 2}, 1}, G{{2, 3, 2}, {2, 3, 4}, -1}, G{{0, 3}, {0, 2}, 1},
                     G{{1, 3}, {1, 1}, 1}}) {
    OpArgs a;
    a.ints = {g.axis};
    const std::size_t ax = static_cast<std::size_t>(g.axis < 0 ? g.axis + std::int64_t(g.x.size()) : g.axis);
    a.index = IndexTensor(g.index);
    for (auto& k : a.index) k = static_cast<std::int64_t>(r.below(g.x[ax]));
    cases.push_back(make_case({any(r, g.x)}, a, "axis " + std::to_string(g.axis) + ", index " + shape_str(g.index)));
  }
  return cases;
}
std::vector<OpCase> matmul_cases(std::uint64_t seed, CaseStyle) {
  OpRandom r(seed);
  std::vector<OpCase> cases;
  const std::vector<std::pair<Shape, Shape>> list = {{{2, 3}, {3, 4}}, {{1, 3}, {3, 1}}, {{3, 5}, {5, 2}},
                                                     {{2, 3}, {3, 10}}, {{0, 3}, {3, 2}}, {{2, 0}, {0, 3}}};
  for (const auto& [a, b] : list) cases.push_back(make_case({any(r, a), any(r, b)}));
  return cases;
}

std::vector<std::ptrdiff_t> as_extents(const std::vector<std::int64_t>& v) {
  return std::vector<std::ptrdiff_t>(v.begin(), v.end());
}
Shape as_shape(const std::vector<std::int64_t>& v) {
  Shape s;
  for (auto k : v) s.push_back(static_cast<std::size_t>(k));
  return s;
}

}  // namespace

std::vector<OpEntry> structure_op_entries() {
  std::vector<OpEntry> v;
  // f(x) over all elements, or over ints[0] with keepdims ints[1]
#define TAPEGRAD_REDUCE(NAME)                                                       \
  [](auto&, const auto& x, const OpArgs& a) {                                       \
    return a.ints.empty() ? NAME(x[0]) : NAME(x[0], a.ints[0], a.ints[1] != 0);    \
  }
  v.push_back(make_entry("sum", 1, reduce_sum, TAPEGRAD_REDUCE(sum)));
  v.push_back(make_entry("mean", 1, reduce_any, TAPEGRAD_REDUCE(mean)));
  v.push_back(make_entry("max", 1, reduce_untied, TAPEGRAD_REDUCE(max), "distinct values (ties are kinks)"));
  v.push_back(make_entry("min", 1, reduce_untied, TAPEGRAD_REDUCE(min), "distinct values (ties are kinks)"));
#undef TAPEGRAD_REDUCE
  v[2].kinks = v[2].ties = v[3].kinks = v[3].ties = true;
  v.push_back(make_entry("logsumexp", 1, along_axis,
                         [](auto&, const auto& x, const OpArgs& a) { return logsumexp(x[0], a.ints[0], a.ints[1] != 0); }));
  v.push_back(make_entry("softmax", 1, along_axis,
                         [](auto&, const auto& x, const OpArgs& a) { return softmax(x[0], a.ints[0]); }));
  v.push_back(make_entry("log_softmax", 1, along_axis,
                         [](auto&, const auto& x, const OpArgs& a) { return log_softmax(x[0], a.ints[0]); }));
  v.push_back(make_entry("reshape", 1, reshape_cases,
                         [](auto&, const auto& x, const OpArgs& a) { return reshape(x[0], as_extents(a.ints)); }));
  v.push_back(make_entry("transpose", 1, transpose_cases, [](auto&, const auto& x, const OpArgs& a) {
    if (a.ints.empty()) return transpose(x[0]);
    return transpose(x[0], std::vector<std::size_t>(a.ints.begin(), a.ints.end()));
  }));
  v.push_back(make_entry("flatten", 1, flatten_cases,
                         [](auto&, const auto& x, const OpArgs& a) { return flatten(x[0], a.ints[0]); }));
  v.push_back(make_entry("unsqueeze", 1, unsqueeze_cases,
                         [](auto&, const auto& x, const OpArgs& a) { return unsqueeze(x[0], a.ints[0]); }));
  v.push_back(make_entry("squeeze", 1, squeeze_cases, [](auto&, const auto& x, const OpArgs& a) {
    return a.ints.empty() ? squeeze(x[0]) : squeeze(x[0], a.ints[0]);
  }));
  v.push_back(make_entry("broadcast_to", 1, broadcast_cases,
                         [](auto&, const auto& x, const OpArgs& a) { return broadcast_to(x[0], as_shape(a.ints)); }));
  v.push_back(make_entry("slice", 1, slice_cases, [](auto&, const auto& x, const OpArgs& a) {
    return slice(x[0], a.ints[0], a.ints[1], a.ints[2]);
  }));
  v.push_back(make_entry("concat", -1, concat_cases,
                         [](auto&, const auto& x, const OpArgs& a) { return concat(x, a.ints[0]); }));
  v.push_back(make_entry("gather", 1, gather_cases,
                         [](auto&, const auto& x, const OpArgs& a) { return gather(x[0], a.ints[0], a.index); },
                         "indices in range, repeated"));
  v.push_back(make_entry("matmul", 2, matmul_cases,
                         [](auto&, const auto& x, const OpArgs&) { return matmul(x[0], x[1]); },
                         "narrow (AVX-512 kernel), wide (gemm), empty and zero inner extent"));
  return v;
}

}  // namespace tapegrad
