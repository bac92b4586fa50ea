// Kinks and ties of a record from its value and its inputs' values (count_from_values,
// support/html_graph.hpp says what is counted and what is not).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "support/html_graph.hpp"

namespace examples {

using tapegrad::Record;
using tapegrad::Shape;
using tapegrad::Tape;
using tapegrad::Tensor;

namespace {

const std::set<std::string>& smooth_ops() {
  static const std::set<std::string> ops = {
      "add", "sub", "mul", "div", "neg", "exp", "log", "square", "sqrt", "pow", "tanh", "sigmoid",
      "add_scalar", "mul_scalar", "div_scalar", "rsub_scalar", "rdiv_scalar", "matmul", "sum", "mean",
      "logsumexp", "softmax", "log_softmax", "reshape", "flatten", "squeeze", "unsqueeze", "transpose",
      "slice", "concat", "broadcast_to", "gather", "one_hot", "mask", "where", "dropout", "conv2d",
      "avg_pool2d", "batch_norm", "layer_norm", "softmax_cross_entropy", "softmax_cross_entropy_reference"};
  return ops;
}

// Ties of a max/min reduction: outputs whose extreme two or more entries share. The
// reduced axes are read from the shapes; -1 when they are ambiguous.
template <class T>
std::int64_t reduction_ties(const Tensor<T>& x, const Tensor<T>& y) {
  const Shape xs(x.shape().begin(), x.shape().end()), ys(y.shape().begin(), y.shape().end());
  if (x.size() == 0) return 0;
  Shape kept = xs;  // y's shape with the reduced axes kept as 1
  std::vector<std::size_t> axes;
  if (ys.empty()) {
    for (std::size_t k = 0; k < xs.size(); ++k) axes.push_back(k), kept[k] = 1;
  } else if (ys.size() == xs.size()) {
    for (std::size_t k = 0; k < xs.size(); ++k)
      if (ys[k] == 1 && xs[k] != 1) axes.push_back(k);
    if (axes.empty()) return 0;  // reduced over a size-1 axis: one entry each
    for (std::size_t k : axes) kept[k] = 1;
  } else if (ys.size() + 1 == xs.size()) {
    std::vector<std::size_t> candidates;
    for (std::size_t k = 0; k < xs.size(); ++k) {
      Shape rest = xs;
      rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(k));
      if (rest == ys) candidates.push_back(k);
    }
    if (candidates.size() != 1) return -1;
    axes = candidates;
    kept[axes[0]] = 1;
  } else {
    return -1;
  }
  Tensor<T> yk = y;
  yk.reshape(kept);
  const xt::xarray<std::int64_t> equal = xt::cast<std::int64_t>(xt::equal(x, yk));
  const xt::xarray<std::int64_t> shared = xt::sum(equal, axes, xt::evaluation_strategy::immediate);
  return static_cast<std::int64_t>(std::count_if(shared.begin(), shared.end(), [](std::int64_t n) { return n > 1; }));
}

}  // namespace

template <class T>
NodeCounts count_from_values(const Tape<T>& tape, std::uint32_t id) {
  const Record<T>& r = tape.record(id);
  const std::string op = r.op;
  NodeCounts c;
  const char* none = "not counted: ";
  if (r.n_inputs == 0) {
    c.kinks_what = c.ties_what = "a leaf: no op, nothing to count";
  } else if (op == "relu" || op == "leaky_relu" || op == "abs") {
    const Tensor<T>& x = tape.value_of(r.inputs[0]);
    c.kinks = std::count(x.begin(), x.end(), T(0));
    c.kinks_what = op == "leaky_relu" ? "inputs exactly 0, where the gradient is the slope (the negative side)"
                                      : "inputs exactly 0, where " + op + "'(0) = 0 by convention";
    c.ties = 0;
    c.ties_what = "elementwise: no max, no ties";
  } else if (op == "maximum" || op == "minimum") {
    const xt::xarray<std::int64_t> eq =
        xt::cast<std::int64_t>(xt::equal(tape.value_of(r.inputs[0]), tape.value_of(r.inputs[1])));
    c.ties = std::count(eq.begin(), eq.end(), 1);
    c.ties_what = "elements with a == b (after broadcasting): each side gets half the gradient";
    c.kinks_what = "counted under ties: its only kink is a == b";
  } else if (op == "max" || op == "min") {
    c.ties = reduction_ties(tape.value_of(r.inputs[0]), tape.value_of(id));
    c.ties_what = c.ties < 0 ? std::string(none) + "the reduced axis is ambiguous from the shapes"
                             : "outputs whose " + op + " two or more entries share (the gradient is split evenly)";
    c.kinks_what = "counted under ties: a max or min has no kink but its ties";
  } else if (smooth_ops().count(op)) {
    c.kinks = c.ties = 0;
    c.kinks_what = "a smooth op: no kinks";
    c.ties_what = "no max or argmax: no ties";
  } else {
    c.kinks_what = c.ties_what = std::string(none) + "needs the op's saved state (bounds, windows, labels)";
  }
  return c;
}

template NodeCounts count_from_values(const Tape<float>&, std::uint32_t);
template NodeCounts count_from_values(const Tape<double>&, std::uint32_t);

}  // namespace examples
