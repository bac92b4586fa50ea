// The op registry (core/op_registry.hpp, tapegrad::op_registry()): every public op
// of ops/ and losses/ is registered or listed as a constant (a scan of the headers,
// whose folder is TAPEGRAD_SOURCE_DIR), names and references resolve, generators are
// deterministic, stay inside the ops' domains and cover broadcasting, size-1 and
// zero-length axes, and every entry runs in float and double on its cases.
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <tapegrad/losses/registry.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;

// The names of the functions a header declares as returning Var<T> (operators
// excluded: they forward to registered ops).
std::set<std::string> declared_ops(const std::string& text) {
  static const std::regex decl(R"(\bVar<T>\s+([A-Za-z_][A-Za-z0-9_]*)\s*\()");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), decl); it != std::sregex_iterator(); ++it)
    names.insert((*it)[1]);
  return names;
}

// Declared names that are neither registered nor listed as non-differentiable.
std::vector<std::string> unregistered(const std::set<std::string>& declared, const std::vector<OpEntry>& reg,
                                      const std::vector<NonDifferentiableOp>& constants) {
  std::set<std::string> known;
  for (const OpEntry& e : reg) known.insert(e.function_name());
  for (const auto& c : constants) known.insert(c.name);
  std::vector<std::string> missing;
  for (const auto& n : declared)
    if (!known.count(n)) missing.push_back(n);
  return missing;
}

#ifdef TAPEGRAD_SOURCE_DIR
std::set<std::string> scan_public_headers() {
  std::set<std::string> all;
  for (const char* dir : {"ops", "losses"})
    for (const auto& f : std::filesystem::directory_iterator(std::filesystem::path(TAPEGRAD_SOURCE_DIR) / dir)) {
      if (f.path().extension() != ".hpp") continue;
      std::ifstream in(f.path());
      std::stringstream ss;
      ss << in.rdbuf();
      for (const auto& n : declared_ops(ss.str())) all.insert(n);
    }
  return all;
}

TEST(OpRegistry, EveryPublicOpIsRegisteredOrAConstant) {
  const std::set<std::string> declared = scan_public_headers();
  // the scan sees the ops (not a vacuous pass over an empty folder)
  EXPECT_GE(declared.size(), 50u);
  for (const char* n : {"relu", "matmul", "conv2d", "multiclass_hinge_composed", "softmax_cross_entropy", "one_hot"})
    EXPECT_TRUE(declared.count(n)) << n;
  const std::vector<std::string> missing = unregistered(declared, op_registry(), non_differentiable_ops());
  EXPECT_TRUE(missing.empty()) << "declared in ops/ or losses/ but not registered (add an OpEntry, see "
                                  "docs/design.md 'Registering an op'): "
                               << ::testing::PrintToString(missing);
}
#endif

TEST(OpRegistry, TheScanCatchesAnUnregisteredOp) {
  const std::string header =
      "template <class T> Var<T> relu(const Var<T>& x);\n"
      "template <class T>\nVar<T> frobnicate(const Var<T>& x,\n    int k);\n"
      "template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }\n"
      "template <class T> Var<T> one_hot(Tape<T>& tape, const IndexTensor& labels, std::size_t n);\n";
  EXPECT_EQ(declared_ops(header), (std::set<std::string>{"relu", "frobnicate", "one_hot"}));
  EXPECT_EQ(unregistered(declared_ops(header), op_registry(), non_differentiable_ops()),
            std::vector<std::string>{"frobnicate"});
}

TEST(OpRegistry, NamesAreUniqueAndReferencesResolve) {
  const std::vector<OpEntry> reg = op_registry();
  std::set<std::string> names;
  for (const OpEntry& e : reg) EXPECT_TRUE(names.insert(e.name).second) << "duplicate " << e.name;
  for (const OpEntry& e : reg) {
    EXPECT_TRUE(e.cases) << e.name;
    EXPECT_TRUE(e.f32 || e.f64) << e.name;
    if (!e.fused_reference.empty()) {
      const OpEntry* r = find_op(reg, e.fused_reference);
      ASSERT_TRUE(r) << e.name << " names " << e.fused_reference;
      EXPECT_TRUE(r->fused_reference.empty()) << "a reference is composed, not fused: " << r->name;
    }
    if (!e.kernel_of.empty()) ASSERT_TRUE(find_op(reg, e.kernel_of)) << e.name << " names " << e.kernel_of;
  }
  // the fused ops the issue names all have a reference
  for (const char* fused : {"multiclass_hinge.ww", "multiclass_hinge.cs", "softmax_cross_entropy", "batch_norm",
                            "layer_norm"})
    EXPECT_FALSE(find_op(reg, fused)->fused_reference.empty()) << fused;
  EXPECT_EQ(find_op(reg, "multiclass_hinge.cs[cs_argmax]")->kernel_of, "multiclass_hinge_reference.cs");
  EXPECT_EQ(find_op(reg, "multiclass_hinge.ww[rows]")->function_name(), "multiclass_hinge");
  EXPECT_EQ(find_op(reg, "nope"), nullptr);
  EXPECT_EQ(non_differentiable_ops().size(), 2u);
}

