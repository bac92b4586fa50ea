// op_check (examples/op_check.cpp) and its checks (examples/support/op_check_checks.*):
// each check fails on an op broken the way it looks for (a wrong derivative, a
// backward that overwrites, one that leaves a fresh buffer half written, a float path
// that differs, a backward that changes between sweeps, a fused op whose reference
// disagrees) and passes on the correct op; nothing compared is inconclusive; then the
// built tool's table, --list, JSON, CSV, atomic files and exit statuses.
#include <gmock/gmock.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "support/json_reader.hpp"
#include "support/process.hpp"
#include "support/support.hpp"

#ifdef TAPEGRAD_OP_CHECK_PATH
#include "support/op_check_checks.hpp"
#include "support/op_check_report.hpp"
#endif

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::ProcessResult;

#ifdef TAPEGRAD_OP_CHECK_PATH
const char* const kTool = TAPEGRAD_OP_CHECK_PATH;
using examples::CheckStatus;

// Tape::push with or without the audit's replay argument.
template <class T, class B>
auto push_op(Tape<T>& t, const char* op, const Var<T>& x, B b, int) -> decltype(t.push(op, {x}, b, nullptr)) {
  return t.push(op, {x}, b, nullptr);
}
template <class T, class B>
auto push_op(Tape<T>& t, const char* op, const Var<T>& x, B b, long) -> decltype(t.push(op, {x}, b)) {
  return t.push(op, {x}, b);
}

enum class Fault { none, wrong_derivative, overwrites, half_fresh, float_differs, changes_per_sweep };
int g_sweeps = 0;  // changes_per_sweep's state: one more each backward

// y = 2x, with its backward broken as `F` says.
template <Fault F, class T>
Var<T> twice(Tape<T>&, const std::vector<Var<T>>& v, const OpArgs&) {
  Tape<T>& t = v[0].tape();
  Record<T>& r = push_op(t, "twice", v[0], +[](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* g = t.grad_buffer(r.inputs[0], fresh);
    if (!g) return;
    T k = F == Fault::wrong_derivative ? T(3) : T(2);
    if (F == Fault::changes_per_sweep) k = T(2 + (g_sweeps++ % 2));
    if (F == Fault::float_differs && sizeof(T) == 4) k = T(2.01);
    for (std::size_t i = 0; i < g->size(); ++i) {
      if (F == Fault::half_fresh && fresh && 2 * i >= g->size()) break;  // leaves the rest unwritten
      const T d = k * r.grad.data()[i];
      g->data()[i] = (fresh || F == Fault::overwrites) ? d : g->data()[i] + d;
    }
  }, 0);
  r.value = T(F == Fault::float_differs && sizeof(T) == 4 ? 2.01 : 2) * t.value(v[0]);
  return t.commit(r);
}

std::vector<OpCase> small_cases(std::uint64_t seed, CaseStyle) {
  OpRandom r(seed);
  return {{"(2, 3)", {r.uniform({2, 3}, -1, 1)}, {}}, {"(4)", {r.uniform({4}, -1, 1)}, {}}};
}
std::vector<OpCase> empty_cases(std::uint64_t, CaseStyle) {
  return {{"(0, 3)", {Tensor<double>(xt::zeros<double>(Shape{0, 3}))}, {}}};
}

template <Fault F>
OpEntry twice_entry(const std::string& name, OpCaseGenerator g = small_cases) {
  OpEntry e;
  e.name = name;
  e.cases = g;
  e.f32 = twice<F, float>;
  e.f64 = twice<F, double>;
  return e;
}

examples::OpReport check(const OpEntry& e, const std::vector<OpEntry>& reg = {}, bool fused = false) {
  examples::OpCheckSettings s;
  s.fused = fused;
  return examples::check_op(e, reg, s);
}

CheckStatus status(const examples::OpReport& r, const char* check) {
  for (std::size_t k = 0; k < examples::kCheckCount; ++k)
    if (std::string(examples::kCheckNames[k]) == check) return r.checks[k].status;
  ADD_FAILURE() << "no check " << check;
  return CheckStatus::skip;
}

TEST(OpCheckChecks, ACorrectOpPassesEveryCheck) {
  const examples::OpReport r = check(twice_entry<Fault::none>("twice"));
  EXPECT_EQ(r.cases, 2u);
  for (const char* c : {"gradcheck", "accumulates", "nan_filled", "fresh_accum", "float_double", "second_backward"}) {
    EXPECT_EQ(status(r, c), CheckStatus::pass) << c;
  }
  EXPECT_EQ(status(r, "fused"), CheckStatus::skip);
  EXPECT_EQ(r.checks[0].compared, 10u);  // 6 + 4 elements
  EXPECT_LT(r.checks[0].worst, 1);
  EXPECT_TRUE(examples::coverage_passed({r}));
}

