#include "support/recipes.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include <tapegrad/ops/linalg.hpp>

namespace examples {

using namespace tapegrad;

LossAndGrad on_tape(const Recipe& f, const Matrix& input) {
  Tape<double> tape;
  Parameter<double> p(input, "input");
  const Var<double> loss = f(tape, tape.watch(p));
  const Matrix value = tape.value(loss);
  if (value.dimension() == 0)
    tape.backward(loss);
  else
    tape.backward(loss, xt::ones<double>(value.shape()));  // the gradient of the sum of the rows
  return {value, p.grad};
}

LossAndGrad hinge(const Matrix& input, const IndexTensor& y, const HingeOptions& o, bool fused, const Matrix* x) {
  return on_tape(
      [&](Tape<double>& t, const Var<double>& in) {
        const Var<double> s = x ? matmul(t.constant(*x), in) : in;
        return fused ? multiclass_hinge(s, y, o) : multiclass_hinge_composed(s, y, o);
      },
      input);
}

double max_abs_diff(const Matrix& a, const Matrix& b) {
  double m = 0;
  for (std::size_t k = 0; k < a.size(); ++k) m = std::max(m, std::abs(a.data()[k] - b.data()[k]));
  return m;
}

namespace {

std::string values(const Matrix& m) {
  std::string out;
  const std::size_t cols = m.dimension() == 2 ? m.shape()[1] : m.size();
  char b[32];
  for (std::size_t k = 0; k < m.size(); ++k) {
    std::snprintf(b, sizeof b, "%.6g", m.data()[k] == 0 ? 0.0 : m.data()[k]);  // no "-0"
    out += (k == 0 ? "" : k % cols == 0 ? " | " : " ") + std::string(b);
  }
  return out;
}

}  // namespace

void print_line(const char* label, const LossAndGrad& r) {
  std::printf("  %-12s loss %-24s grad %s\n", label, values(r.loss).c_str(), values(r.grad).c_str());
}

void print_matrix(const char* label, const Matrix& m) {
  std::printf("  %s %s\n", label, values(m).c_str());
}

void print_side_by_side(const LossAndGrad& recipe, const LossAndGrad& fused, const LossAndGrad& composed,
                        double factor) {
  print_line("recipe", recipe);
  const LossAndGrad scaled{recipe.loss * factor, recipe.grad * factor};
  if (factor != 1) {
    const std::string label = "recipe x " + std::to_string(static_cast<int>(factor));
    print_line(label.c_str(), scaled);
  }
  print_line("fused", fused);
  print_line("composed", composed);
  const char* what = factor != 1 ? "recipe x C" : "recipe";
  std::printf("  max |%s - fused|: loss %.3g, grad %.3g;  max |%s - composed|: loss %.3g, grad %.3g\n", what,
              max_abs_diff(scaled.loss, fused.loss), max_abs_diff(scaled.grad, fused.grad), what,
              max_abs_diff(scaled.loss, composed.loss), max_abs_diff(scaled.grad, composed.grad));
}

namespace {

// `first` then the words of text, wrapped at 90 columns with `next` starting each new line.
void wrapped(const std::string& first, const std::string& next, const std::string& text) {
  std::istringstream words(text);
  std::string word, line = first;
  bool empty = true;
  while (words >> word) {
    if (!empty && line.size() + 1 + word.size() > 90) {
      std::printf("%s\n", line.c_str());
      line = next;
      empty = true;
    }
    line += (empty && line.back() == ' ' ? "" : " ") + word;
    empty = false;
  }
  std::printf("%s\n", line.c_str());
}

}  // namespace

void print_why(const std::string& text) { wrapped("  ->", "     ", text); }

void print_check(const char* what, const HingeCheckReport& report) {
  std::printf("  hinge_grad --check on %s:\n", what);
  std::istringstream lines(describe(report));
  std::string line;
  while (std::getline(lines, line)) {
    const std::size_t lead = line.find_first_not_of(' ');
    const std::string indent = "    " + line.substr(0, lead);
    wrapped(indent, indent + "    ", line.substr(lead));
  }
}

}  // namespace examples
