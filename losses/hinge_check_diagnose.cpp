// Why a candidate hinge gradient is wrong: a scale factor, then whole-gradient
// models of the usual slips (margins <= 0 counted, a wrong true-class entry), alone
// or together and times the same factors, then the worst entries. Also describe(),
// the report as text. The set of right gradients is built in losses/hinge_check.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <tapegrad/losses/hinge_check.hpp>
#include <tapegrad/losses/hinge_check_impl.hpp>

namespace tapegrad {

const char* hinge_check_cause_name(HingeCheckCause cause) {
  switch (cause) {
    case HingeCheckCause::shape: return "shape";
    case HingeCheckCause::transposed: return "transposed";
    case HingeCheckCause::scale: return "scale";
    case HingeCheckCause::unclamped_margins: return "unclamped-margins";
    case HingeCheckCause::true_class_sign: return "true-class-sign";
    case HingeCheckCause::true_class_count: return "true-class-count";
    case HingeCheckCause::true_class_missing: return "true-class-missing";
    case HingeCheckCause::other: return "other";
  }
  return "unknown";
}

namespace hinge_check_impl {

namespace {

std::string num(double v) {
  if (v == 0) v = 0;  // no "-0"
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

struct Factor {
  double k;
  std::string why;
};

// The factors a slip typically multiplies the whole gradient by, relative to right.
std::vector<Factor> factors(const Subdifferential& s) {
  const double n = static_cast<double>(s.n), c = static_cast<double>(s.c);
  const bool mean = s.options.reduction == Reduction::mean;
  const std::string ns = "N = " + num(n), cs = "C = " + num(c);
  std::vector<Factor> all;
  if (mean) all.push_back({n, "a missing 1/N (" + ns + "): the gradient of the sum over the rows, but the loss is their mean"});
  all.push_back({1 / n, mean ? "an extra 1/N (" + ns + "): divided by N twice"
                             : "1/N (" + ns + "): the gradient of the mean, but the loss is the sum"});
  all.push_back({1 / c, "1/C (" + cs + "): a mean over all N*C entries, as PyTorch's MultiMarginLoss divides each row by C"});
  if (!mean) all.push_back({1 / (n * c), "1/(N*C) (" + ns + ", " + cs + "): a mean over all N*C entries, but the loss is the sum"});
  all.push_back({-1, "-1: the sign is flipped (this is minus the gradient, the descent direction)"});
  all.push_back({2, "2: a factor 2 too many"});
  all.push_back({0.5, "1/2: a factor 2 missing"});
  std::vector<Factor> unique;  // N = C or N = 2 repeat a value: the first name stays
  for (const Factor& f : all)
    if (f.k != 1 && std::none_of(unique.begin(), unique.end(), [&](const Factor& u) { return u.k == f.k; }))
      unique.push_back(f);
  return unique;
}

enum class WrongRule { right, unclamped };
enum class TrueRule { right, sign, one, all, zero };

// dL/dscores with the slips of (w, t), tapegrad's convention at kinks.
Tensor<double> model(const Subdifferential& s, WrongRule w, TrueRule t) {
  Tensor<double> g = gradient_at(s, convention(s));
  const bool p1 = s.options.p == 1, ww = s.options.kind == HingeKind::weston_watkins;
  for (std::size_t i = 0; i < s.n; ++i) {
    const std::size_t y = s.label[i];
    const double c = s.factor[i];
    if (w == WrongRule::unclamped && s.c > 1) {  // every margin counted, ≤ 0 included
      double top = -INFINITY;
      std::size_t ties = 0;
      for (std::size_t j = 0; j < s.c; ++j)
        if (j != y) top = std::max(top, s.margin(i, j));
      for (std::size_t j = 0; j < s.c; ++j) ties += j != y && s.margin(i, j) == top;
      for (std::size_t j = 0; j < s.c; ++j) {
        if (j == y) continue;
        const double z = s.margin(i, j);
        if (ww) g(i, j) = c * (p1 ? 1.0 : 2 * z);
        else if (top <= 0) g(i, j) = z == top ? c * (p1 ? 1.0 : 2 * z) / static_cast<double>(ties) : 0.0;
      }
    }
    double sigma = 0, count = 0;
    for (std::size_t j = 0; j < s.c; ++j)
      if (j != y) sigma += g(i, j), count += g(i, j) != 0;
    switch (t) {
      case TrueRule::right: g(i, y) = -sigma; break;
      case TrueRule::sign: g(i, y) = sigma; break;
      case TrueRule::one: g(i, y) = count > 0 ? -c : 0.0; break;
      case TrueRule::all: g(i, y) = -c * static_cast<double>(s.c - 1); break;
      case TrueRule::zero: g(i, y) = 0; break;
    }
  }
  return g;
}

// Up to 5 entries where `a` and `b` differ most: got from target, expected from nearest.
std::vector<HingeCheckEntry> differing(const Tensor<double>& a, const Tensor<double>& b, const Tensor<double>& target,
                                       const Tensor<double>& nearest, std::size_t* count) {
  std::vector<std::size_t> idx;
  for (std::size_t e = 0; e < a.size(); ++e)
    if (std::abs(a.data()[e] - b.data()[e]) > 1e-12 * (std::abs(a.data()[e]) + std::abs(b.data()[e])) + 1e-300)
      idx.push_back(e);
  if (count) *count = idx.size();
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t p, std::size_t q) {
    return std::abs(a.data()[p] - b.data()[p]) > std::abs(a.data()[q] - b.data()[q]);
  });
  std::vector<HingeCheckEntry> out;
  const std::size_t cols = a.shape()[1];
  for (std::size_t k = 0; k < idx.size() && k < 5; ++k)
    out.push_back({idx[k] / cols, idx[k] % cols, target.data()[idx[k]], nearest.data()[idx[k]]});
  return out;
}

HingeCheckFinding finding(HingeCheckCause cause, std::string what) {
  HingeCheckFinding f;
  f.cause = cause;
  f.what = std::move(what);
  return f;
}

// The findings for a matched model (w, t) times k.
std::vector<HingeCheckFinding> explain(const Subdifferential& s, const Space& sp, WrongRule w, TrueRule t,
                                       const Factor& k, const Tensor<double>& target, const Tensor<double>& nearest) {
  std::vector<HingeCheckFinding> out;
  const Tensor<double> right = model(s, WrongRule::right, TrueRule::right);
  if (k.k != 1) {
    HingeCheckFinding f = finding(HingeCheckCause::scale, "every entry is " + num(k.k) + " times a right one: " + k.why);
    f.factor = k.k;
    std::size_t count = 0;
    f.entries = differing(target, sp.map(right), target, nearest, nullptr);
    for (double v : right) count += v != 0;
    f.count = count;
    out.push_back(f);
  }
  if (w == WrongRule::unclamped) {
    const Tensor<double> m = model(s, w, TrueRule::right);
    std::size_t count = 0, ei = 0, ej = 0;
    for (std::size_t i = 0; i < s.n; ++i)
      for (std::size_t j = 0; j < s.c; ++j)
        if (j != s.label[i] && m(i, j) != right(i, j) && count++ == 0) ei = i, ej = j;
    HingeCheckFinding f = finding(HingeCheckCause::unclamped_margins,
                                  num(static_cast<double>(count)) + " margins <= 0 are counted as violations (e.g. row " +
                                      num(static_cast<double>(ei)) + ", class " + num(static_cast<double>(ej)) +
                                      ": margin " + num(s.margin(ei, ej)) +
                                      "): max(0, .) is missing, and a term whose margin is <= 0 adds no loss and "
                                      "no gradient");
    f.factor = k.k;
    f.entries = differing(sp.map(m), sp.map(right), target, nearest, nullptr);
    f.count = count;
    out.push_back(f);
  }
  if (t != TrueRule::right) {
    const Tensor<double> a = model(s, w, t), b = model(s, w, TrueRule::right);
    std::size_t rows = 0;
    for (std::size_t i = 0; i < s.n; ++i) rows += a(i, s.label[i]) != b(i, s.label[i]);
    const std::string r = num(static_cast<double>(rows)) + " rows: ";
    const std::string rule = "ds_y = -(the sum of the row's other entries)";
    HingeCheckFinding f =
        t == TrueRule::sign  ? finding(HingeCheckCause::true_class_sign,
                                       "the true-class entry has the wrong sign in " + r + rule +
                                           " (raising the true score lowers the loss)")
        : t == TrueRule::one ? finding(HingeCheckCause::true_class_count,
                                       "the true-class entry counts one violation per row in " + r + rule +
                                           ", minus c_i times the number of margins > 0")
        : t == TrueRule::all ? finding(HingeCheckCause::true_class_count,
                                       "the true-class entry counts all C - 1 = " + num(static_cast<double>(s.c - 1)) +
                                           " wrong classes in " + r + rule + ", only the margins > 0 count")
                             : finding(HingeCheckCause::true_class_missing, "the true-class entry is 0 in " + r + rule);
    f.factor = k.k;
    f.entries = differing(sp.map(a), sp.map(b), target, nearest, nullptr);
    f.count = rows;
    out.push_back(f);
  }
  return out;
}

}  // namespace

std::vector<HingeCheckFinding> diagnose(const Subdifferential& s, const Space& sp, const Tensor<double>& target,
                                        const Tensor<double>& nearest, HingeCheckTolerance tol) {
  const std::vector<Factor> named = factors(s);
  // 1. the whole gradient scaled: target / k is right (kinks allowed)
  const Tensor<double> right = sp.map(model(s, WrongRule::right, TrueRule::right));
  std::vector<Factor> scales = named;
  double rr = 0, tr = 0;
  for (std::size_t e = 0; e < right.size(); ++e) rr += right.data()[e] * right.data()[e], tr += target.data()[e] * right.data()[e];
  if (rr > 0 && std::isfinite(tr / rr) && tr != 0) scales.push_back({tr / rr, "a factor no usual slip gives"});
  for (const Factor& k : scales) {
    if (std::abs(k.k - 1) < 1e-9) continue;
    const HingeCheckTolerance kt{tol.atol / std::abs(k.k), tol.rtol};
    if (in_subdifferential(s, sp, target / k.k, kt))
      return explain(s, sp, WrongRule::right, TrueRule::right, k, target, nearest);
  }
  // 2. the slips' models, alone and together, times 1 or a named factor
  const bool ww1 = s.options.kind == HingeKind::weston_watkins && s.options.p == 1;
  std::vector<Factor> ks{{1, ""}};
  ks.insert(ks.end(), named.begin(), named.end());
  for (const Factor& k : ks)
    for (WrongRule w : {WrongRule::right, WrongRule::unclamped})
      for (TrueRule t : {TrueRule::right, TrueRule::sign, TrueRule::one, TrueRule::all, TrueRule::zero}) {
        if (w == WrongRule::right && t == TrueRule::right) continue;
        if (!ww1 && (t == TrueRule::one || t == TrueRule::all)) continue;
        const Tensor<double> m = sp.map(model(s, w, t));
        if (compare(m, right, {0, 0}).ok()) continue;  // no different from right here
        if (compare(target, m * k.k, tol).ok()) return explain(s, sp, w, t, k, target, nearest);
      }
  // 3. nothing matched: the worst entries against the nearest right gradient
  HingeCheckFinding f = finding(HingeCheckCause::other, "");
  std::vector<std::size_t> idx;
  for (std::size_t e = 0; e < target.size(); ++e)
    if (!(std::abs(target.data()[e] - nearest.data()[e]) <= tol.atol + tol.rtol * std::abs(nearest.data()[e])))
      idx.push_back(e);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t p, std::size_t q) {
    return std::abs(target.data()[p] - nearest.data()[p]) > std::abs(target.data()[q] - nearest.data()[q]);
  });
  f.count = idx.size();
  f.what = num(static_cast<double>(idx.size())) + " entries match none of the usual slips; the worst, against the "
           "nearest right gradient:";
  const std::size_t cols = target.shape()[1];
  for (std::size_t k = 0; k < idx.size() && k < 5; ++k)
    f.entries.push_back({idx[k] / cols, idx[k] % cols, target.data()[idx[k]], nearest.data()[idx[k]]});
  return {f};
}

}  // namespace hinge_check_impl

