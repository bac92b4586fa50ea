#include <tapegrad/core/audit.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <unordered_set>

namespace tapegrad {

namespace {

// The replay of one record on a double tape at inputs xs (one tensor per distinct
// input; slot[k] names input k's), with its branch signature.
template <class T>
class Replayer {
 public:
  Replayer(const Record<T>& r, std::vector<Tensor<double>>& xs, const std::vector<std::size_t>& slot)
      : r_(r), xs_(xs), slot_(slot), vars_(slot.size()) {}

  // y = replay(xs) (copied out of the tape); returns the branch signature.
  std::uint64_t run(Tensor<double>& y) {
    tape_.clear();
    tape_.set_branch_tracking(true);
    NoGrad<double> no_grad(tape_);
    std::vector<Var<double>> distinct;
    for (const Tensor<double>& x : xs_) distinct.push_back(tape_.borrow_unchecked(x));
    for (std::size_t k = 0; k < slot_.size(); ++k) vars_[k] = distinct[slot_[k]];
    Var<double> out;
    try {
      out = r_.replay(r_, tape_, vars_.data());
    } catch (const Error& e) {
      fail("audit_step: the replay of record #", r_.id, " (", r_.op, ") failed: ", e.what());
    }
    const Tensor<double>& v = tape_.value(out);
    if (v.shape() != r_.value.shape())
      fail("audit_step: the replay of record #", r_.id, " (", r_.op, ") returned shape ", shape_str(v.shape()),
           ", its value has shape ", shape_str(r_.value.shape()));
    y = v;
    const std::uint64_t branches = tape_.branch_signature();
    tape_.set_branch_tracking(false);
    return branches;
  }