TEST(OpRegistry, GeneratorsAreDeterministicPerSeed) {
  for (const OpEntry& e : op_registry())
    for (CaseStyle style : {CaseStyle::smooth, CaseStyle::kinky}) {
      const auto a = e.cases(5, style), b = e.cases(5, style), c = e.cases(6, style);
      ASSERT_EQ(a.size(), b.size()) << e.name;
      ASSERT_FALSE(a.empty()) << e.name;
      bool differs = a.size() != c.size();
      for (std::size_t k = 0; k < a.size(); ++k) {
        ASSERT_EQ(a[k].inputs.size(), b[k].inputs.size());
        if (e.arity >= 0) EXPECT_EQ(a[k].inputs.size(), static_cast<std::size_t>(e.arity)) << e.name;
        for (std::size_t i = 0; i < a[k].inputs.size(); ++i) {
          EXPECT_EQ(a[k].inputs[i], b[k].inputs[i]) << e.name << " " << a[k].label;
          if (k < c.size() && i < c[k].inputs.size() && a[k].inputs[i] != c[k].inputs[i]) differs = true;
        }
      }
      // another seed draws other numbers (entries whose every input is empty aside)
      EXPECT_TRUE(differs) << e.name;
    }
}

double min_of(const Tensor<double>& t) { return t.size() ? xt::amin(t)() : 1e9; }
double min_abs(const Tensor<double>& t) { return t.size() ? xt::amin(xt::abs(t))() : 1e9; }

TEST(OpRegistry, GeneratorsStayInsideTheDomains) {
  const std::vector<OpEntry> reg = op_registry();
  for (std::uint64_t seed : {0u, 1u, 2u, 3u}) {
    for (const OpCase& c : find_op(reg, "log")->cases(seed, CaseStyle::smooth)) EXPECT_GE(min_of(c.inputs[0]), 0.5);
    for (const OpCase& c : find_op(reg, "sqrt")->cases(seed, CaseStyle::smooth)) EXPECT_GE(min_of(c.inputs[0]), 0.5);
    for (const OpCase& c : find_op(reg, "pow")->cases(seed, CaseStyle::smooth)) EXPECT_GE(min_of(c.inputs[0]), 0.5);
    for (const OpCase& c : find_op(reg, "div")->cases(seed, CaseStyle::smooth)) EXPECT_GE(min_abs(c.inputs[1]), 0.3);
    for (const OpCase& c : find_op(reg, "rdiv_scalar")->cases(seed, CaseStyle::smooth))
      EXPECT_GE(min_abs(c.inputs[0]), 0.3);
    for (const char* kinked : {"relu", "abs", "leaky_relu"})
      for (const OpCase& c : find_op(reg, kinked)->cases(seed, CaseStyle::smooth))
        EXPECT_GE(min_abs(c.inputs[0]), 0.05) << kinked;
    for (const OpCase& c : find_op(reg, "clamp")->cases(seed, CaseStyle::smooth)) {
      EXPECT_GE(min_abs(Tensor<double>(c.inputs[0] - 0.5)), 0.05 - 1e-12);
      EXPECT_GE(min_abs(Tensor<double>(c.inputs[0] + 0.5)), 0.05 - 1e-12);
    }
  }
}

