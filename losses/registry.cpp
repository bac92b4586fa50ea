// The losses' registry entries and the full registry (losses/registry.hpp).
//
// Hinge cases: ints {p, reduction, weighted}, reals {margin}, index = labels,
// constant = class weights. Every (p, reduction, weights) combination on 4 x 5
// scores, plus one class (no wrong class), an empty batch (sum) and 3 x 20 (wider
// than one AVX-512 vector). Kinky cases: integer scores in [-2, 2] with margin 1, so
// that many margins z = s_j - s_y + 1 are exactly 0 and Crammer-Singer maxima tie,
// dyadic weights, and 8 rows, so that the mean's 1/N is exact. Softmax cross-entropy:
// ints {reduction, weighted}, the same shapes.
#include <tapegrad/losses/registry.hpp>

#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/softmax_cross_entropy.hpp>
#include <tapegrad/ops/registry.hpp>

namespace tapegrad {

namespace {

using namespace registry_detail;

constexpr Reduction kReductions[] = {Reduction::mean, Reduction::sum, Reduction::none};
const char* reduction_name(std::int64_t r) { return r == 0 ? "mean" : r == 1 ? "sum" : "none"; }

OpCase loss_case(OpRandom& r, std::size_t n, std::size_t c, CaseStyle style, std::vector<std::int64_t> ints,
                 std::vector<double> reals, bool weighted, const std::string& note) {
  OpArgs a;
  a.ints = std::move(ints);
  a.reals = std::move(reals);
  a.index = r.labels(n, c);
  if (weighted) {
    a.constant = Tensor<double>(Shape{c});
    const double dyadic[] = {0.5, 1.0, 2.0};
    for (auto& w : a.constant) w = style == CaseStyle::kinky ? dyadic[r.below(3)] : r.uniform(0.5, 2.0);
    a.has_constant = true;
  }
  Tensor<double> s = style == CaseStyle::kinky ? r.integers({n, c}, -2, 2) : r.uniform({n, c}, -1.5, 1.5);
  return make_case({s}, a, note);
}

// P1: only p = 1 (ww_bits_avx512); Narrow: at most 16 classes (small_avx512).
template <bool P1, bool Narrow>
std::vector<OpCase> hinge_cases(std::uint64_t seed, CaseStyle style) {
  OpRandom r(seed);
  const std::size_t n = style == CaseStyle::kinky ? 8 : 4;
  std::vector<OpCase> cases;
  for (std::int64_t p = 1; p <= (P1 ? 1 : 2); ++p)
    for (std::int64_t red = 0; red < 3; ++red)
      for (int w = 0; w < 2; ++w)
        cases.push_back(loss_case(r, n, 5, style, {p, red, w}, {style == CaseStyle::kinky ? 1.0 : 0.7}, w != 0,
                                  "p " + std::to_string(p) + ", " + reduction_name(red) + (w ? ", weighted" : "")));
  cases.push_back(loss_case(r, 3, 1, style, {1, 1, 0}, {1.0}, false, "one class, sum"));
  cases.push_back(loss_case(r, 0, 3, style, {P1 ? 1 : 2, 1, 1}, {1.0}, true, "no rows, sum, weighted"));
  if (!Narrow) cases.push_back(loss_case(r, 3, 20, style, {1, 0, 0}, {1.0}, false, "p 1, mean, 20 classes"));
  return cases;
}

std::vector<OpCase> softmax_cases(std::uint64_t seed, CaseStyle style) {
  OpRandom r(seed);
  const std::size_t n = style == CaseStyle::kinky ? 8 : 4;
  std::vector<OpCase> cases;
  for (std::int64_t red = 0; red < 3; ++red)
    for (int w = 0; w < 2; ++w)
      cases.push_back(loss_case(r, n, 5, style, {red, w}, {}, w != 0,
                                std::string(reduction_name(red)) + (w ? ", weighted" : "")));
  cases.push_back(loss_case(r, 3, 1, style, {1, 0}, {}, false, "one class, sum"));
  cases.push_back(loss_case(r, 0, 3, style, {1, 1}, {}, true, "no rows, sum, weighted"));
  cases.push_back(loss_case(r, 3, 20, style, {0, 0}, {}, false, "mean, 20 classes"));
  return cases;
}

enum class Form { fused, reference, composed };

template <Form F, HingeKind K, HingeKernel Kernel, class T>
Var<T> hinge_op(Tape<T>&, const std::vector<Var<T>>& x, const OpArgs& a) {
  HingeOptions o;
  o.kind = K;
  o.p = static_cast<int>(a.ints.at(0));
  o.reduction = kReductions[a.ints.at(1)];
  o.margin = a.reals.at(0);
  o.kernel = Kernel;
  const Tensor<T> w = xt::cast<T>(a.constant);
  const Tensor<T>* wp = a.ints.at(2) ? &w : nullptr;
  if constexpr (F == Form::fused) return multiclass_hinge(x[0], a.index, o, wp);
  if constexpr (F == Form::reference) return multiclass_hinge_reference(x[0], a.index, o, wp);
  if constexpr (F == Form::composed) return multiclass_hinge_composed(x[0], a.index, o, wp);
}

template <Form F, SoftmaxKernel Kernel, class T>
Var<T> softmax_op(Tape<T>&, const std::vector<Var<T>>& x, const OpArgs& a) {
  const Reduction red = kReductions[a.ints.at(0)];
  const Tensor<T> w = xt::cast<T>(a.constant);
  const Tensor<T>* wp = a.ints.at(1) ? &w : nullptr;
  if constexpr (F == Form::fused) return softmax_cross_entropy(x[0], a.index, red, wp, Kernel);
  if constexpr (F == Form::reference) return softmax_cross_entropy_reference(x[0], a.index, red, wp);
  if constexpr (F == Form::composed) return softmax_cross_entropy_composed(x[0], a.index, red, wp);
}

OpEntry loss_entry(std::string name, OpCaseGenerator g, OpFn<float> f, OpFn<double> d, bool kinks, bool ties) {
  OpEntry e;
  e.name = std::move(name);
  e.arity = 1;
  e.cases = g;
  e.f32 = f;
  e.f64 = d;
  e.kinks = kinks;
  e.ties = ties;
  e.domain = "scores; labels, margin and class weights fixed per case";
  return e;
}

template <Form F, HingeKind K, HingeKernel Kernel = HingeKernel::automatic, bool P1 = false, bool Narrow = false>
OpEntry hinge(const std::string& name, bool float_only = false) {
  OpEntry e = loss_entry(name, hinge_cases<P1, Narrow>, hinge_op<F, K, Kernel, float>,
                         float_only ? nullptr : hinge_op<F, K, Kernel, double>, true, K == HingeKind::crammer_singer);
  const char* kind = K == HingeKind::weston_watkins ? ".ww" : ".cs";
  if (F != Form::composed && Kernel == HingeKernel::automatic)
    e.fused_reference = std::string("multiclass_hinge_composed") + kind;
  if (Kernel != HingeKernel::automatic) {
    e.kernel_of = std::string("multiclass_hinge_reference") + kind;
    HingeOptions o;
    o.kind = K;
    if (const char* why = hinge_kernel_unavailable<float>(Kernel, 5, o)) e.unavailable = why;
  }
  return e;
}

}  // namespace

std::vector<OpEntry> loss_op_entries() {
  using K = HingeKernel;
  constexpr HingeKind ww = HingeKind::weston_watkins, cs = HingeKind::crammer_singer;
  std::vector<OpEntry> v = {
      hinge<Form::fused, ww>("multiclass_hinge.ww"),
      hinge<Form::fused, cs>("multiclass_hinge.cs"),
      hinge<Form::reference, ww>("multiclass_hinge_reference.ww"),
      hinge<Form::reference, cs>("multiclass_hinge_reference.cs"),
      hinge<Form::composed, ww>("multiclass_hinge_composed.ww"),
      hinge<Form::composed, cs>("multiclass_hinge_composed.cs"),
      hinge<Form::fused, ww, K::reference>("multiclass_hinge.ww[reference]"),
      hinge<Form::fused, cs, K::reference>("multiclass_hinge.cs[reference]"),
      hinge<Form::fused, ww, K::rows>("multiclass_hinge.ww[rows]"),
      hinge<Form::fused, cs, K::rows>("multiclass_hinge.cs[rows]"),
      hinge<Form::fused, cs, K::cs_argmax>("multiclass_hinge.cs[cs_argmax]"),
      hinge<Form::fused, ww, K::small_avx512, false, true>("multiclass_hinge.ww[small_avx512]", true),
      hinge<Form::fused, cs, K::small_avx512, false, true>("multiclass_hinge.cs[small_avx512]", true),
      hinge<Form::fused, ww, K::ww_bits_avx512, true>("multiclass_hinge.ww[ww_bits_avx512]", true),
  };
  using S = SoftmaxKernel;
  OpEntry sce = loss_entry("softmax_cross_entropy", softmax_cases, softmax_op<Form::fused, S::automatic, float>,
                           softmax_op<Form::fused, S::automatic, double>, false, false);
  sce.fused_reference = "softmax_cross_entropy_composed";
  OpEntry ref = loss_entry("softmax_cross_entropy_reference", softmax_cases,
                           softmax_op<Form::reference, S::automatic, float>,
                           softmax_op<Form::reference, S::automatic, double>, false, false);
  ref.fused_reference = "softmax_cross_entropy_composed";
  v.push_back(sce);
  v.push_back(ref);
  v.push_back(loss_entry("softmax_cross_entropy_composed", softmax_cases, softmax_op<Form::composed, S::automatic, float>,
                         softmax_op<Form::composed, S::automatic, double>, false, false));
  for (auto [kernel, name] : {std::pair{S::rows, "softmax_cross_entropy[rows]"},
                              std::pair{S::reference, "softmax_cross_entropy[reference]"}}) {
    OpEntry k = loss_entry(name, softmax_cases, nullptr, nullptr, false, false);
    k.f32 = kernel == S::rows ? softmax_op<Form::fused, S::rows, float> : softmax_op<Form::fused, S::reference, float>;
    k.f64 = kernel == S::rows ? softmax_op<Form::fused, S::rows, double> : softmax_op<Form::fused, S::reference, double>;
    k.kernel_of = "softmax_cross_entropy_reference";
    v.push_back(k);
  }
  return v;
}

std::vector<OpEntry> op_registry() {
  std::vector<OpEntry> all = elementwise_op_entries();
  for (auto part : {structure_op_entries(), network_op_entries(), loss_op_entries()})
    for (OpEntry& e : part) all.push_back(std::move(e));
  return all;
}

std::vector<NonDifferentiableOp> non_differentiable_ops() { return ops_non_differentiable(); }

}  // namespace tapegrad
