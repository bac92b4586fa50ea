// hinge_grad: the NumPy bridge. Reads scores (N×C) and labels (N) from .npy
// files, computes a multiclass loss on the tape (fused or composed path), and
// writes dL/dscores to a .npy file with the scores' shape and dtype. The loss is
// the only line on stdout, so a script can compare it with NumPy or PyTorch:
//
//   hinge_grad --scores S.npy --labels Y.npy --out G.npy --loss crammer-singer --p 2
//
// With --check G.npy it reads a learner's gradient instead (dL/dscores, or with
// --x X.npy dL/dW for scores = X·W) and reports whether it is right, and why not
// (check_hinge_gradient, losses/hinge_check.hpp):
//
//   hinge_grad --scores S.npy --labels Y.npy --check G.npy [--x X.npy]
//
// Exit status: 0 success, 1 bad data (unreadable or malformed file, wrong dtype,
// rank or length, label out of range, non-finite score), 2 bad usage. With --check:
// 0 right, 1 wrong, 2 bad usage, 3 bad data. A failure prints exactly one line on
// stderr, "hinge_grad: <problem>", and writes nothing.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/io/npy.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_check.hpp>
#include <tapegrad/losses/softmax_cross_entropy.hpp>
#include "support/cli.hpp"

using namespace tapegrad;