TEST(OpRegistry, KinkyCasesHitKinksAndTiesExactly) {
  const std::vector<OpEntry> reg = op_registry();
  std::size_t zero_margins = 0, tied_rows = 0;
  for (const OpCase& c : find_op(reg, "multiclass_hinge.cs")->cases(0, CaseStyle::kinky)) {
    const Tensor<double>& s = c.inputs[0];
    if (s.dimension() != 2 || s.shape()[1] < 3) continue;
    for (std::size_t i = 0; i < s.shape()[0]; ++i) {
      const std::int64_t y = c.args.index(i);
      double best = -1e9;
      int count = 0;
      for (std::size_t j = 0; j < s.shape()[1]; ++j) {
        if (static_cast<std::int64_t>(j) == y) continue;
        if (s(i, j) - s(i, y) + c.args.reals[0] == 0) ++zero_margins;
        if (s(i, j) > best) best = s(i, j), count = 1;
        else if (s(i, j) == best) ++count;
      }
      tied_rows += count > 1;
    }
  }
  EXPECT_GT(zero_margins, 20u);
  EXPECT_GT(tied_rows, 10u);
}

TEST(OpRegistry, CasesCoverBroadcastingSizeOneAndZeroLengthAxes) {
  const std::vector<OpEntry> reg = op_registry();
  for (const char* binary : {"add", "sub", "mul", "div", "maximum", "minimum"}) {
    bool broadcast = false, empty = false, size_one = false;
    for (const OpCase& c : find_op(reg, binary)->cases(0, CaseStyle::smooth)) {
      broadcast = broadcast || c.inputs[0].shape() != c.inputs[1].shape();
      for (const auto& x : c.inputs) {
        empty = empty || x.size() == 0;
        for (auto d : x.shape()) size_one = size_one || d == 1;
      }
    }
    EXPECT_TRUE(broadcast) << binary;
    EXPECT_TRUE(empty) << binary;
    EXPECT_TRUE(size_one) << binary;
  }
  std::size_t with_empty = 0;
  for (const OpEntry& e : reg) {
    bool any_empty = false;
    for (const OpCase& c : e.cases(0, CaseStyle::smooth))
      for (const auto& x : c.inputs) any_empty = any_empty || x.size() == 0;
    with_empty += any_empty;
  }
  EXPECT_GE(with_empty, 50u);  // nearly every entry has a zero-length case
}

TEST(OpRegistry, EveryEntryRunsInFloatAndDoubleWithTheSameShapes) {
  const std::vector<OpEntry> reg = op_registry();
  for (const OpEntry& e : reg) {
    if (!e.unavailable.empty()) continue;
    for (const OpCase& c : e.cases(1, CaseStyle::smooth)) {
      Shape sf, sd;
      if (e.f32) {
        Tape<float> t;
        std::vector<Var<float>> v;
        for (const auto& x : c.inputs) v.push_back(t.constant(xt::cast<float>(x)));
        sf = to_shape(t.value(e.f32(t, v, c.args)).shape());
      }
      if (e.f64) {
        Tape<double> t;
        std::vector<Var<double>> v;
        for (const auto& x : c.inputs) v.push_back(t.constant(x));
        sd = to_shape(t.value(e.f64(t, v, c.args)).shape());
      }
      if (e.f32 && e.f64) EXPECT_EQ(sf, sd) << e.name << " " << c.label;
    }
  }
}

TEST(OpRandom, DrawsAreSeededAndInRange) {
  OpRandom a(3), b(3);
  const Tensor<double> u = a.uniform({100}, -2, 3);
  EXPECT_EQ(u, b.uniform({100}, -2, 3));
  EXPECT_GE(xt::amin(u)(), -2);
  EXPECT_LT(xt::amax(u)(), 3);
  const Tensor<double> d = a.distinct({4, 5}, 0.05);
  std::vector<double> v(d.begin(), d.end());
  std::sort(v.begin(), v.end());
  for (std::size_t k = 1; k < v.size(); ++k) EXPECT_GT(v[k] - v[k - 1], 0.05 * 0.74);
  const Tensor<double> z = a.away_from_zero({200}, 0.2, 1.5);
  EXPECT_GE(xt::amin(xt::abs(z))(), 0.2);
  EXPECT_LT(xt::amin(z)(), 0);  // both signs
  EXPECT_GT(xt::amax(z)(), 0);
  const Tensor<double> k = a.integers({300}, -2, 2);
  for (double x : k) EXPECT_EQ(x, std::round(x));
  EXPECT_EQ(xt::amin(k)(), -2);
  EXPECT_EQ(xt::amax(k)(), 2);
  const IndexTensor y = a.labels(50, 4);
  EXPECT_GE(xt::amin(y)(), 0);
  EXPECT_LE(xt::amax(y)(), 3);
}

}  // namespace
}  // namespace tapegrad
