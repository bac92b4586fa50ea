// A first look at the tape: a tiny linear classifier, scores = X·W + b, with the
// Weston–Watkins hinge loss. The tape records the forward pass, one reverse sweep
// gives dL/dW and dL/db, and central differences check both.
#include <cstdio>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include <tapegrad/losses/hinge.hpp>

using namespace tapegrad;

int main() {
  // 4 examples, 3 features, 3 classes: small enough to read every number.
  const Tensor<double> x = {{0.5, -1.2, 0.3}, {1.1, 0.4, -0.7}, {-0.3, 0.8, 1.5}, {0.9, -0.1, 0.2}};
  const IndexTensor y = {0, 2, 1, 0};
  Parameter<double> w(Tensor<double>{{0.2, -0.5, 0.1}, {-0.3, 0.4, 0.6}, {0.7, -0.2, -0.4}}, "W");
  Parameter<double> b(Tensor<double>{0.05, -0.08, 0.02}, "b");

  Tape<double> tape;
  Var<double> scores = matmul(tape.constant(x), tape.watch(w)) + tape.watch(b);
  Var<double> loss = multiclass_hinge(scores, y);
  tape.backward(loss);

  std::printf("tape: %zu records, loss = %.6f\n\n", tape.size(), tape.value(loss)());
  auto print = [](const char* name, const Tensor<double>& t) {
    std::printf("%s =", name);
    for (double v : t) std::printf(" %+.6f", v);
    std::printf("\n");
  };
  print("dL/dW (tape)", w.grad);
  print("dL/db (tape)", b.grad);

  // The same gradients by central differences, in double.
  const TapeFunction f = [&](Tape<double>& t, const std::vector<Var<double>>& in) {
    return multiclass_hinge(matmul(t.constant(x), in[0]) + in[1], y);
  };
  const GradcheckReport report = gradcheck(f, {w.value, b.value});
  std::printf("\nnumeric check: %s\n", report.summary().c_str());
  return report.passed ? 0 : 1;
}