TEST(OpCheckChecks, AWrongDerivativeFailsGradcheck) {
  const examples::OpReport r = check(twice_entry<Fault::wrong_derivative>("bad"));
  EXPECT_EQ(status(r, "gradcheck"), CheckStatus::fail);
  EXPECT_GT(r.checks[0].worst, 1e3);  // |3 − 2|·|g| against 1e-6 + 1e-5·|2g|
  EXPECT_THAT(r.checks[0].detail, HasSubstr("(2, 3): FAILED"));
  EXPECT_FALSE(examples::coverage_passed({r}));
}

TEST(OpCheckChecks, OverwritingFailsAccumulatesAndFreshAccum) {
  const examples::OpReport r = check(twice_entry<Fault::overwrites>("overwrites"));
  EXPECT_EQ(status(r, "gradcheck"), CheckStatus::pass);  // from a zero gradient, overwriting is adding
  EXPECT_EQ(status(r, "accumulates"), CheckStatus::fail);
  EXPECT_EQ(status(r, "fresh_accum"), CheckStatus::fail);
  EXPECT_EQ(status(r, "nan_filled"), CheckStatus::pass);
}

TEST(OpCheckChecks, AHalfWrittenFreshBufferFailsNanFilled) {
  const examples::OpReport r = check(twice_entry<Fault::half_fresh>("half"));
  EXPECT_EQ(status(r, "gradcheck"), CheckStatus::pass);  // a leaf's buffer is never fresh
  EXPECT_EQ(status(r, "accumulates"), CheckStatus::pass);
  EXPECT_EQ(status(r, "nan_filled"), CheckStatus::fail);
  EXPECT_THAT(r.checks[2].detail, HasSubstr("3 of 6 gradient elements left unwritten (still NaN)"));
}

TEST(OpCheckChecks, AFloatPathThatDiffersFailsFloatDouble) {
  const examples::OpReport r = check(twice_entry<Fault::float_differs>("float_differs"));
  EXPECT_EQ(status(r, "gradcheck"), CheckStatus::pass);
  EXPECT_EQ(status(r, "float_double"), CheckStatus::fail);
  EXPECT_GT(r.checks[4].worst, 10);  // 0.5% against 1e-4
}

TEST(OpCheckChecks, ABackwardThatChangesBetweenSweepsFailsSecondBackward) {
  g_sweeps = 0;
  const examples::OpReport r = check(twice_entry<Fault::changes_per_sweep>("changes"));
  EXPECT_EQ(status(r, "second_backward"), CheckStatus::fail);
  EXPECT_TRUE(std::isinf(r.checks[5].worst));  // bitwise: any difference
}

TEST(OpCheckChecks, FusedComparesWithTheNamedReference) {
  OpEntry good = twice_entry<Fault::none>("good"), ref = twice_entry<Fault::none>("ref");
  OpEntry bad = twice_entry<Fault::wrong_derivative>("bad");
  good.fused_reference = bad.fused_reference = "ref";
  const std::vector<OpEntry> reg = {good, bad, ref};
  EXPECT_EQ(status(check(good, reg, true), "fused"), CheckStatus::pass);
  const examples::OpReport r = check(bad, reg, true);
  EXPECT_EQ(status(r, "fused"), CheckStatus::fail);
  EXPECT_THAT(r.checks[examples::kFusedCheck].detail, HasSubstr("DIFFER"));
  // without --fused the column is skipped; a missing reference fails
  EXPECT_EQ(status(check(bad, reg, false), "fused"), CheckStatus::skip);
  OpEntry orphan = good;
  orphan.fused_reference = "nowhere";
  EXPECT_EQ(status(check(orphan, reg, true), "fused"), CheckStatus::fail);
}

TEST(OpCheckChecks, NothingComparedIsInconclusiveAndFailsTheRun) {
  const examples::OpReport r = check(twice_entry<Fault::none>("empty", empty_cases));
  EXPECT_EQ(status(r, "gradcheck"), CheckStatus::inconclusive);
  EXPECT_EQ(status(r, "accumulates"), CheckStatus::inconclusive);
  EXPECT_EQ(r.checks[0].inconclusive_cases, 1u);
  EXPECT_EQ(r.checks[0].detail, "compared nothing in case (0, 3) (no elements)");
  EXPECT_FALSE(examples::coverage_passed({r}));
  EXPECT_THAT(examples::coverage_table({r}, false), HasSubstr("inconcl"));
}

TEST(OpCheckChecks, MergeRule) {
  using examples::CheckResult;
  CheckResult acc;
  examples::merge_result(acc, CheckResult{CheckStatus::skip, 0, 0, "n/a"}, "a");
  EXPECT_EQ(acc.status, CheckStatus::skip);
  examples::merge_result(acc, CheckResult{CheckStatus::inconclusive, 0, 0, ""}, "b");
  EXPECT_EQ(acc.status, CheckStatus::inconclusive);
  examples::merge_result(acc, CheckResult{CheckStatus::pass, 0.5, 4, ""}, "c");
  EXPECT_EQ(acc.status, CheckStatus::pass);
  examples::merge_result(acc, CheckResult{CheckStatus::fail, 2.0, 3, "element 1"}, "d");
  examples::merge_result(acc, CheckResult{CheckStatus::pass, 0.1, 2, ""}, "e");
  EXPECT_EQ(acc.status, CheckStatus::fail);
  EXPECT_EQ(acc.worst, 2.0);
  EXPECT_EQ(acc.compared, 9u);
  EXPECT_EQ(acc.detail, "d: element 1");
}

