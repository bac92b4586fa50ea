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
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "core/tape.hpp"
#include "io/npy.hpp"
#include "losses/hinge.hpp"
#include "losses/softmax_cross_entropy.hpp"

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

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string scores, labels, out, weights;
  std::string loss = "weston-watkins";
  double margin = 1.0;
  int p = 1;
  Reduction reduction = Reduction::mean;
  bool fused = true;
  bool hinge_option_given = false;
};

[[noreturn]] void usage_error(const std::string& message) { throw UsageError(message); }

Options parse_args(int argc, char** argv) {
  Options o;
  bool seen[9] = {};
  const char* const names[9] = {"--scores", "--labels", "--out",       "--weights", "--loss",
                                "--margin", "--p",      "--reduction", "--path"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    const std::size_t eq = arg.find('=');
    const bool inline_value = arg.rfind("--", 0) == 0 && eq != std::string::npos;
    if (inline_value) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    int k = 0;
    while (k < 9 && arg != names[k]) ++k;
    if (k == 9) {
      if (arg.rfind("-", 0) == 0) usage_error("unknown option '" + arg + "'");
      usage_error("unexpected argument '" + arg + "'");
    }
    if (seen[k]) usage_error("option " + arg + " given twice");
    seen[k] = true;
    if (!inline_value) {
      if (i + 1 >= argc) usage_error("option " + arg + " needs a value");
      value = argv[++i];
    }
    if (value.empty()) usage_error("option " + arg + " has an empty value");
    switch (k) {
      case 0: o.scores = value; break;
      case 1: o.labels = value; break;
      case 2: o.out = value; break;
      case 3: o.weights = value; break;
      case 4:
        if (value != "weston-watkins" && value != "crammer-singer" && value != "softmax")
          usage_error("--loss must be weston-watkins, crammer-singer or softmax, not '" + value + "'");
        o.loss = value;
        break;
      case 5: {
        char* end = nullptr;
        o.margin = std::strtod(value.c_str(), &end);
        if (*end != '\0' || !std::isfinite(o.margin))
          usage_error("--margin must be a finite number, not '" + value + "'");
        o.hinge_option_given = true;
        break;
      }
      case 6:
        if (value != "1" && value != "2") usage_error("--p must be 1 or 2, not '" + value + "'");
        o.p = value[0] - '0';
        o.hinge_option_given = true;
        break;
      case 7:
        if (value != "mean" && value != "sum") usage_error("--reduction must be mean or sum, not '" + value + "'");
        o.reduction = value == "mean" ? Reduction::mean : Reduction::sum;
        break;
      default:
        if (value != "fused" && value != "composed") usage_error("--path must be fused or composed, not '" + value + "'");
        o.fused = value == "fused";
    }
  }
  for (int k = 0; k < 3; ++k)
    if (!seen[k]) usage_error(std::string("missing required option ") + names[k]);
  if (o.loss == "softmax" && o.hinge_option_given)
    usage_error("--margin and --p apply to the hinge losses, not to --loss softmax");
  return o;
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
  Var<T> loss;
  if (o.loss == "softmax") {
    loss = o.fused ? softmax_cross_entropy(s, labels, o.reduction, w)
                   : softmax_cross_entropy_composed(s, labels, o.reduction, w);
  } else {
    HingeOptions h;
    h.kind = o.loss == "weston-watkins" ? HingeKind::weston_watkins : HingeKind::crammer_singer;
    h.margin = o.margin;
    h.p = o.p;
    h.reduction = o.reduction;
    loss = o.fused ? multiclass_hinge(s, labels, h, w) : multiclass_hinge_composed(s, labels, h, w);
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

// One line on stderr: newlines inside the message (e.g. from a file name) become
// spaces, and the npy functions' names give way to the file name that follows.
void report(std::string message) {
  for (const char* fn : {"read_npy: ", "write_npy: ", "npy_to_index: ", "npy_to_tensor: "})
    if (message.rfind(fn, 0) == 0) message.erase(0, std::strlen(fn));
  for (char& ch : message)
    if (ch == '\n' || ch == '\r') ch = ' ';
  std::fprintf(stderr, "hinge_grad: %s\n", message.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  Options o;
  try {
    o = parse_args(argc, argv);
  } catch (const UsageError& e) {
    report(std::string(e.what()) + " (see hinge_grad --help)");
    return 2;
  }
  try {
    return run(o);
  } catch (const std::bad_alloc&) {
    report("out of memory");
  } catch (const std::exception& e) {
    report(e.what());
  }
  return 1;
}