namespace {

const char* const kUsage =
    "usage: hinge_grad --scores S.npy --labels Y.npy --out G.npy\n"
    "                  [--loss weston-watkins|crammer-singer|softmax] [--margin 1.0] [--p 1|2]\n"
    "                  [--weights W.npy] [--reduction mean|sum] [--path fused|composed]\n"
    "       hinge_grad --scores S.npy --labels Y.npy --check G.npy [--x X.npy]\n"
    "                  [--loss weston-watkins|crammer-singer] [--margin 1.0] [--p 1|2]\n"
    "                  [--weights W.npy] [--reduction mean|sum] [--atol A] [--rtol R]\n"
    "\n"
    "Reads scores (float32 or float64, N x C) and labels (any integer dtype, length N),\n"
    "computes the loss in the scores' dtype, writes dL/dscores to G.npy (same shape and\n"
    "dtype) and prints the loss as the only line on stdout. --weights holds one weight\n"
    "per class (length C). --margin and --p apply to the hinge losses only.\n"
    "\n"
    "--check G.npy checks a gradient you computed (float32 or float64) instead: dL/dscores\n"
    "(N x C), or with --x X.npy (N x D) dL/dW (D x C) for scores = X.W. An entry g is right\n"
    "when |g - r| <= atol + rtol*|r| for r the entry of a valid gradient (defaults: atol 1e-8,\n"
    "rtol 1e-5; atol 1e-6, rtol 1e-4 when any file is float32). At a kink every subgradient\n"
    "is valid: a margin exactly 0 (p = 1) takes any share alpha in [0, 1] of its term, tied\n"
    "Crammer-Singer maxima share the row's gradient in any proportion; the report names the\n"
    "kinks where yours differs from tapegrad's choice (alpha = 0, even shares). The report\n"
    "goes to stdout: a 'right:' or 'wrong:' line, then one line per accepted kink or cause\n"
    "(shape, transposed, scale, unclamped-margins, true-class-sign, true-class-count,\n"
    "true-class-missing, other) with the entries it explains.\n"
    "Exit status: 0 success, 1 bad data, 2 bad usage.\n"
    "With --check: 0 the gradient is right, 1 it is wrong, 2 bad usage, 3 bad data.\n";

struct Options {
  std::string scores, labels, out, weights, check, x;
  std::string loss = "weston-watkins";
  double margin = 1.0;
  std::string p = "1";  // a choice of "1" or "2", not a number: --p 01 and --p 2.0 are refused
  std::string reduction = "mean", path = "fused";
  double atol = 0, rtol = 0;
};

// The options in --help's order; kUsage is their help (ArgParser shows it verbatim).
void add_options(examples::ArgParser& args, Options* o) {
  const double any = std::numeric_limits<double>::max();  // --margin: any finite number
  args.set_help_text(kUsage);
  args.add_string("--scores", &o->scores, "S.npy", "scores, N x C");
  args.add_string("--labels", &o->labels, "Y.npy", "labels, length N");
  args.add_string("--out", &o->out, "G.npy", "where dL/dscores goes");
  args.add_string("--check", &o->check, "G.npy", "a gradient to check");
  args.add_string("--x", &o->x, "X.npy", "X, N x D: --check takes dL/dW");
  args.add_string("--weights", &o->weights, "W.npy", "one weight per class");
  args.add_string("--loss", &o->loss, "", "loss", {"weston-watkins", "crammer-singer", "softmax"});
  args.add_double("--margin", &o->margin, "hinge margin", -any, any);
  args.add_string("--p", &o->p, "", "hinge power", {"1", "2"});
  args.add_string("--reduction", &o->reduction, "", "over the rows", {"mean", "sum"});
  args.add_string("--path", &o->path, "", "fused op or composed ops", {"fused", "composed"});
  args.add_double("--atol", &o->atol, "--check: absolute tolerance", 0, any);
  args.add_double("--rtol", &o->rtol, "--check: relative tolerance", 0, any);
}

// What ArgParser cannot say alone: the required files, and options that do not fit together.
void check_options(const examples::ArgParser& args, const Options& o) {
  const bool check = args.given("--check");
  for (const char* name : {"--scores", "--labels"})
    if (!args.given(name)) throw examples::UsageError(std::string("missing required option ") + name);
  if (check && args.given("--out")) throw examples::UsageError("--out and --check exclude each other");
  if (!check && !args.given("--out")) throw examples::UsageError("missing required option --out");
  if (check && args.given("--path"))
    throw examples::UsageError("--path chooses how a gradient is computed; --check compares one");
  if (check && o.loss == "softmax") throw examples::UsageError("--check checks the hinge losses, not --loss softmax");
  for (const char* name : {"--x", "--atol", "--rtol"})
    if (!check && args.given(name)) throw examples::UsageError(std::string(name) + " applies to --check only");
  if (o.loss == "softmax" && (args.given("--margin") || args.given("--p")))
    throw examples::UsageError("--margin and --p apply to the hinge losses, not to --loss softmax");
}

// Scores, labels and weights, checked against each other; errors name the file.
template <class T>
struct Inputs {
  Tensor<T> scores, weights;
  IndexTensor labels;
};

template <class T>
Inputs<T> load_inputs(const Options& o, const NpyArray& scores_file) {
  Inputs<T> in;
  in.scores = npy_to_tensor<T>(scores_file);
  const Tensor<T>& scores = in.scores;
  if (scores.dimension() != 2)
    fail(o.scores, ": scores must be 2-D (N x C), got shape ", shape_str(scores.shape()));
  const std::size_t n = scores.shape()[0], c = scores.shape()[1];
  if (n == 0 || c == 0) fail(o.scores, ": scores of shape ", shape_str(scores.shape()), " are empty");
  for (std::size_t k = 0; k < scores.size(); ++k)
    if (!std::isfinite(scores.data()[k]))
      fail(o.scores, ": non-finite score ", scores.data()[k], " at [", k / c, ", ", k % c, "]");

  in.labels = npy_to_index(read_npy(o.labels));
  const IndexTensor& labels = in.labels;
  if (labels.dimension() != 1 || labels.size() != n)
    fail(o.labels, ": labels must be 1-D of length ", n, " (the scores' rows), got shape ",
         shape_str(labels.shape()));
  for (std::size_t i = 0; i < n; ++i)
    if (labels(i) < 0 || labels(i) >= static_cast<std::int64_t>(c))
      fail(o.labels, ": label ", labels(i), " at row ", i, " is outside [0, ", c, ")");

  if (!o.weights.empty()) {
    in.weights = npy_to_tensor<T>(read_npy(o.weights));
    if (in.weights.dimension() != 1 || in.weights.size() != c)
      fail(o.weights, ": weights must be 1-D of length ", c, " (the classes), got shape ",
           shape_str(in.weights.shape()));
    for (std::size_t j = 0; j < c; ++j)
      if (!std::isfinite(in.weights(j))) fail(o.weights, ": non-finite weight ", in.weights(j), " at [", j, "]");
  }
  return in;
}

HingeOptions hinge_options(const Options& o) {
  HingeOptions h;
  h.kind = o.loss == "weston-watkins" ? HingeKind::weston_watkins : HingeKind::crammer_singer;
  h.margin = o.margin;
  h.p = o.p == "2" ? 2 : 1;
  h.reduction = o.reduction == "mean" ? Reduction::mean : Reduction::sum;
  return h;
}

template <class T>
int compute(const Options& o, const NpyArray& scores_file) {
  const Inputs<T> in = load_inputs<T>(o, scores_file);
  const Tensor<T>* w = o.weights.empty() ? nullptr : &in.weights;
  Tape<T> tape;
  Parameter<T> param(in.scores, "scores");
  const Var<T> s = tape.watch(param);
  const HingeOptions h = hinge_options(o);
  const bool fused = o.path == "fused";
  Var<T> loss;
  if (o.loss == "softmax")
    loss = fused ? softmax_cross_entropy(s, in.labels, h.reduction, w)
                 : softmax_cross_entropy_composed(s, in.labels, h.reduction, w);
  else
    loss = fused ? multiclass_hinge(s, in.labels, h, w) : multiclass_hinge_composed(s, in.labels, h, w);
  tape.backward(loss);
  const Tensor<T>& value = tape.value(loss);
  if (value.size() != 1) fail("the loss has shape ", shape_str(value.shape()), ", not a scalar");

  write_npy(o.out, param.grad);  // atomic: all of G.npy or nothing
  const double printed = static_cast<double>(value.data()[0]);
  if (std::printf(sizeof(T) == 4 ? "%.9g\n" : "%.17g\n", printed) < 0 || std::fflush(stdout) != 0) {
    std::remove(o.out.c_str());  // a failed run leaves no output
    fail("cannot write the loss to stdout");
  }
  return 0;
}

// A float32 or float64 array from `path` (`what` names it in errors), as T.
template <class T>
Tensor<T> read_float(const std::string& path, const char* what, bool* single) {
  const NpyArray a = read_npy(path);
  if (a.dtype != "<f4" && a.dtype != "<f8") fail(path, ": ", what, " must be float32 or float64, got dtype ", a.dtype);
  *single = *single || a.dtype == "<f4";
  return npy_to_tensor<T>(a);
}

// --check: 0 right, 1 wrong (a data error throws, and main turns it into 3).
template <class T>
int check(const Options& o, const NpyArray& scores_file, const examples::ArgParser& args) {
  const Inputs<T> in = load_inputs<T>(o, scores_file);
  bool single = sizeof(T) == 4;
  const Tensor<T> g = read_float<T>(o.check, "the gradient", &single);
  Tensor<T> x;
  if (!o.x.empty()) {
    x = read_float<T>(o.x, "X", &single);
    if (x.dimension() != 2 || x.shape()[0] != in.scores.shape()[0])
      fail(o.x, ": X must be 2-D with the scores' ", in.scores.shape()[0], " rows (N x D), got shape ",
           shape_str(x.shape()));
    for (std::size_t k = 0; k < x.size(); ++k)
      if (!std::isfinite(x.data()[k]))
        fail(o.x, ": non-finite entry ", x.data()[k], " at [", k / x.shape()[1], ", ", k % x.shape()[1], "]");
  }
  HingeCheckTolerance tol = default_hinge_check_tolerance(single);
  if (args.given("--atol")) tol.atol = o.atol;
  if (args.given("--rtol")) tol.rtol = o.rtol;
  const HingeCheckReport r = check_hinge_gradient(in.scores, in.labels, g, hinge_options(o),
                                                  o.weights.empty() ? nullptr : &in.weights,
                                                  o.x.empty() ? nullptr : &x, tol);
  if (std::fputs(describe(r).c_str(), stdout) < 0 || std::fflush(stdout) != 0)
    fail("cannot write the report to stdout");
  return r.right ? 0 : 1;
}

int run(const Options& o, const examples::ArgParser& args, int* verdict) {
  const NpyArray scores = read_npy(o.scores);
  const bool f4 = scores.dtype == "<f4";
  if (!f4 && scores.dtype != "<f8") fail(o.scores, ": scores must be float32 or float64, got dtype ", scores.dtype);
  if (o.check.empty()) return f4 ? compute<float>(o, scores) : compute<double>(o, scores);
  *verdict = f4 ? check<float>(o, scores, args) : check<double>(o, scores, args);
  return 0;
}

// The npy functions' names give way to the file name that follows them (run_tool
// then folds newlines, e.g. from a file name, so the error stays one line).
std::string without_npy_prefix(std::string message) {
  for (const char* fn : {"read_npy: ", "write_npy: ", "npy_to_index: ", "npy_to_tensor: "})
    if (message.rfind(fn, 0) == 0) message.erase(0, std::strlen(fn));
  return message;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  examples::ArgParser args("hinge_grad", "");
  add_options(args, &o);
  int verdict = -1;  // --check's, once it has one
  const int code = examples::parse_and_run(args, argc, argv, [&] {
    check_options(args, o);
    return run(o, args, &verdict);
  }, without_npy_prefix);
  if (code == 0 && verdict >= 0) return verdict;
  return code == 1 && args.given("--check") ? 3 : code;  // --check keeps 1 for "wrong"
}