class OpCheckTool : public testing::ToolTest {
 protected:
  ProcessResult run(const std::vector<std::string>& args) const { return ToolTest::run(kTool, args); }
};

TEST_F(OpCheckTool, HelpAndList) {
  const ProcessResult h = run({"--help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_THAT(h.out, HasSubstr("--fused"));
  EXPECT_THAT(h.out, HasSubstr("--json"));
  const ProcessResult l = run({"--list"});
  EXPECT_EQ(l.code, 0) << l.err;
  EXPECT_THAT(l.out, HasSubstr("\nrelu  arity 1, kinks"));
  EXPECT_THAT(l.out, HasSubstr("multiclass_hinge.cs  arity 1, kinks, ties, reference multiclass_hinge_composed.cs"));
  EXPECT_THAT(l.out, HasSubstr("kernel of multiclass_hinge_reference.cs"));
  EXPECT_THAT(l.out, HasSubstr("one_hot  not differentiable"));
}

TEST_F(OpCheckTool, UnknownOpsAreUsageErrors) {
  testing::expect_one_line_error(run({"--op", "relu,frobnicate"}), 2, "op_check: unknown op 'frobnicate'");
  testing::expect_one_line_error(run({"--op", "one_hot"}), 2, "op_check: op 'one_hot' has no gradient");
  testing::expect_one_line_error(run({"--op", ","}), 2, "op_check: --op needs");
  testing::expect_one_line_error(run({"--seed", "-1"}), 2, "op_check:");
  testing::expect_one_line_error(run({"--bogus"}), 2, "op_check:");
}

TEST_F(OpCheckTool, TableJsonAndCsv) {
  const ProcessResult r =
      run({"--op", "relu,multiclass_hinge.cs", "--fused", "--json", "r.json", "--csv", "r.csv", "--seed", "3"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr("op                  cases gradcheck"));
  EXPECT_THAT(r.out, HasSubstr("second_backward fused"));
  EXPECT_THAT(r.out, HasSubstr("\nrelu                    5 pass "));
  EXPECT_THAT(r.out, HasSubstr("2 ops: 13 pass, 0 fail, 0 inconclusive, 1 skip"));
  const testing::Json j = testing::JsonReader(testing::read_file(path("r.json"))).parse();
  EXPECT_EQ(j.at("tool").str, "op_check");
  EXPECT_EQ(j.at("seed").num, 3);
  EXPECT_EQ(j.at("passed").kind, testing::Json::boolean);
  EXPECT_EQ(j.at("passed").num, 1);
  const testing::Json& hinge = j.at("ops").at("multiclass_hinge.cs");
  EXPECT_EQ(hinge.at("cases").num, 15);
  EXPECT_EQ(hinge.at("fused").at("status").str, "pass");
  EXPECT_GT(hinge.at("gradcheck").at("compared").num, 100);
  EXPECT_EQ(j.at("ops").at("relu").at("fused").at("status").str, "skip");
  const std::string csv = testing::read_file(path("r.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * 7);
  EXPECT_THAT(csv, HasSubstr("op,check,status,worst,compared,detail\nrelu,gradcheck,pass,"));
  EXPECT_THAT(csv, HasSubstr("relu,fused,skip,0,0,not a fused op\n"));
  EXPECT_THAT(csv, HasSubstr("relu,gradcheck,pass,"));
  EXPECT_THAT(csv, HasSubstr(",14,\"compared nothing in case (0, 3) (no elements)\"\n"));
  // the same seed gives the same report
  ASSERT_EQ(run({"--op", "relu,multiclass_hinge.cs", "--fused", "--json", "s.json", "--seed", "3"}).code, 0);
  EXPECT_EQ(testing::read_file(path("s.json")), testing::read_file(path("r.json")));
}

TEST_F(OpCheckTool, AFileThatCannotBeWrittenIsExitOneAndLeavesNothing) {
  const ProcessResult r = run({"--op", "exp", "--json", "missing/dir/r.json", "--csv", "r.csv"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("op_check: "));
  EXPECT_FALSE(std::filesystem::exists(path("missing")));
  std::size_t files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir_)) files += f.path().filename() != ".";
  EXPECT_EQ(files, 0u) << "a partial or temporary file was left";
}

TEST_F(OpCheckTool, EveryRegisteredOpPasses) {
  const ProcessResult r = run({"--fused"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(" 0 fail, 0 inconclusive,"));
}
#endif

}  // namespace
}  // namespace tapegrad