 private:
  const Record<T>& r_;
  std::vector<Tensor<double>>& xs_;
  const std::vector<std::size_t>& slot_;
  std::vector<Var<double>> vars_;
  Tape<double> tape_;
};

// `count` distinct flat indices below n (all of them when n <= count), sorted:
// Floyd's algorithm, O(count) whatever n.
std::vector<std::size_t> sample_indices(std::size_t n, std::size_t count, std::mt19937_64& rng) {
  std::vector<std::size_t> out;
  if (n <= count) {
    for (std::size_t k = 0; k < n; ++k) out.push_back(k);
    return out;
  }
  std::unordered_set<std::size_t> chosen;
  for (std::size_t j = n - count; j < n; ++j) {
    const std::size_t t = std::uniform_int_distribution<std::size_t>(0, j)(rng);
    chosen.insert(chosen.count(t) ? j : t);
  }
  out.assign(chosen.begin(), chosen.end());
  std::sort(out.begin(), out.end());
  return out;
}

template <class T>
Tensor<double> to_double(const Tensor<T>& t) {
  Tensor<double> d = Tensor<double>::from_shape(t.shape());
  std::copy(t.begin(), t.end(), d.begin());
  return d;
}

struct Element {
  std::size_t index;
  double analytic, numeric;
  double terms;  // A = Σ_j |g_j·∂y_j/∂x|: the size of what the gradient sums
};

template <class T>
AuditRow audit_record(Tape<T>& tape, std::uint32_t id, const AuditOptions& o) {
  const Record<T>& r = tape.record(id);
  AuditRow row;
  row.id = id;
  row.op = r.op;
  for (std::size_t k = 0; k < r.n_inputs; ++k) row.inputs.push_back(to_shape(tape.value_of(r.inputs[k]).shape()));
  row.output = to_shape(r.value.shape());
  if (!r.replay) {
    row.note = "no replay";
    return row;
  }
  std::vector<Tensor<T>> analytic;
  tape.backward_contribution(id, analytic);

  // distinct inputs (x·x is one input, perturbed once, with both roles' gradient)
  std::vector<std::uint32_t> ids;
  std::vector<std::size_t> slot(r.n_inputs), first;
  for (std::size_t k = 0; k < r.n_inputs; ++k) {
    const auto at = std::find(ids.begin(), ids.end(), r.inputs[k]);
    slot[k] = static_cast<std::size_t>(at - ids.begin());
    if (at == ids.end()) {
      ids.push_back(r.inputs[k]);
      first.push_back(k);
    }
  }
  std::vector<Tensor<double>> xs;
  for (std::uint32_t in : ids) xs.push_back(to_double(tape.value_of(in)));
  const Tensor<double> g = to_double(r.grad);
  Replayer<T> replay(r, xs, slot);
  Tensor<double> plus, minus;
  bool have_base = false;
  std::uint64_t base = 0;
  const double tiny = std::numeric_limits<double>::min();
  const double exact_rel = 4 * static_cast<double>(std::numeric_limits<T>::epsilon());
  bool failed = false;

  for (std::size_t u = 0; u < ids.size(); ++u) {
    if (!tape.needs_grad(ids[u]) || xs[u].size() == 0) continue;
    if (!have_base) {
      base = replay.run(plus);
      have_base = true;
    }
    const Tensor<T>& a_in = analytic[first[u]];
    std::mt19937_64 rng(o.seed ^ (0x9E3779B97F4A7C15ull * (std::uint64_t(id) + 1)) ^ (std::uint64_t(u) << 48));
    std::vector<Element> elements;
    double scale = 0;  // S: the largest |a| (all of them) or |n| (those checked)
    for (const T a : a_in) scale = std::max(scale, std::abs(static_cast<double>(a)));
    for (const std::size_t e : sample_indices(xs[u].size(), o.samples, rng)) {
      double& x = xs[u].data()[e];
      const double x0 = x, h = o.step * std::max(1.0, std::abs(x0));
      const double xp = x0 + h, xm = x0 - h;
      x = xp;
      const std::uint64_t bp = replay.run(plus);
      x = xm;
      const std::uint64_t bm = replay.run(minus);
      x = x0;
      if (bp != base || bm != base) {
        ++row.skipped_kinks;
        continue;
      }
      double dl = 0, terms = 0;  // Σ g·(y+ − y−) and Σ |g·(y+ − y−)|, output by output
      for (std::size_t j = 0; j < g.size(); ++j) {
        const double d = plus.data()[j] - minus.data()[j];
        if (d != 0) {
          dl += g.data()[j] * d;
          terms += std::abs(g.data()[j] * d);
        }
      }
      const double n = dl / (xp - xm);
      elements.push_back({e, static_cast<double>(a_in.data()[e]), n, terms / (xp - xm)});
      if (std::isfinite(n)) scale = std::max(scale, std::abs(n));
    }
    for (const Element& el : elements) {
      const double diff = std::abs(el.analytic - el.numeric);
      const double floor = o.atol * std::max(el.terms, scale);
      const double rel = diff / std::max({std::abs(el.analytic), std::abs(el.numeric), floor, tiny});
      ++row.checked;
      if (!(diff <= floor + o.rtol * std::abs(el.numeric))) failed = true;  // NaN fails
      if (std::isnan(diff) || diff > row.max_abs_diff) row.max_abs_diff = diff;
      // the worst element: the largest relative error; a NaN is worse than any number
      if (row.checked == 1 || (!std::isnan(row.max_rel_error) && (std::isnan(rel) || rel > row.max_rel_error))) {
        row.max_rel_error = rel;
        row.worst_input = first[u];
        row.worst_index = el.index;
        row.worst_analytic = el.analytic;
        row.worst_numeric = el.numeric;
      }
    }
  }
  if (failed)
    row.verdict = AuditVerdict::fail;
  else if (row.checked == 0)
    row.note = row.skipped_kinks ? "every element at a kink" : "no element to check";
  else
    row.verdict = row.max_rel_error <= exact_rel ? AuditVerdict::exact : AuditVerdict::approx;
  return row;
}

std::string join_shapes(const AuditRow& row) {
  std::string s;
  for (std::size_t k = 0; k < row.inputs.size(); ++k) s += (k ? " " : "") + shape_str(row.inputs[k]);
  return s + " -> " + shape_str(row.output);
}

}  // namespace

const char* audit_verdict_name(AuditVerdict v) {
  switch (v) {
    case AuditVerdict::exact: return "exact";
    case AuditVerdict::approx: return "approx";
    case AuditVerdict::fail: return "FAIL";
    case AuditVerdict::inconclusive: return "inconclusive";
  }
  return "?";
}

std::size_t AuditReport::count(AuditVerdict v) const {
  return static_cast<std::size_t>(
      std::count_if(rows.begin(), rows.end(), [v](const AuditRow& r) { return r.verdict == v; }));
}

std::string AuditReport::table() const {
  std::size_t op_w = 2, shape_w = 6;
  for (const AuditRow& r : rows) {
    op_w = std::max(op_w, r.op.size());
    shape_w = std::max(shape_w, join_shapes(r).size());
  }
  char line[512];
  std::string out;
  std::snprintf(line, sizeof line, "%4s  %-*s  %-*s  %7s  %7s  %11s  %9s  %s\n", "id", int(op_w), "op", int(shape_w),
                "shapes", "checked", "skipped", "max rel err", "maxdiff", "verdict");
  out += line;
  for (const AuditRow& r : rows) {
    std::snprintf(line, sizeof line, "%4u  %-*s  %-*s  %7zu  %7zu  %11.2e  %9.2e  %s%s%s\n", r.id, int(op_w),
                  r.op.c_str(), int(shape_w), join_shapes(r).c_str(), r.checked, r.skipped_kinks, r.max_rel_error,
                  r.max_abs_diff, audit_verdict_name(r.verdict), r.note.empty() ? "" : " (",
                  r.note.empty() ? "" : (r.note + ")").c_str());
    out += line;
    if (r.verdict == AuditVerdict::fail) {
      std::snprintf(line, sizeof line, "      worst: input %zu, element %zu: analytic %.9g, numeric %.9g\n",
                    r.worst_input, r.worst_index, r.worst_analytic, r.worst_numeric);
      out += line;
    }
  }
  std::snprintf(line, sizeof line,
                "%zu records: %zu exact, %zu approx, %zu FAIL, %zu inconclusive (%zu elements per input, "
                "h = %g·max(1, |x|), pass: |a - n| <= %g·max(A, S) + %g·|n|)\n",
                rows.size(), count(AuditVerdict::exact), count(AuditVerdict::approx), count(AuditVerdict::fail),
                count(AuditVerdict::inconclusive), options.samples, options.step, options.atol, options.rtol);
  out += line;
  return out;
}

template <class T>
AuditReport audit_step(Tape<T>& tape, const AuditOptions& options) {
  if (options.samples == 0) fail("audit_step: samples must be at least 1");
  if (!(options.step > 0) || !std::isfinite(options.step))
    fail("audit_step: step must be positive and finite, got ", options.step);
  if (!(options.atol >= 0) || !(options.rtol >= 0))
    fail("audit_step: tolerances must be non-negative, got atol ", options.atol, ", rtol ", options.rtol);
  AuditReport report;
  report.options = options;
  for (std::uint32_t id = 0; id < tape.size(); ++id) {
    const Record<T>& r = tape.record(id);
    if (r.backward && r.grad_live) report.rows.push_back(audit_record(tape, id, options));
  }
  if (report.rows.empty())
    fail("audit_step: no record of the tape's ", tape.size(), " holds a gradient (call tape.backward(loss) first)");
  return report;
}

template AuditReport audit_step(Tape<float>&, const AuditOptions&);
template AuditReport audit_step(Tape<double>&, const AuditOptions&);

}  // namespace tapegrad
