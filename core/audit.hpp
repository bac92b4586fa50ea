#pragma once
// The audit of one recorded training step: after tape.backward(loss), every record
// the loss depends on (leaves aside) has its vector-Jacobian product checked
// numerically, node by node, on the user's own model — Karpathy's "exact /
// approximate / maxdiff" printout, for every op of a real step.
//
// For a record r with upstream gradient g (r's gradient from the sweep), input x_k
// and output y = op(x_1, …):
// - analytic: what r's own backward added to x_k's gradient (the real backward in
//   the tape's dtype, run alone on zeroed buffers that are then restored bit for
//   bit: Tape::backward_contribution), i.e. (∂y/∂x_k)ᵀ·g;
// - numeric: central differences, in double, of L(x) = Σ g·replay(x), where replay
//   is the record's op re-recorded on a double tape (Record::replay) at the
//   record's inputs converted to double, on a seeded sample of each input's
//   elements: n = Σ_j g_j·(y_j(x + h) − y_j(x − h)) / (2h), h = step·max(1, |x|)
//   (the difference is taken output by output, so outputs the element does not
//   reach cancel exactly instead of drowning it in round-off);
// - kink-aware: an element whose ±h step changes any branch the replay notes
//   (relu, max, max_pool2d, the hinge's margins and ties; Tape::note_branch) is
//   skipped and counted.
// Each checked element passes when |a − n| <= atol·max(A, S) + rtol·|n|, where
// A = Σ_j |g_j·∂y_j/∂x| (by the same differences) is the size of the terms the
// gradient sums — a conv bias ahead of batch norm has a true gradient of 0 made of
// terms of 1e-3, and float leaves 1e-8 of them — and S the largest |analytic| or
// |numeric| of that input, the gradient's own scale — a saturated tanh's tiny
// gradient carries float's absolute error, not a relative one. Both scale with the
// loss, so the verdict does not depend on it. The relative error is
// |a − n| / max(|a|, |n|, atol·max(A, S)). A record's verdict: FAIL if any element
// fails; inconclusive if none was checked (all at kinks, or the record has no
// replay) — never passed; exact if every relative error is at most 4ε of the tape's
// dtype (float round-off of the analytic alone); approx otherwise.
// Nothing the caller sees changes: the parameters' gradients, every record's
// gradient and the tape are as backward left them, and the step carries on.
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

struct AuditOptions {
  std::size_t samples = 8;  // elements checked per input of each record (all of a smaller input)
  std::uint64_t seed = 0;   // which elements
  double step = 1e-5;       // h, relative: x ± step·max(1, |x|)
  // Defaults suited to float: a float backward's sums over thousands of terms carry
  // round-off of 1e-5 relative and more where they cancel.
  double atol = 1e-3;  // times max(A, S), see above
  double rtol = 1e-2;
};

enum class AuditVerdict { exact, approx, fail, inconclusive };
const char* audit_verdict_name(AuditVerdict v);  // "exact", "approx", "FAIL", "inconclusive"

struct AuditRow {
  std::uint32_t id = 0;  // the record's position on the tape
  std::string op;
  std::vector<Shape> inputs;  // the shapes of its inputs, in order
  Shape output;
  std::size_t checked = 0;        // elements compared, over all inputs
  std::size_t skipped_kinks = 0;  // elements whose ±h step changed a branch
  double max_abs_diff = 0;        // max |a − n| (Karpathy's maxdiff)
  double max_rel_error = 0;       // max |a − n| / max(|a|, |n|, atol·max(A, S))
  // The worst element (largest relative error): which input, its flat index, a and n.
  std::size_t worst_input = 0, worst_index = 0;
  double worst_analytic = 0, worst_numeric = 0;
  AuditVerdict verdict = AuditVerdict::inconclusive;
  std::string note;  // why inconclusive ("no replay", "every element at a kink")
};

struct AuditReport {
  AuditOptions options;
  std::vector<AuditRow> rows;  // one per audited record, in tape order
  std::size_t count(AuditVerdict v) const;
  bool passed() const { return count(AuditVerdict::fail) == 0; }  // no FAIL (inconclusive rows allowed)
  // The printout: a header line, one line per record (id, op, shapes, checked,
  // skipped, max relative error, maxdiff, verdict) and a summary line.
  std::string table() const;
};

// Audits the records of `tape` after tape.backward(loss). The tape is taken
// non-const because each record's backward runs once more (on set-aside buffers),
// but everything is restored exactly. Errors (naming audit_step): no backward has
// run on the tape (no record holds a gradient); samples = 0; step not positive and
// finite; atol or rtol negative or NaN; a replay that fails or returns another shape
// than its record's value.
template <class T>
AuditReport audit_step(Tape<T>& tape, const AuditOptions& options = {});

extern template AuditReport audit_step(Tape<float>&, const AuditOptions&);
extern template AuditReport audit_step(Tape<double>&, const AuditOptions&);

}  // namespace tapegrad