std::string describe(const HingeCheckReport& r) {
  using hinge_check_impl::num;
  const std::string name = r.wrt_weights ? "dL/dW" : "dL/dscores";
  const std::string tol = "atol " + num(r.tolerance.atol) + " + rtol " + num(r.tolerance.rtol);
  std::string out;
  if (r.right)
    out = "right: all " + num(static_cast<double>(r.checked)) + " entries of " + name + " " +
          shape_str(r.expected_shape) + " are within " + tol + " of a valid gradient\n";
  else if (r.checked == 0 || r.wrong == 0)
    out = "wrong: " + name + " must have shape " + shape_str(r.expected_shape) + ", got " + shape_str(r.got_shape) + "\n";
  else
    out = "wrong: " + num(static_cast<double>(r.wrong)) + " of " + num(static_cast<double>(r.checked)) +
          " entries of " + name + " " + shape_str(r.expected_shape) + " differ from every valid gradient by more than " +
          tol + " (largest difference " + num(r.max_abs_error) + ")\n";
  for (const HingeCheckKink& k : r.accepted) {
    const std::string i = num(static_cast<double>(k.row)), j = num(static_cast<double>(k.cls)),
                      y = num(static_cast<double>(k.label));
    out += "accepted at a kink: ";
    if (r.wrt_weights)
      out += "row " + i + ", class " + j + " (dL/dW gets c*x_" + i + " times the coefficient in column " + j +
             " and minus that in column " + y + ")";
    else
      out += "[" + i + ", " + j + "] = " + num(k.scale * k.yours);
    if (!k.tie)
      out += ", margin exactly 0: alpha = " + num(k.yours) + " of the term (tapegrad: " + num(k.tapegrad) +
             "); any alpha in [0, 1] is right";
    else
      out += std::string(", tied for the largest wrong score") + (k.margin_zero ? " on a margin of exactly 0" : "") +
             ": a share " + num(k.yours) + " of the row's gradient (tapegrad: " + num(k.tapegrad) +
             "); any shares >= 0 that sum to " + (k.margin_zero ? "at most 1" : "1") + " are right";
    out += r.wrt_weights ? "\n" : ", and the true-class entry [" + i + ", " + y + "] gives back the same\n";
  }
  for (const HingeCheckFinding& f : r.findings) {
    out += std::string(hinge_check_cause_name(f.cause)) + ": " + f.what + "\n";
    for (const HingeCheckEntry& e : f.entries)
      out += "  [" + num(static_cast<double>(e.row)) + ", " + num(static_cast<double>(e.col)) + "] = " + num(e.got) +
             ", right: " + num(e.expected) + "\n";
  }
  return out;
}

}  // namespace tapegrad
