// hinge_recipes: three classic multiclass-hinge snippets, transliterated onto the
// tape op for op, run beside multiclass_hinge (fused and composed) on inputs chosen
// to expose where each goes wrong, with the numbers side by side and one sentence
// per difference; then hinge_grad --check's verdict on each recipe's gradient.
//
//   1. Crammer–Singer, TensorFlow: H = reduce_max(scores * (1 - classes), 0),
//      L = relu((1 - scores + H) * classes), loss = reduce_mean(reduce_max(L, 0))
//   2. Weston–Watkins, TensorFlow: true scores gathered from the flattened transposed
//      scores, L = relu((1 - true_scores + scores) * (1 - classes)), reduce_mean(L)
//   3. Weston–Watkins, NumPy: margins without max(0, ·), grad = X * count[:, None]
//
// Run: hinge_recipes (no options; the output is the same on every run).
#include <cmath>
#include <cstdio>

#include <tapegrad/tapegrad.hpp>
#include "support/cli.hpp"
#include "support/recipes.hpp"

using namespace tapegrad;
using examples::LossAndGrad;
using examples::Matrix;

namespace {

HingeOptions hinge_opts(HingeKind kind, Reduction red = Reduction::mean) {
  HingeOptions o;
  o.kind = kind;
  o.reduction = red;
  return o;
}

// ---- recipe 1, as written: scores (C, N), classes one-hot (C, N) ----------------
Var<double> recipe1(Tape<double>& t, const Var<double>& s, const IndexTensor& y) {
  const Var<double> scores = transpose(s);                             // (C, N)
  const Var<double> classes = transpose(one_hot(t, y, t.value(s).shape()[1]));  // (C, N)
  const Var<double> h = max(scores * (1.0 - classes), 0);              // H = reduce_max(scores * (1 - classes), 0)
  const Var<double> l = relu(((1.0 - scores) + h) * classes);          // L = relu((1 - scores + H) * classes)
  return mean(max(l, 0));                                              // reduce_mean(reduce_max(L, 0))
}

// ---- recipe 2, as written: the true scores picked from the flattened (N, C) scores --
Var<double> recipe2(Tape<double>& t, const Var<double>& s, const IndexTensor& y) {
  const std::size_t n = t.value(s).shape()[0], c = t.value(s).shape()[1];
  const Var<double> scores = transpose(s);  // (C, N)
  const Var<double> classes = transpose(one_hot(t, y, c));
  IndexTensor flat_index = IndexTensor::from_shape({n});  // range(N) * C + y
  for (std::size_t i = 0; i < n; ++i) flat_index(i) = static_cast<std::int64_t>(i * c) + y(i);
  const Var<double> true_scores = gather(reshape(transpose(scores), {-1}), 0, flat_index);  // (N)
  const Var<double> l = relu(((1.0 - true_scores) + scores) * (1.0 - classes));  // (C, N)
  return mean(l);                                                                // over all N·C entries
}

// ---- recipe 3, as written (NumPy): the loss on the tape, its "grad" by hand -------
// margins = score - y_pred[:, None] + delta; margins[range(N), y] = 0; sum(margins, axis=1)
Var<double> recipe3_rows(Tape<double>& t, const Var<double>& w, const Matrix& x, const IndexTensor& y) {
  const Var<double> score = matmul(t.constant(x), w);
  IndexTensor column = y;
  column.reshape({y.size(), std::size_t(1)});
  const Var<double> y_pred = gather(score, 1, column);                                   // (N, 1)
  const Var<double> margins = ((score - y_pred) + 1.0) * (1.0 - one_hot(t, y, t.value(w).shape()[1]));  // true slot 0
  return sum(margins, 1);                                                                // one loss per row
}

// grad = X * non_zeros_count[:, None]; grad[range(N), y] *= -1 (non_zeros_count: margins > 0)
Matrix recipe3_grad(const Matrix& x, const Matrix& w, const IndexTensor& y) {
  const std::size_t n = x.shape()[0], d = x.shape()[1], c = w.shape()[1];
  Matrix grad = x;
  for (std::size_t i = 0; i < n; ++i) {
    double score[16] = {};
    for (std::size_t j = 0; j < c; ++j)
      for (std::size_t k = 0; k < d; ++k) score[j] += x(i, k) * w(k, j);
    int count = 0;
    for (std::size_t j = 0; j < c; ++j) count += j != static_cast<std::size_t>(y(i)) && score[j] - score[y(i)] + 1 > 0;
    for (std::size_t k = 0; k < d; ++k) grad(i, k) *= count;
    grad(i, static_cast<std::size_t>(y(i))) *= -1;  // a class index used as a feature index
  }
  return grad;
}

LossAndGrad run_recipe(Var<double> (*f)(Tape<double>&, const Var<double>&, const IndexTensor&), const Matrix& s,
                       const IndexTensor& y) {
  return examples::on_tape([&](Tape<double>& t, const Var<double>& v) { return f(t, v, y); }, s);
}

void side_by_side(Var<double> (*f)(Tape<double>&, const Var<double>&, const IndexTensor&), const Matrix& s,
                  const IndexTensor& y, HingeKind kind, double factor, LossAndGrad* out = nullptr) {
  const LossAndGrad r = run_recipe(f, s, y);
  examples::print_side_by_side(r, examples::hinge(s, y, hinge_opts(kind), true),
                               examples::hinge(s, y, hinge_opts(kind), false), factor);
  if (out) *out = r;
}

void recipe_one() {
  std::printf(
      "== Recipe 1: Crammer-Singer (TensorFlow), scores held as (C, N) ==\n"
      "  H = reduce_max(scores * (1 - classes), 0); L = relu((1 - scores + H) * classes)\n"
      "  loss = reduce_mean(reduce_max(L, 0))\n\n");
  const Matrix s{{1.2, 0.3, -0.4}, {0.5, 1.5, 0.9}, {-0.3, 2.1, 0.2}, {0.7, 0.4, 1.0}};
  std::printf("1a. Every row has a wrong score > 0. S = (1.2 0.3 -0.4 | 0.5 1.5 0.9 | -0.3 2.1 0.2 | 0.7 0.4 1), y = (0 2 1 1):\n");
  side_by_side(recipe1, s, {0, 2, 1, 1}, HingeKind::crammer_singer, 1);
  examples::print_why(
      "agree: with a positive wrong score in the row, the masked row's maximum is the largest wrong score, so H is "
      "what Crammer-Singer needs.");
  std::printf("\n1b. Every wrong score of a row is negative. S = (-0.5 -1 -2 | 0.5 -1 -2), y = (0 0):\n");
  LossAndGrad neg;
  side_by_side(recipe1, {{-0.5, -1, -2}, {0.5, -1, -2}}, {0, 0}, HingeKind::crammer_singer, 1, &neg);
  examples::print_why(
      "differ: masking by multiplication puts 0, not -inf, in the true class's slot, so H = 0 instead of the "
      "largest wrong score -1. Row 0's loss becomes 1 + 0 - (-0.5) = 1.5 instead of 0.5, row 1's 0.5 instead "
      "of 0 (mean 1 instead of 0.25), and the gradient that belongs to class 1 goes to the masked slot, where it "
      "is multiplied by 0.");
  std::printf("\n1c. The largest wrong score is exactly 0. S = (-0.3 0.5 0), y = (1):\n");
  side_by_side(recipe1, {{-0.3, 0.5, 0}}, {1}, HingeKind::crammer_singer, 1);
  examples::print_why(
      "the loss agrees (H = 0 either way), the gradient does not: class 2's 0 ties with the masked slot's 0, and "
      "reduce_max splits the gradient evenly between them, so class 2 gets 0.5 instead of 1.");
  examples::print_check("recipe 1b's gradient", check_hinge_gradient(Matrix{{-0.5, -1, -2}, {0.5, -1, -2}}, {0, 0},
                                                                     neg.grad, hinge_opts(HingeKind::crammer_singer)));
}

void recipe_two() {
  std::printf(
      "\n== Recipe 2: Weston-Watkins (TensorFlow), scores held as (C, N) ==\n"
      "  true_scores = gather(reshape(transpose(scores), [-1]), range(N) * C + y)\n"
      "  L = relu((1 - true_scores + scores) * (1 - classes)); loss = reduce_mean(L)\n\n");
  const Matrix s{{1.2, 0.3, -0.4}, {0.5, 1.5, 0.9}, {-0.3, 2.1, 0.2}, {0.7, 0.4, 1.0}};
  const IndexTensor y{0, 2, 1, 1};
  std::printf("2a. The scores of 1a (C = 3):\n");
  LossAndGrad r;
  side_by_side(recipe2, s, y, HingeKind::weston_watkins, 3, &r);
  examples::print_why(
      "differ by the factor C = 3: reduce_mean(L) averages all N*C entries of L, so the loss is the Weston-Watkins "
      "mean divided by C (PyTorch's MultiMarginLoss convention); cs231n and multiclass_hinge divide by N only. "
      "Times C they agree.");
  Matrix big = Matrix::from_shape({8, 5});
  IndexTensor yb = IndexTensor::from_shape({8});
  for (std::size_t i = 0; i < 8; ++i) {
    yb(i) = static_cast<std::int64_t>((3 * i) % 5);
    for (std::size_t j = 0; j < 5; ++j) big(i, j) = 2 * std::sin(1.0 + static_cast<double>(i * 5 + j));
  }
  std::printf("\n2b. Scores 2 sin(1 + 5i + j) (8 x 5), y_i = 3i mod 5; recipes 1 and 2 where they are right:\n");
  const LossAndGrad r1 = run_recipe(recipe1, big, yb), r2 = run_recipe(recipe2, big, yb);
  const HingeOptions cs = hinge_opts(HingeKind::crammer_singer), ww = hinge_opts(HingeKind::weston_watkins);
  const LossAndGrad f1 = examples::hinge(big, yb, cs, true), c1 = examples::hinge(big, yb, cs, false);
  const LossAndGrad f2 = examples::hinge(big, yb, ww, true), c2 = examples::hinge(big, yb, ww, false);
  std::printf("  recipe 1:         loss %.17g; max |recipe - fused|: loss %.3g, grad %.3g; "
              "max |recipe - composed|: loss %.3g, grad %.3g\n",
              r1.loss(), examples::max_abs_diff(r1.loss, f1.loss), examples::max_abs_diff(r1.grad, f1.grad),
              examples::max_abs_diff(r1.loss, c1.loss), examples::max_abs_diff(r1.grad, c1.grad));
  std::printf("  recipe 2 times C: loss %.17g; max |C recipe - fused|: loss %.3g, grad %.3g; "
              "max |C recipe - composed|: loss %.3g, grad %.3g\n",
              5 * r2.loss(), examples::max_abs_diff(r2.loss * 5.0, f2.loss), examples::max_abs_diff(r2.grad * 5.0, f2.grad),
              examples::max_abs_diff(r2.loss * 5.0, c2.loss), examples::max_abs_diff(r2.grad * 5.0, c2.grad));
  examples::print_why("agreement to round-off: the same sums in another order (every row here has a positive wrong score).");
  examples::print_check("recipe 2a's gradient", check_hinge_gradient(s, y, r.grad, ww));
}

void recipe_three() {
  std::printf(
      "\n== Recipe 3: Weston-Watkins (NumPy), scores = X.W, X 4 x 5, W 5 x 3, delta = 1 ==\n"
      "  margins = score - y_pred[:, None] + delta; margins[range(N), y] = 0\n"
      "  loss = np.sum(margins, axis=1)\n"
      "  grad = X * non_zeros_count[:, None]; grad[range(N), y] *= -1\n\n");
  const Matrix x{{1, 0.5, -1, 2, 0}, {0, 1, 1, -0.5, 1}, {2, -1, 0, 1, 0.5}, {-1, 2, 0.5, 0, 1}};
  const Matrix w = Matrix{{1, 2, -1}, {0, 1, 2}, {-2, 1, 0}, {1, -1, 1}, {2, 0, -1.5}} * 0.5;
  const IndexTensor y{0, 1, 2, 1};
  const auto rows = [&](Tape<double>& t, const Var<double>& v) { return recipe3_rows(t, v, x, y); };
  const LossAndGrad r = examples::on_tape(rows, w);
  const HingeOptions none = hinge_opts(HingeKind::weston_watkins, Reduction::none);
  std::printf("3a. The loss, one value per row (multiclass_hinge with reduction none), and d(sum of rows)/dW:\n");
  std::printf("  margins with the true slot zeroed: ");
  Matrix score = xt::zeros<double>({4, 3});  // X·W
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t k = 0; k < 5; ++k)
      for (std::size_t j = 0; j < 3; ++j) score(i, j) += x(i, k) * w(k, j);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      std::printf("%s%g", j ? " " : i ? " | " : "", j == static_cast<std::size_t>(y(i)) ? 0.0 : score(i, j) - score(i, y(i)) + 1);
  std::printf("\n");
  examples::print_side_by_side(r, examples::hinge(w, y, none, true, &x), examples::hinge(w, y, none, false, &x));
  examples::print_why(
      "differ in rows 0 and 1: without max(0, .) their negative margins are summed (-1.75 - 0.5 = -2.25 and "
      "-0.5 - 0.25 = -0.75), where a margin <= 0 adds nothing; rows 2 and 3 have only positive margins and agree.");
  std::printf("\n3b. The gradient of the mean over the rows:\n");
  const Matrix grad = recipe3_grad(x, w, y);
  const LossAndGrad mean_tape = examples::on_tape([&](Tape<double>& t, const Var<double>& v) { return mean(rows(t, v)); }, w);
  const LossAndGrad right = examples::hinge(w, y, hinge_opts(HingeKind::weston_watkins), true, &x);
  examples::print_matrix("the recipe's grad, shape (4, 5):         ", grad);
  examples::print_matrix("dL/dW, W's shape (5, 3), fused:          ", right.grad);
  examples::print_matrix("the tape's gradient of the recipe's loss:", mean_tape.grad);
  examples::print_why(
      "the recipe's grad has X's shape (N, D) = (4, 5), not W's (D, C) = (5, 3): it scales each example x_i by "
      "its count, and grad[range(N), y] flips features indexed by class labels. The right one is dW = X^T.M / N "
      "with M_ij = 1[margin_ij > 0] for j != y_i and M_iy = -sum_j M_ij: every violated margin adds x_i to "
      "column j and takes it from column y_i.");
  examples::print_why(
      "the tape differentiates the recipe's loss exactly as written, so it counts every margin, "
      "negative ones included: it is the gradient of the wrong loss.");
  const HingeOptions ww = hinge_opts(HingeKind::weston_watkins);
  examples::print_check("the tape's gradient of recipe 3", check_hinge_gradient(score, y, mean_tape.grad, ww, nullptr, &x));
  examples::print_check("recipe 3's grad", check_hinge_gradient(score, y, grad, ww, nullptr, &x));
}

int run(const int&) {
  std::printf(
      "Three classic multiclass-hinge recipes, transliterated onto the tape op for op and run beside\n"
      "multiclass_hinge (fused and composed), double precision. Gradients are printed row by row,\n"
      "rows separated by |.\n\n");
  recipe_one();
  recipe_two();
  recipe_three();
  return 0;
}

void add_options(examples::ArgParser&, int*) {}

}  // namespace

int main(int argc, char** argv) {
  return examples::tool_main(
      "hinge_recipes",
      "Runs three classic multiclass-hinge snippets (a TensorFlow Crammer-Singer, a TensorFlow\n"
      "Weston-Watkins, a NumPy Weston-Watkins attempt) on the tape beside multiclass_hinge, prints\n"
      "loss and gradient side by side on inputs that expose each difference, says why they differ,\n"
      "and shows hinge_grad --check's verdict on each recipe's gradient. Takes no options.",
      argc, argv, add_options, run);
}
