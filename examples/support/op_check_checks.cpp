#include "support/op_check_checks.hpp"

#include <cmath>
#include <limits>

#include <tapegrad/tapegrad.hpp>
#include "support/op_check_run.hpp"

namespace examples {

using namespace tapegrad;

const std::array<const char*, kCheckCount> kCheckNames = {
    "gradcheck", "accumulates", "nan_filled", "fresh_accum", "float_double", "second_backward", "fused"};

const char* status_name(CheckStatus s) {
  switch (s) {
    case CheckStatus::skip: return "skip";
    case CheckStatus::inconclusive: return "inconclusive";
    case CheckStatus::pass: return "pass";
    case CheckStatus::fail: return "fail";
  }
  return "?";
}

void merge_result(CheckResult& into, const CheckResult& one, const std::string& case_label) {
  into.compared += one.compared;
  const bool measured = one.status == CheckStatus::pass || one.status == CheckStatus::fail;
  if (measured && (one.worst > into.worst || std::isnan(one.worst))) into.worst = one.worst;
  if (one.status == CheckStatus::inconclusive && ++into.inconclusive_cases == 1 && into.status != CheckStatus::fail)
    into.detail = "compared nothing in case " + case_label + " (" + one.detail + ")";
  if (one.status == CheckStatus::fail && into.status != CheckStatus::fail)
    into.detail = case_label + ": " + one.detail;  // the first failing case
  else if (one.status == CheckStatus::skip && into.status == CheckStatus::skip && into.detail.empty())
    into.detail = one.detail;  // why it does not apply
  if (static_cast<int>(one.status) > static_cast<int>(into.status)) into.status = one.status;
}

namespace {

using namespace op_check_run;

// Round-off between two computations of the same gradient (fresh vs accumulating,
// G0 + g vs the op adding g into G0): a few ulp of the largest magnitude involved.
template <class T>
Tolerance roundoff() {
  return sizeof(T) == 4 ? Tolerance{1e-6, 1e-5} : Tolerance{1e-12, 1e-11};
}

template <class T>
CheckResult accumulates(OpFn<T> f, const std::vector<Tensor<T>>& in, const OpArgs& args, std::uint64_t seed) {
  const Run<T> plain = run(f, in, args, seed);
  std::vector<Tensor<T>> g0;
  for (std::size_t i = 0; i < in.size(); ++i) g0.push_back(cast<T>(upstream(to_shape(in[i].shape()), seed + 17 + i)));
  const Run<T> added = run(f, in, args, seed, &g0);
  CheckResult r;
  for (std::size_t i = 0; i < in.size(); ++i)
    compare(added.grads[i], Tensor<T>(g0[i] + plain.grads[i]), roundoff<T>(), r, "input " + std::to_string(i));
  return finish(r);
}

// The input gradient buffers a previous sweep filled with NaN, then the op's sweep.
template <class T>
CheckResult nan_filled(OpFn<T> f, const std::vector<Tensor<T>>& in, const OpArgs& args, std::uint64_t seed) {
  const Run<T> plain = run(f, in, args, seed);
  std::vector<Parameter<T>> ps;
  ps.reserve(in.size());
  for (const auto& x : in) ps.emplace_back(x);
  Tape<T> tape;
  std::vector<Var<T>> us;
  auto record_inputs = [&] {  // records 0..n-1 watch the parameters, n..2n-1 are u = x·1
    us.clear();
    std::vector<Var<T>> xs;
    for (auto& p : ps) xs.push_back(tape.watch(p));
    for (auto& x : xs) us.push_back(mul_scalar(x, T(1)));
  };
  record_inputs();
  for (auto& u : us) {  // d(u·NaN)/du = NaN in every element of u's gradient buffer
    const Tensor<T>& uv = tape.value(u);
    if (uv.size() == 0) continue;
    const Var<T> v = mul(u, tape.constant(Tensor<T>(xt::full_like(uv, std::numeric_limits<T>::quiet_NaN()))));
    tape.backward(v, Tensor<T>(xt::ones_like(uv)));
  }
  for (auto& p : ps) p.grad.fill(T(0));
  tape.clear();
  record_inputs();  // the same records again: their gradient buffers still hold the NaN
  CheckResult r;
  for (auto& u : us) {
    const Record<T>& rec = tape.record(u.id());
    if (rec.value.size() == 0) continue;  // nothing to fill, nothing to write
    if (rec.grad.shape() != rec.value.shape() || (rec.grad.size() && !std::isnan(*rec.grad.begin()))) {
      r.status = CheckStatus::inconclusive;
      r.detail = "could not pre-fill an input's gradient buffer with NaN";
      return r;
    }
  }
  const Var<T> out = f(tape, us, args);
  tape.backward(out, cast<T>(upstream(to_shape(tape.value(out).shape()), seed)));
  for (std::size_t i = 0; i < ps.size(); ++i) {
    std::size_t unwritten = 0;
    for (T g : ps[i].grad) unwritten += std::isnan(g);
    if (unwritten) {
      r.status = CheckStatus::fail;
      r.worst = std::numeric_limits<double>::infinity();
      r.detail = "input " + std::to_string(i) + ": " + std::to_string(unwritten) + " of " +
                 std::to_string(ps[i].grad.size()) + " gradient elements left unwritten (still NaN)";
      r.compared += ps[i].grad.size();
      return r;
    }
    compare(ps[i].grad, plain.grads[i], roundoff<T>(), r, "input " + std::to_string(i));
  }
  return finish(r);
}

// u feeds two applications of the op: y = f(u) + f(u), so du = 2g.
template <class T>
CheckResult fresh_accum(OpFn<T> f, const std::vector<Tensor<T>>& in, const OpArgs& args, std::uint64_t seed) {
  const Run<T> plain = run(f, in, args, seed);
  std::vector<Parameter<T>> ps;
  ps.reserve(in.size());
  for (const auto& x : in) ps.emplace_back(x);
  Tape<T> tape;
  std::vector<Var<T>> us;
  for (auto& p : ps) us.push_back(mul_scalar(tape.watch(p), T(1)));
  const Var<T> y = add(f(tape, us, args), f(tape, us, args));
  tape.backward(y, cast<T>(upstream(to_shape(tape.value(y).shape()), seed)));
  CheckResult r;
  for (std::size_t i = 0; i < ps.size(); ++i)
    compare(ps[i].grad, Tensor<T>(T(2) * plain.grads[i]), roundoff<T>(), r, "input " + std::to_string(i));
  return finish(r);
}

template <class T>
CheckResult second_backward(OpFn<T> f, const std::vector<Tensor<T>>& in, const OpArgs& args, std::uint64_t seed) {
  const Run<T> twice = run<T>(f, in, args, seed, nullptr, true);
  CheckResult r;
  for (std::size_t i = 0; i < in.size(); ++i)
    compare(twice.second[i], twice.grads[i], Tolerance{0, 0}, r, "input " + std::to_string(i));
  return finish(r);
}

// The contract checks run in double, or in float for a float-only entry.
template <class T>
void contract_checks(const OpEntry& e, OpFn<T> f, const OpCase& c, std::uint64_t seed, OpReport& rep) {
  const std::vector<Tensor<T>> in = cast_all<T>(c.inputs);
  merge_result(rep.checks[1], guarded([&] { return accumulates(f, in, c.args, seed); }), c.label);
  merge_result(rep.checks[2], guarded([&] { return nan_filled(f, in, c.args, seed); }), c.label);
  merge_result(rep.checks[3], guarded([&] { return fresh_accum(f, in, c.args, seed); }), c.label);
  merge_result(rep.checks[5], guarded([&] { return second_backward(f, in, c.args, seed); }), c.label);
  (void)e;
}

CheckResult skipped(const std::string& why) {
  CheckResult r;
  r.detail = why;
  return r;
}

}  // namespace

OpReport check_op(const OpEntry& e, const std::vector<OpEntry>& registry, const OpCheckSettings& settings) {
  OpReport rep;
  rep.op = e.name;
  if (!e.unavailable.empty()) {
    for (auto& c : rep.checks) c = skipped("unavailable here: " + e.unavailable);
    return rep;
  }
  const std::vector<OpCase> cases = e.cases(settings.seed, CaseStyle::smooth);
  rep.cases = cases.size();
  const OpEntry* kernel_ref = e.kernel_of.empty() ? nullptr : find_op(registry, e.kernel_of);
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const OpCase& c = cases[k];
    const std::uint64_t seed = settings.seed * 1000003 + 101 * k + 1;
    if (e.f64) {
      merge_result(rep.checks[0], guarded([&] { return gradcheck_case(e.f64, c, seed); }), c.label);
      contract_checks(e, e.f64, c, seed, rep);
    } else {
      merge_result(rep.checks[0], skipped("float only: no double to check against central differences"), c.label);
      contract_checks(e, e.f32, c, seed, rep);
    }
    const OpFn<double> d = e.f64 ? e.f64 : kernel_ref ? kernel_ref->f64 : nullptr;
    if (e.f32 && d)
      merge_result(rep.checks[4], guarded([&] { return float_vs_double(e.f32, d, c, seed); }), c.label);
    else
      merge_result(rep.checks[4], skipped("no float and double pair"), c.label);
  }
  if (!settings.fused) {
    rep.checks[kFusedCheck] = skipped("run with --fused");
  } else {
    const std::string& ref_name = !e.fused_reference.empty() ? e.fused_reference : e.kernel_of;
    const OpEntry* ref = ref_name.empty() ? nullptr : find_op(registry, ref_name);
    if (!ref) {
      rep.checks[kFusedCheck] = skipped(ref_name.empty() ? "not a fused op" : "reference " + ref_name + " not registered");
      if (!ref_name.empty()) rep.checks[kFusedCheck].status = CheckStatus::fail;
    } else {
      const std::vector<OpCase> kinky = e.cases(settings.seed, CaseStyle::kinky);
      for (std::size_t k = 0; k < kinky.size(); ++k)
        merge_result(rep.checks[kFusedCheck],
                     guarded([&] { return fused_vs_reference(e, *ref, kinky[k], settings.seed * 7919 + k); }),
                     kinky[k].label);
    }
  }
  return rep;
}

}  // namespace examples
