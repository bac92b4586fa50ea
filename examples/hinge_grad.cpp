// hinge_grad: the NumPy bridge. Reads scores (N×C) and labels (N) from .npy
// files, computes a multiclass loss on the tape (fused or composed path), and
// writes dL/dscores to a .npy file with the scores' shape and dtype. The loss is
// the only line on stdout, so a script can compare it with NumPy or PyTorch:
//
//   hinge_grad --scores S.npy --labels Y.npy --out G.npy --loss crammer-singer --p 2
//
// Exit status: 0 success, 1 bad data (unreadable or malformed file, wrong dtype,
// rank or length, label out of range, non-finite score), 2 bad usage. A failure
// prints exactly one line on stderr, "hinge_grad: <problem>", and writes nothing.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/io/npy.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/softmax_cross_entropy.hpp>
#include "support/cli.hpp"

using namespace tapegrad;

namespace {

const char* const kUsage =
    "usage: hinge_grad --scores S.npy --labels Y.npy --out G.npy\n"
    "                  [--loss weston-watkins|crammer-singer|softmax] [--margin 1.0] [--p 1|2]\n"
    "                  [--weights W.npy] [--reduction mean|sum] [--path fused|composed]\n"
    "\n"
    "Reads scores (float32 or float64, N x C) and labels (any integer dtype, length N),\n"
    "computes the loss in the scores' dtype, writes dL/dscores to G.npy (same shape and\n"
    "dtype) and prints the loss as the only line on stdout. --weights holds one weight\n"
    "per class (length C). --margin and --p apply to the hinge losses only.\n"
    "Exit status: 0 success, 1 bad data, 2 bad usage.\n";

struct Options {
  std::string scores, labels, out, weights;
  std::string loss = "weston-watkins";
  double margin = 1.0;
  std::string p = "1";  // a choice of "1" or "2", not a number: --p 01 and --p 2.0 are refused
  std::string reduction = "mean", path = "fused";
};

// The options in --help's order; kUsage is their help (ArgParser shows it verbatim).
void add_options(examples::ArgParser& args, Options* o) {
  const double any = std::numeric_limits<double>::max();  // --margin: any finite number
  args.set_help_text(kUsage);
  args.add_string("--scores", &o->scores, "S.npy", "scores, N x C");
  args.add_string("--labels", &o->labels, "Y.npy", "labels, length N");
  args.add_string("--out", &o->out, "G.npy", "where dL/dscores goes");
  args.add_string("--weights", &o->weights, "W.npy", "one weight per class");
  args.add_string("--loss", &o->loss, "", "loss", {"weston-watkins", "crammer-singer", "softmax"});
  args.add_double("--margin", &o->margin, "hinge margin", -any, any);
  args.add_string("--p", &o->p, "", "hinge power", {"1", "2"});
  args.add_string("--reduction", &o->reduction, "", "over the rows", {"mean", "sum"});
  args.add_string("--path", &o->path, "", "fused op or composed ops", {"fused", "composed"});
}

// What ArgParser cannot say alone: the required files, and hinge options given to softmax.
void check_options(const examples::ArgParser& args, const Options& o) {
  for (const char* name : {"--scores", "--labels", "--out"})
    if (!args.given(name)) throw examples::UsageError(std::string("missing required option ") + name);
  if (o.loss == "softmax" && (args.given("--margin") || args.given("--p")))
    throw examples::UsageError("--margin and --p apply to the hinge losses, not to --loss softmax");
}

template <class T>
int compute(const Options& o, const NpyArray& scores_file) {
  const Tensor<T> scores = npy_to_tensor<T>(scores_file);
  if (scores.dimension() != 2)
    fail(o.scores, ": scores must be 2-D (N x C), got shape ", shape_str(scores.shape()));
  const std::size_t n = scores.shape()[0], c = scores.shape()[1];
  if (n == 0 || c == 0) fail(o.scores, ": scores of shape ", shape_str(scores.shape()), " are empty");
  for (std::size_t k = 0; k < scores.size(); ++k)
    if (!std::isfinite(scores.data()[k]))
      fail(o.scores, ": non-finite score ", scores.data()[k], " at [", k / c, ", ", k % c, "]");

  const IndexTensor labels = npy_to_index(read_npy(o.labels));
  if (labels.dimension() != 1 || labels.size() != n)
    fail(o.labels, ": labels must be 1-D of length ", n, " (the scores' rows), got shape ",
         shape_str(labels.shape()));
  for (std::size_t i = 0; i < n; ++i)
    if (labels(i) < 0 || labels(i) >= static_cast<std::int64_t>(c))
      fail(o.labels, ": label ", labels(i), " at row ", i, " is outside [0, ", c, ")");

  Tensor<T> weights;
  if (!o.weights.empty()) {
    weights = npy_to_tensor<T>(read_npy(o.weights));
    if (weights.dimension() != 1 || weights.size() != c)
      fail(o.weights, ": weights must be 1-D of length ", c, " (the classes), got shape ",
           shape_str(weights.shape()));
    for (std::size_t j = 0; j < c; ++j)
      if (!std::isfinite(weights(j))) fail(o.weights, ": non-finite weight ", weights(j), " at [", j, "]");
  }
  const Tensor<T>* w = o.weights.empty() ? nullptr : &weights;

  Tape<T> tape;
  Parameter<T> param(scores, "scores");
  const Var<T> s = tape.watch(param);
  const Reduction reduction = o.reduction == "mean" ? Reduction::mean : Reduction::sum;
  const bool fused = o.path == "fused";
  Var<T> loss;
  if (o.loss == "softmax") {
    loss = fused ? softmax_cross_entropy(s, labels, reduction, w)
                 : softmax_cross_entropy_composed(s, labels, reduction, w);
  } else {
    HingeOptions h;
    h.kind = o.loss == "weston-watkins" ? HingeKind::weston_watkins : HingeKind::crammer_singer;
    h.margin = o.margin;
    h.p = o.p == "2" ? 2 : 1;
    h.reduction = reduction;
    loss = fused ? multiclass_hinge(s, labels, h, w) : multiclass_hinge_composed(s, labels, h, w);
  }
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

int run(const Options& o) {
  const NpyArray scores = read_npy(o.scores);
  if (scores.dtype == "<f4") return compute<float>(o, scores);
  if (scores.dtype == "<f8") return compute<double>(o, scores);
  fail(o.scores, ": scores must be float32 or float64, got dtype ", scores.dtype);
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
  return examples::parse_and_run(args, argc, argv, [&] {
    check_options(args, o);
    return run(o);
  }, without_npy_prefix);
}
